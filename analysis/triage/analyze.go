package triage

import (
	"context"
	"errors"
	"fmt"
	"io"
	"runtime/debug"
	"strings"

	"github.com/dumpmap/dumpmap/analysis"
	"github.com/dumpmap/dumpmap/analysis/crash"
	"github.com/dumpmap/dumpmap/analysis/overview"
	"github.com/dumpmap/dumpmap/analysis/process"
	"github.com/dumpmap/dumpmap/analysis/stack"
	"github.com/dumpmap/dumpmap/minidump"
)

// Thresholds of the verdict and of the out-of-memory test.
const (
	block64K = 64 << 10
	block1M  = 1 << 20
	block16M = 16 << 20
)

// Analyze fills the dump fields of rec (everything but File, Member, Container,
// Size and SHA256) from the minidump in r, whose length is size. It never fails:
// a file that is not a minidump, or cannot be read as one, sets rec.Error and
// rec.ErrorKind. A panic in the analysis (a bug) is recovered into an "internal"
// error record, so one hostile file cannot stop a run.
func Analyze(r io.ReaderAt, size int64, rec *Record) { AnalyzeWith(r, size, Options{}, rec) }

// AnalyzeMap is Analyze with options for the region map (a limit with Below, say,
// for processes that were confined below 2 GB).
func AnalyzeMap(r io.ReaderAt, size int64, mapOpts analysis.Options, rec *Record) {
	AnalyzeWith(r, size, Options{Map: mapOpts}, rec)
}

// AnalyzeWith is Analyze with the options of a run: the region map's (Map) and
// the crash signature's rules (Signature).
func AnalyzeWith(r io.ReaderAt, size int64, opt Options, rec *Record) {
	defer func() {
		if p := recover(); p != nil {
			setError(rec, ErrInternal, fmt.Errorf("internal error: %v (please report this with the dump)\n%s", p, debug.Stack()))
		}
	}()
	f, err := minidump.New(r, size)
	if err != nil {
		var nm *minidump.NotMinidumpError
		if errors.As(err, &nm) {
			setError(rec, ErrNotMinidump, err)
		} else if errors.Is(err, errTimeout) {
			setError(rec, ErrTimeout, err)
		} else {
			var fe *minidump.FormatError
			kind := ErrIO
			if errors.As(err, &fe) {
				kind = ErrDamaged
			}
			setError(rec, kind, err)
		}
		return
	}
	describe(f, opt, rec)
}

// maxRecordFrames is how many of the crashing thread's frames a record keeps.
const maxRecordFrames = 10

// describe fills rec from an open dump.
func describe(f *minidump.File, opt Options, rec *Record) {
	mapOpts := opt.Map
	p := process.New(f, opt.Process)
	defer p.Close()
	o := overview.Of(p)
	rec.Time = o.Dump.Time
	if s := o.System; s != nil {
		rec.OS, rec.Arch = s.OS, s.Arch
	}
	if m := o.MainModule; m != nil {
		rec.Product = m.Name
		rec.ProductVersion = m.ProductVersion
		if rec.ProductVersion == "" {
			rec.ProductVersion = m.FileVersion
		}
	}
	if rec.ProductVersion == "" && f.HasStream(minidump.StreamCrashpadInfo) {
		// Crashpad's annotations carry the product's own version where the executable
		// has no version resource (every non-Windows dump): Chromium and Electron
		// write "ver", and "prod" for the product name.
		if ci, _ := p.CrashpadInfo(); ci != nil {
			rec.ProductVersion = ci.SimpleAnnotations["ver"]
		}
	}
	if e := o.Exception; e != nil {
		code := e.Code
		rec.ExceptionCode, rec.ExceptionName = &code, e.Name
		rec.FaultModule, rec.FaultOffset = e.Module, e.ModuleOffset
		rec.Signature = e.Signature
		if e.OutOfMemory {
			switch d := e.Decoded; {
			case d != nil && d.CPP != nil:
				rec.OOMReasons = append(rec.OOMReasons, "thrown-bad-alloc")
			case d != nil && d.OOM:
				rec.OOMReasons = append(rec.OOMReasons, "exception-code")
			}
		}
		if fr := e.FailedRequest; fr != nil {
			if fr.Frame >= 0 || fr.Size != 0 {
				// Found beyond the exception code: an allocator frame, a size.
				rec.OOMReasons = append(rec.OOMReasons, "failed-request")
			}
			rec.FailedRequest = failedRequestOf(fr)
		}
		// The crashing thread's stack: its top frames, and the signature that
		// reads past the frames every crash of the kind shares (RaiseException,
		// the C runtime's abort, the allocator) to the code that failed. The
		// walk is the one the crash analysis shares (stack.Crash).
		if t := stack.Crash(context.Background(), p).Thread; t != nil {
			for i := range t.Frames {
				if i == maxRecordFrames {
					break
				}
				rec.Frames = append(rec.Frames, t.Frames[i].Location())
			}
			rec.FrameSignature = stack.Signature(t.Frames, opt.Signature)
		}
	}
	for _, fd := range o.Findings {
		if fd.Level == "limit" || fd.Level == "damage" || fd.ID == overview.FindingNoException {
			rec.Capture = append(rec.Capture, fd.ID)
		}
	}

	rec.Verdict = VerdictUnknown
	if !f.HasStream(minidump.StreamMemoryInfoList) && !f.HasStream(minidump.StreamLinuxMaps) {
		// Without a region list the map would be built from the captured memory alone:
		// partial, its free space unknown. Building it would cost the most of all and
		// tell the verdict nothing.
		rec.MapSource = "captured"
		rec.OOM = len(rec.OOMReasons) > 0
		return
	}
	// Triage needs only the free space: the heaps are not looked for, unless
	// the verdict on a failed request may depend on them.
	var req analysis.Request
	var haveReq bool
	if e := o.Exception; e != nil {
		req, haveReq = analysis.RequestFor(e.FailedRequest)
	}
	mapOpts.NoHeaps = !haveReq || req.Via == analysis.ViaVirtualAlloc || req.Via == analysis.ViaReserve
	m, err := analysis.NewMap(p, mapOpts)
	if err != nil {
		rec.MapSource = "none" // the streams that should describe it are unreadable
	} else {
		switch m.Source {
		case analysis.SourceMemoryInfoList:
			rec.MapSource = "memory-info-list"
		case analysis.SourceLinuxMaps:
			rec.MapSource = "linux-maps"
		default:
			rec.MapSource = "captured"
		}
	}
	if err == nil && haveReq {
		rec.RequestVerdict = string(m.Explain(req).Verdict)
	}
	if err == nil && !m.Partial {
		fs := m.FreeStats()
		largest, usable := fs.LargestUsable.UsableSize, fs.UsableTotal
		fits64, fits1M := largest >= block64K, largest >= block1M
		rec.LargestUsableFree, rec.UsableFree = &largest, &usable
		rec.Fits64K, rec.Fits1M = &fits64, &fits1M
		switch {
		case !fits64:
			rec.Verdict = VerdictExhausted
			rec.OOMReasons = append(rec.OOMReasons, "no-64k-block")
		case !fits1M:
			rec.Verdict = VerdictFragmented
			rec.OOMReasons = append(rec.OOMReasons, "no-1m-block")
		case largest < block16M:
			rec.Verdict = VerdictTight
		default:
			rec.Verdict = VerdictOK
		}
	}
	rec.OOM = len(rec.OOMReasons) > 0
}

// failedRequestOf summarises a failed request for a record.
func failedRequestOf(fr *crash.FailedRequest) *FailedRequest {
	out := &FailedRequest{Path: string(fr.Path), Size: fr.Size, ElementSize: fr.ElementSize, ThrownType: fr.ThrownType, Function: fr.Function, Evidence: []string{}}
	if fr.Heap != nil {
		h := Hex(*fr.Heap)
		out.Heap = &h
	}
	seen := map[string]bool{}
	for _, e := range fr.Evidence {
		if k := string(e.Kind); !seen[k] {
			seen[k] = true
			out.Evidence = append(out.Evidence, k)
		}
	}
	for _, u := range fr.Unknown {
		if !seen["?"+u.What] {
			seen["?"+u.What] = true
			out.Unknown = append(out.Unknown, u.What)
		}
	}
	return out
}

// setError records err as the reason rec could not be analysed. The minidump
// package's "minidump: " prefix is dropped: every message is about a dump.
func setError(rec *Record, kind Kind, err error) {
	msg := err.Error()
	for strings.HasPrefix(msg, "minidump: ") {
		msg = strings.TrimPrefix(msg, "minidump: ")
	}
	rec.Error, rec.ErrorKind = msg, kind
}
