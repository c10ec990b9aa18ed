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
	// context; nil when it could not be walked (StackErr says why).
	Thread   *stack.Thread
	StackErr error
	// Request is the failed allocation; nil when the crash shows none, and
	// Looked then says what was looked for.
	Request *FailedRequest
	Looked  []string
}

// maxAnalysisFrames bounds the crashing thread's walk: the request is found in
// the top frames, and reports show a few dozen.
const maxAnalysisFrames = 256

type analysisKey struct{}

// Analyze decodes the exception of process p (Of), walks its crashing thread
// (stack.ForProcess, with the symbols and images p's options find) and finds
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
	d, err := stack.ForProcess(ctx, p, stack.Options{MaxFrames: maxAnalysisFrames})
	var w *stack.Walker
	if err != nil {
		a.StackErr = err
	} else {
		w = d.Walker
		t, err := d.WalkCrashed()
		switch {
		case len(t.Frames) > 0:
			a.Thread = &t
			a.StackErr = err
		case err != nil:
			a.StackErr = err
		default:
			a.StackErr = errors.New("the crashing thread's stack has no frames")
		}
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
