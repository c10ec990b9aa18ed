package render

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/dumpmap/dumpmap/analysis"

	"github.com/dumpmap/dumpmap/analysis/overview"
	"github.com/dumpmap/dumpmap/analysis/process"
	"github.com/dumpmap/dumpmap/analysis/stack"
)

// Info is `dumpmap info`: one screen about a dump. Its JSON object is the
// overview with the file name and the warnings.
type Info struct {
	File string `json:"file"`
	*overview.Overview
	// RequestVerdict is explain's verdict on the failed request (the
	// exception's failed_request), when the crash shows one with its size.
	RequestVerdict *RequestVerdict `json:"failed_request_verdict,omitempty"`
	// CrashingStack is the crashing thread's stack (stack.Crash), as `dumpmap
	// stack --json` shows a thread; absent without an exception.
	CrashingStack *stack.Thread `json:"crashing_stack,omitempty"`
	Warnings      []string      `json:"warnings"`
}

// infoFrames is how many of the crashing thread's frames info's text shows.
const infoFrames = 8

// RequestVerdict is the verdict on a request, without the steps (`dumpmap
// explain` gives those).
type RequestVerdict struct {
	Request   Request `json:"request"`
	Verdict   string  `json:"verdict"`
	Condition string  `json:"condition,omitempty"`
}

// NewInfo describes the dump of p, shown as file. The overview's warnings are
// added to warn. When the crash shows a failed allocation of known size, the
// region map is built to give explain's verdict on it.
func NewInfo(file string, p *process.Process, warn *Warnings) *Info {
	o := overview.Of(p)
	for _, w := range o.Warnings {
		warn.Add(w)
	}
	in := &Info{File: file, Overview: o}
	if x := o.Exception; x != nil {
		in.CrashingStack = stack.Crash(context.Background(), p).Thread
		if req, ok := analysis.RequestFor(x.FailedRequest); ok {
			if m, err := LoadMap(p, analysis.Options{}, warn); err == nil {
				e := ExplanationOf(m.Explain(req))
				in.RequestVerdict = &RequestVerdict{Request: e.Request, Verdict: e.Verdict, Condition: e.Condition}
			}
		}
	}
	in.Warnings = warn.List()
	return in
}

// WriteJSON writes the JSON object.
func (in *Info) WriteJSON(w io.Writer) error { return WriteJSON(w, in) }

// WriteText writes the text.
func (in *Info) WriteText(w io.Writer) error {
	o := in.Overview
	bits := 64
	if o.System != nil && o.System.PointerBits == 32 {
		bits = 32
	}
	af := AddrFormatFor(bits)
	line := func(label, format string, args ...any) {
		fmt.Fprintf(w, "%-13s%s\n", label, Clean(fmt.Sprintf(format, args...)))
	}
	more := func(format string, args ...any) { line("", format, args...) }

	dd := o.Dump
	var parts []string
	parts = append(parts, Size(uint64(dd.Size)), Plural(dd.Streams, "stream"))
	if !dd.Time.IsZero() {
		parts = append(parts, "written "+dd.Time.Format(TimeLayout))
	}
	if dd.Writer != "" {
		parts = append(parts, "by "+dd.Writer)
	}
	line("File:", "%s (%s)", in.File, strings.Join(parts, ", "))

	if s := o.System; s != nil {
		desc := s.OS + ", " + s.Arch
		if s.PointerBits != 0 {
			desc += fmt.Sprintf(" (%d-bit)", s.PointerBits)
		}
		if s.WOW64 {
			desc += ", WOW64"
		}
		line("System:", "%s", desc)
		cpu := s.CPU
		if cpu == "" {
			cpu = s.Arch
		}
		if s.Processors > 0 {
			cpu = fmt.Sprintf("%d x %s", s.Processors, cpu)
		}
		more("%s", cpu)
		if s.MaxUserAddress != nil {
			more("user space %s-%s, page %s, allocation granularity %s",
				af.Format(uint64(*s.MinUserAddress)), af.Format(uint64(*s.MaxUserAddress)),
				Size(uint64(s.PageSize)), Size(uint64(s.AllocationGranularity)))
		}
	} else {
		line("System:", "unknown (no SystemInfo stream)")
	}

	if p := o.Process; p != nil {
		ps := p.Identity(TimeLayout)
		if len(ps) > 0 {
			line("Process:", "%s", strings.Join(ps, ", "))
		}
		if p.UserTime != 0 || p.KernelTime != 0 {
			more("CPU time: user %s, kernel %s", time.Duration(p.UserTime)*time.Second, time.Duration(p.KernelTime)*time.Second)
		}
		if p.PrivateBytes != 0 || p.VirtualSize != 0 {
			var vs []string
			vs = append(vs, "private bytes "+Size(p.PrivateBytes))
			if p.WorkingSet != 0 {
				vs = append(vs, "working set "+Size(p.WorkingSet))
			}
			if p.VirtualSize != 0 {
				vs = append(vs, fmt.Sprintf("virtual size %s (peak %s)", Size(p.VirtualSize), Size(p.PeakVirtualSize)))
			}
			more("%s", strings.Join(vs, ", "))
		}
		if p.BuildString != "" {
			line("Build:", "%s", p.BuildString)
		}
	}

	if x := o.Exception; x != nil {
		name := x.Name
		if name != x.Code.String() {
			name += " (" + x.Code.String() + ")"
		}
		line("Exception:", "%s on thread %d", name, x.ThreadID)
		at := af.Format(uint64(x.Address))
		if x.Where != "" {
			at = x.Where + " (" + at + ")"
		} else {
			at += " (not in any module)"
		}
		if x.Access != "" {
			more("%s of %s at %s", x.Access, af.Format(uint64(*x.AccessAddress)), at)
		} else {
			more("at %s", at)
		}
		if t := in.CrashingStack; t != nil {
			for i := range t.Frames {
				if i == infoFrames {
					more("... %d frames in all (dumpmap stack shows them)", len(t.Frames))
					break
				}
				f := &t.Frames[i]
				label := ""
				if i == 0 {
					label = "Stack:"
				}
				line(label, "%02d %s (%s)", i, f.Location(), f.Trust)
			}
		}
		if fr := x.FailedRequest; fr != nil {
			line("Failed:", "%s", FailedHeadline(fr))
			if v := in.RequestVerdict; v != nil {
				verdict := strings.ToUpper(v.Verdict)
				if v.Condition != "" {
					verdict += ": " + v.Condition
				}
				more("verdict %s (dumpmap explain says why)", verdict)
			}
		}
	} else {
		line("Exception:", "none (no Exception stream)")
	}

	if m := o.MainModule; m != nil {
		v := ""
		if m.FileVersion != "" {
			v = " " + m.FileVersion
		}
		line("Main module:", "%s%s at %s, %s (%s)", m.Name, v, af.Format(uint64(m.Base)), Size(m.Size), m.FoundBy)
		if m.Path != m.Name {
			more("%s", m.Path)
		}
	}

	n := o.Counts
	cs := []string{Plural(n.Modules, "module")}
	if o.Capture.UnloadedModules {
		cs = append(cs, fmt.Sprintf("%d unloaded", n.UnloadedModules))
	}
	cs = append(cs, Plural(n.Threads, "thread"),
		fmt.Sprintf("%s (%s)", Plural(n.MemoryRanges, "memory range"), Size(n.MemoryBytes)))
	if o.Capture.MemoryInfo {
		cs = append(cs, Plural(n.Regions, "region"))
	}
	if o.Capture.HandleData {
		cs = append(cs, Plural(n.Handles, "handle"))
	}
	line("Contents:", "%s", strings.Join(cs, ", "))

	line("Dump flags:", "%s %s", dd.Flags, strings.Join(dd.FlagNames, "|"))
	line("Captured:", "%s", o.Capture.Streams())

	if len(o.Findings) > 0 {
		fmt.Fprintln(w, "Findings:")
		for _, f := range o.Findings {
			fmt.Fprintf(w, "  - %s\n", Clean(f.Text))
		}
	}
	return nil
}
