package crash

import (
	"context"
	"errors"

	"github.com/dumpmap/dumpmap/analysis/process"
	"github.com/dumpmap/dumpmap/analysis/stack"
)

// Analysis is a process's crash as its dump explains it: the decoded exception,
// the crashing thread's stack, and the allocation that failed.
type Analysis struct {
	// Crash is the decoded exception; nil when the dump has none (Err says why).
	Crash *Crash
	Err   error
	// Thread is the crashing thread's stack, walked from the exception's
	// context; nil when it could not be walked (StackErr says why) or did not
	// need to be: the exception is neither an allocation failure nor a C++
	// exception of unknown type.
	Thread   *stack.Thread
	StackErr error
	// Request is the failed allocation; nil when the crash shows none, and
	// Looked then says what was looked for.
	Request *FailedRequest
	Looked  []string
}

type analysisKey struct{}

// Analyze decodes the exception of process p (Of), walks its crashing thread
// (stack.Crash, with the symbols and images p's options find) and finds
// the failed allocation (FindRequest). It is computed once per process: every
// command and report reading p sees the same Analysis, which callers must not
// modify.
func Analyze(ctx context.Context, p *process.Process) *Analysis {
	return p.Memo(analysisKey{}, func() any { return analyze(ctx, p) }).(*Analysis)
}

func analyze(ctx context.Context, p *process.Process) *Analysis {
	a := &Analysis{}
	a.Crash, a.Err = Of(p)
	if a.Crash == nil {
		a.Looked = []string{"an exception record (the dump has none)"}
		return a
	}
	if c := a.Crash; !c.OOM && (c.CPP == nil || c.CPP.ThrownType != nil) {
		// Only an allocation failure, or a C++ exception of unknown type (which
		// the stack may show thrown by operator new), needs the stack: the
		// walk is left to those who want it.
		a.Request, a.Looked = FindRequest(RequestInput{Crash: c})
		return a
	}
	cr := stack.Crash(ctx, p)
	w := cr.Walker
	a.Thread, a.StackErr = cr.Thread, cr.Err
	if a.Thread == nil && a.StackErr == nil {
		a.StackErr = errors.New("the crashing thread's stack has no frames")
	}
	in := RequestInput{Crash: a.Crash, Thread: a.Thread, Walker: w, PointerSize: p.PointerSize()}
	if m := p.Memory(); m != nil {
		in.Memory = m
	} else {
		in.Memory = noMemory{}
	}
	if w == nil {
		// Without a walker no argument can be recovered; the exception alone
		// may still carry the size.
		in.Thread = nil
	}
	a.Request, a.Looked = FindRequest(in)
	return a
}

// noMemory is the memory of a dump that captured none.
type noMemory struct{}

func (noMemory) ReadAt(p []byte, va uint64) (int, error) { return 0, errors.New("no memory captured") }
