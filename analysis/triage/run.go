package triage

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"github.com/dumpmap/dumpmap/analysis"
	"github.com/dumpmap/dumpmap/analysis/input"
	"github.com/dumpmap/dumpmap/analysis/process"
	"github.com/dumpmap/dumpmap/analysis/stack"
)

// Defaults of Options.
const (
	DefaultTimeout     = 2 * time.Minute
	DefaultMaxUnpacked = 4 << 30
	DefaultMemoryLimit = 16 << 20
	// maxNesting is how many containers deep Run opens: a container in a container.
	maxNesting = 2
	// window bounds the files in flight or waiting for their turn (Ordered), and so
	// the memory an ordered run holds while one file is slow.
	window = 4096
)

// Options tune Run. The zero value runs one worker per core with the defaults.
type Options struct {
	// Jobs is the number of files analysed at once; 0 means one per core
	// (GOMAXPROCS).
	Jobs int
	// Map tunes every dump's region map (Below, Unavailable, Native).
	Map analysis.Options
	// Process holds where symbols and module images are found (the symbol and
	// image paths): with them the crashing thread's frames are named and a
	// failed allocation's arguments recovered in dumps that lack module code.
	Process process.Options
	// Signature are the rules of the crash signatures made from stack frames
	// (nil: stack.DefaultSignatureRules).
	Signature *stack.SignatureRules
	// Timeout bounds each step: reading and analysing a file, or unpacking and
	// analysing one member of an archive. A step that runs over gives a record with
	// ErrorKind "timeout". 0 means DefaultTimeout.
	Timeout time.Duration
	// MaxUnpacked bounds the bytes one member may decompress to (a zip bomb is
	// stopped there); 0 means DefaultMaxUnpacked.
	MaxUnpacked int64
	// MemoryLimit is the size up to which a file or member is held in memory; a
	// larger file is read in place, a larger member spilled to a temporary file.
	// 0 means DefaultMemoryLimit.
	MemoryLimit int64
	// Shard restricts the run to one part of the files (see Shard).
	Shard Shard
	// Ordered delivers the records in walk order (the order of the arguments, each
	// folder's entries by name, an archive's members in archive order) rather than
	// as they complete, so that the output is the same on every run.
	Ordered bool
	// Skip, when set, is asked about every record before its file or member is read;
	// true leaves it out (--resume).
	Skip func(Key) bool
	// Exclude lists files not to triage (by absolute path): the output file, when
	// it lies in a folder being walked.
	Exclude []string
	// Progress, when set, is called from Run's goroutine about ten times a second
	// and once at the end.
	Progress func(Progress)
}

// Progress is what a progress display shows.
type Progress struct {
	FilesDone  int64 // files on disk finished
	FilesFound int64 // files found so far in this shard
	WalkDone   bool  // FilesFound is final
	Records    int64
	Elapsed    time.Duration
}

// Stats sums up a run.
type Stats struct {
	Files       int64 // files on disk found in this shard (including those that failed)
	OtherShards int64 // files found that belong to other shards
	Records     int64 // records delivered: Dumps + Errors
	Dumps       int64 // records of analysed dumps
	Errors      int64 // records of files that could not be analysed
	OOM         int64 // records that look like out-of-memory
	Skipped     int64 // records left out because Skip said so
	Loops       int64 // folders reached again through a link, not walked twice
	Bytes       int64 // bytes of the analysed dumps
	// ErrorKinds counts the error records by ErrorKind.
	ErrorKinds map[string]int64
	Elapsed    time.Duration
	// Interrupted is set when the context was cancelled before the end: the records
	// delivered are complete, the files not reached have none.
	Interrupted bool
}

// A Sink receives records; Run calls it from one goroutine.
type Sink func(*Record) error

// Run triages the files under paths and hands each record to sink. It returns when
// every file is done, the context is cancelled (Stats.Interrupted; the error is
// the context's), or sink fails.
func Run(ctx context.Context, paths []string, opt Options, sink Sink) (Stats, error) {
	start := time.Now()
	if opt.Jobs <= 0 {
		opt.Jobs = runtime.GOMAXPROCS(0)
	}
	if opt.Timeout <= 0 {
		opt.Timeout = DefaultTimeout
	}
	if opt.MaxUnpacked <= 0 {
		opt.MaxUnpacked = DefaultMaxUnpacked
	}
	if opt.MemoryLimit <= 0 {
		opt.MemoryLimit = DefaultMemoryLimit
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	r := &runner{opt: opt}
	tasks := make(chan task, 256)
	results := make(chan result, 256)
	slots := make(chan struct{}, window)
	w := &walker{ctx: ctx, shard: opt.Shard, out: tasks, visited: map[fileID]bool{}, exclude: excludeSet(opt.Exclude)}
	var walkDone atomic.Bool
	var found atomic.Int64
	go func() {
		defer close(tasks)
		w.emitHook = func() { found.Store(w.found - w.outside) }
		w.slots = slots
		w.walk(paths)
		walkDone.Store(true)
	}()
	// With a progress display, a second walker runs ahead and only counts, so that
	// the total (and the time left) is known long before the first walker, held
	// back by the workers, gets there. It costs a directory listing per folder.
	var counted atomic.Int64
	var countDone atomic.Bool
	if opt.Progress != nil {
		go func() {
			c := &walker{ctx: ctx, shard: opt.Shard, visited: map[fileID]bool{}, exclude: excludeSet(opt.Exclude)}
			c.emitHook = func() {
				if c.found%64 == 0 {
					counted.Store(c.found - c.outside)
				}
			}
			c.walk(paths)
			counted.Store(c.found - c.outside)
			countDone.Store(true)
		}()
	}
	var wg sync.WaitGroup
	for range opt.Jobs {
		wg.Go(func() {
			w := &worker{runner: r, steps: newStepper()}
			defer func() { close(w.steps) }()
			for t := range tasks {
				if ctx.Err() != nil {
					results <- result{seq: t.seq, last: true}
					continue
				}
				w.process(ctx, t, func(rec *Record) { results <- result{seq: t.seq, rec: rec} })
				results <- result{seq: t.seq, last: true}
			}
		})
	}
	go func() { wg.Wait(); close(results) }()

	st := Stats{ErrorKinds: map[string]int64{}}
	var sinkErr error
	deliver := func(rec *Record) {
		if sinkErr != nil {
			return
		}
		st.Records++
		if rec.Error != "" {
			st.Errors++
			st.ErrorKinds[string(rec.ErrorKind)]++
		} else {
			st.Dumps++
			st.Bytes += rec.Size
		}
		if rec.OOM {
			st.OOM++
		}
		if err := sink(rec); err != nil {
			sinkErr = err
			cancel()
		}
	}
	type pend struct {
		recs []*Record
		done bool
	}
	pending := map[int64]*pend{}
	var next, filesDone int64
	progress := func() {
		if opt.Progress != nil {
			p := Progress{FilesDone: filesDone, FilesFound: found.Load(), WalkDone: walkDone.Load(),
				Records: st.Records, Elapsed: time.Since(start)}
			if n := counted.Load(); n > p.FilesFound && !p.WalkDone {
				p.FilesFound, p.WalkDone = n, countDone.Load()
			}
			opt.Progress(p)
		}
	}
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for open := true; open; {
		select {
		case <-tick.C:
			progress()
		case res, ok := <-results:
			if !ok {
				open = false
				break
			}
			if !opt.Ordered {
				if res.rec != nil {
					deliver(res.rec)
				}
				if res.last {
					filesDone++
					<-slots
				}
				break
			}
			p := pending[res.seq]
			if p == nil {
				p = &pend{}
				pending[res.seq] = p
			}
			if res.rec != nil {
				p.recs = append(p.recs, res.rec)
			}
			p.done = p.done || res.last
			for p := pending[next]; p != nil; p = pending[next] {
				for _, rec := range p.recs {
					deliver(rec)
				}
				p.recs = nil
				if !p.done {
					break
				}
				delete(pending, next)
				next++
				filesDone++
				<-slots
			}
		}
	}
	st.Files = w.found - w.outside
	st.OtherShards, st.Loops = w.outside, w.loops
	st.Skipped = r.skipped.Load()
	st.Elapsed = time.Since(start)
	progress()
	if sinkErr != nil {
		return st, sinkErr
	}
	if err := ctx.Err(); err != nil {
		st.Interrupted = true
		return st, err
	}
	return st, nil
}

type result struct {
	seq  int64
	rec  *Record
	last bool // the task is finished
}

type runner struct {
	opt     Options
	skipped atomic.Int64
}

// A worker triages one file at a time; its steps run on its stepper goroutine.
type worker struct {
	*runner
	steps chan func()
}

// newStepper starts a goroutine that runs the functions sent to it until the
// channel is closed. A worker keeps one for all its steps, so the stack the
// analysis grows is grown once, not for every file (that was 6% of the run), and
// replaces it only when a step is abandoned at its time-out.
func newStepper() chan func() {
	c := make(chan func())
	go func() {
		for f := range c {
			f()
		}
	}()
	return c
}

func (r *runner) skip(k Key) bool {
	if r.opt.Skip != nil && r.opt.Skip(k) {
		r.skipped.Add(1)
		return true
	}
	return false
}

// An outcome is what one step gives: a finished record, or an archive whose
// members are the next steps.
type outcome struct {
	rec *Record
	arc *archive
}

func (o outcome) discard() {
	if o.arc != nil {
		o.arc.blob.release()
	}
}

// An archive is an open zip archive or cabinet.
type archive struct {
	blob  *blob
	arc   *input.Archive
	depth int    // the depth of its members
	base  Record // the archive's record: File, Member prefix, Container chain
}

// process triages one file on disk, emitting its records.
func (r *worker) process(ctx context.Context, t task, emit func(*Record)) {
	base := Record{Kind: "record", File: t.path}
	emit = func(emit func(*Record)) func(*Record) {
		return func(r *Record) {
			// Lists are [] rather than null in JSON, as in every dumpmap object.
			if r.OOMReasons == nil {
				r.OOMReasons = []string{}
			}
			if r.Capture == nil {
				r.Capture = []string{}
			}
			emit(r)
		}
	}(emit)
	if t.err != nil {
		rec := base
		setError(&rec, kindOf(t.err), t.err)
		emit(&rec)
		return
	}
	if r.skip(base.Key()) {
		return
	}
	o := r.guard(ctx, base, func(ctx context.Context) outcome {
		b, err := openFile(ctx, t.path, r.opt.MemoryLimit)
		if err != nil {
			return errOutcome(base, err)
		}
		defer b.release()
		return r.resolve(ctx, b, 0, base)
	})
	r.finish(ctx, o, emit)
}

// finish emits a step's record, or walks the archive it opened.
func (r *worker) finish(ctx context.Context, o outcome, emit func(*Record)) {
	switch {
	case o.arc != nil:
		r.members(ctx, o.arc, emit)
	case o.rec != nil:
		emit(o.rec)
	}
}

// resolve analyses b as a dump, or opens it as a container: a gzip, zstd or xz file is
// unpacked and resolved again, a zip archive or cabinet is returned for its
// members to be walked.
func (r *runner) resolve(ctx context.Context, b *blob, depth int, rec Record) outcome {
	kind := input.Detect(b.head(ctx, input.HeadSize))
	if kind == input.Plain || depth >= maxNesting {
		return r.analyse(ctx, b, kind, rec)
	}
	if rec.Container == "" {
		rec.Container = kind.String()
	} else {
		rec.Container += "+" + kind.String()
	}
	switch kind {
	case input.Gzip, input.Zstd, input.XZ:
		child, err := r.decompress(ctx, b, kind)
		if err != nil {
			return errOutcome(rec, err)
		}
		defer child.release()
		return r.resolve(ctx, child, depth+1, rec)
	default: // zip, cabinet
		a, err := openArchive(ctx, b, kind)
		if err != nil {
			return errOutcome(rec, err)
		}
		return outcome{arc: &archive{blob: b.retain(), arc: a, depth: depth + 1, base: rec}}
	}
}

// analyse hashes and analyses b as a minidump.
func (r *runner) analyse(ctx context.Context, b *blob, kind input.Format, rec Record) outcome {
	sum, err := b.hash(ctx)
	rec.Size = b.size // known for certain once hashed: the file may have been cut
	if err != nil {
		return errOutcome(rec, err)
	}
	rec.SHA256 = sum
	AnalyzeWith(b.readerAt(ctx), b.size, r.opt, &rec)
	if kind != input.Plain && rec.ErrorKind == ErrNotMinidump {
		rec.Error += fmt.Sprintf(" (containers are opened %d levels deep)", maxNesting)
	}
	if b.short && rec.Error == "" {
		rec.Capture = append(rec.Capture, "changed-while-read")
	}
	return outcome{rec: &rec}
}

// members triages the members of an archive, each as its own step.
func (r *worker) members(ctx context.Context, a *archive, emit func(*Record)) {
	defer a.blob.release()
	if len(a.arc.Members) == 0 {
		rec := a.base
		setError(&rec, ErrEmpty, &input.Error{Kind: input.KindEmpty, Format: a.arc.Format})
		emit(&rec)
		return
	}
	for i, f := range a.arc.Members {
		if ctx.Err() != nil {
			return
		}
		rec := a.base
		if rec.Member == "" {
			rec.Member = f.Name
		} else {
			rec.Member += "!" + f.Name
		}
		if r.skip(rec.Key()) {
			continue
		}
		a.blob.retain() // the step reads it, perhaps after a time-out
		o := r.guard(ctx, rec, func(ctx context.Context) outcome {
			defer a.blob.release()
			child, err := r.unpackMember(ctx, a.arc, i)
			if err != nil {
				return errOutcome(rec, err)
			}
			defer child.release()
			return r.resolve(ctx, child, a.depth, rec)
		})
		r.finish(ctx, o, emit)
	}
}

// guard runs one step under Options.Timeout, on the worker's stepper so that a step
// stuck in a read or a long computation cannot hold the worker: at the time-out the
// worker moves on with a "timeout" record, and the step, whose reads now fail,
// finishes on its own and releases what it holds. A step cancelled with the run
// gives no record, so that --resume does it again.
func (r *worker) guard(ctx context.Context, base Record, fn func(context.Context) outcome) outcome {
	sctx, cancel := context.WithTimeoutCause(ctx, r.opt.Timeout, errTimeout)
	defer cancel()
	done := make(chan outcome, 1)
	r.steps <- func() {
		defer func() {
			if p := recover(); p != nil {
				rec := base
				setError(&rec, ErrInternal, fmt.Errorf("internal error: %v (please report this with the file)\n%s", p, debug.Stack()))
				done <- outcome{rec: &rec}
			}
		}()
		done <- fn(sctx)
	}
	var o outcome
	select {
	case o = <-done:
	case <-sctx.Done():
		// Abandon the stepper to the step: it ends when the step does (closing its
		// channel makes it return then), and the step's results are released.
		close(r.steps)
		r.steps = newStepper()
		go func() { (<-done).discard() }()
	}
	switch {
	case ctx.Err() != nil: // the run was cancelled
		o.discard()
		return outcome{}
	case sctx.Err() != nil: // the step ran out of time, perhaps while finishing
		o.discard()
		rec := base
		setError(&rec, ErrTimeout, fmt.Errorf("timed out after %s (--timeout)", r.opt.Timeout))
		return outcome{rec: &rec}
	}
	return o
}

// errOutcome is a record of err.
func errOutcome(rec Record, err error) outcome {
	var ie *input.Error
	if errors.As(err, &ie) && ie.Kind == input.KindTooLarge {
		err = &errTooLarge{ie.Limit} // the record names the flag that sets the limit
	}
	setError(&rec, kindOf(err), err)
	return outcome{rec: &rec}
}

// kindOf classifies an error for Record.ErrorKind.
func kindOf(err error) Kind {
	var tl *errTooLarge
	var ie *input.Error
	var nr *notRegularError
	switch {
	case errors.As(err, &tl):
		return ErrTooLarge
	case errors.Is(err, errTimeout):
		return ErrTimeout
	case errors.As(err, &ie):
		switch ie.Kind {
		case input.KindTooLarge:
			return ErrTooLarge
		case input.KindBadContainer, input.KindUnsupported:
			return ErrBadContainer
		case input.KindEmpty:
			return ErrEmpty
		case input.KindNotMinidump:
			return ErrNotMinidump
		case input.KindDamaged:
			return ErrDamaged
		}
	case errors.As(err, &nr):
		return ErrNotRegular
	}
	return ErrIO
}
