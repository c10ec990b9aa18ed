package main

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/dumpmap/dumpmap/analysis/overview"
	"github.com/dumpmap/dumpmap/analysis/process"
	"github.com/spf13/pflag"
)

func init() {
	register(&command{
		name:    "info",
		summary: "one screen about a dump: system, process, exception, main module, what was captured",
		args:    []string{"FILE"},
		help: `
Shows the OS, architecture and CPU; the process (id, start time, integrity level,
build string); when and how the dump was written; the exception with its name and
the faulting module+offset; the main module (the product) and its version; how many
modules, threads and memory ranges the dump holds; and what the capture implies for
the analyses, such as "no MemoryInfoList: region map will be partial" or "no full
memory: heaps cannot be walked".

Examples:
  dumpmap info crash.dmp
  dumpmap info --json crash.dmp | jq .exception.signature`,
		setup: func(fs *pflag.FlagSet) runFunc { return runInfo },
	})
}

// infoJSON is `dumpmap info --json`: the overview with the file name and warnings.
type infoJSON struct {
	File string `json:"file"`
	*overview.Overview
	Warnings []string `json:"warnings"`
}

func runInfo(e *env, args []string) error {
	d, err := openDump(args[0])
	if err != nil {
		return err
	}
	defer d.Close()
	o := overview.Of(d.process(process.Options{}))
	for _, w := range o.Warnings {
		d.warn(w)
	}
	defer d.flush(e)
	if e.json {
		return writeJSON(e.stdout, infoJSON{File: d.path, Overview: o, Warnings: d.warnings()})
	}
	printInfo(e.stdout, d.path, o)
	return nil
}

const timeLayout = "2006-01-02 15:04:05 UTC"

func printInfo(w io.Writer, path string, o *overview.Overview) {
	bits := 64
	if o.System != nil && o.System.PointerBits == 32 {
		bits = 32
	}
	af := newAddrFmt(bits)
	line := func(label, format string, args ...any) {
		fmt.Fprintf(w, "%-13s%s\n", label, clean(fmt.Sprintf(format, args...)))
	}
	more := func(format string, args ...any) { line("", format, args...) }

	dd := o.Dump
	var parts []string
	parts = append(parts, size(uint64(dd.Size)), plural(dd.Streams, "stream"))
	if !dd.Time.IsZero() {
		parts = append(parts, "written "+dd.Time.Format(timeLayout))
	}
	if dd.Writer != "" {
		parts = append(parts, "by "+dd.Writer)
	}
	line("File:", "%s (%s)", path, strings.Join(parts, ", "))

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
				af.f(uint64(*s.MinUserAddress)), af.f(uint64(*s.MaxUserAddress)),
				size(uint64(s.PageSize)), size(uint64(s.AllocationGranularity)))
		}
	} else {
		line("System:", "unknown (no SystemInfo stream)")
	}

	if p := o.Process; p != nil {
		ps := p.Identity(timeLayout)
		if len(ps) > 0 {
			line("Process:", "%s", strings.Join(ps, ", "))
		}
		if p.UserTime != 0 || p.KernelTime != 0 {
			more("CPU time: user %s, kernel %s", time.Duration(p.UserTime)*time.Second, time.Duration(p.KernelTime)*time.Second)
		}
		if p.PrivateBytes != 0 || p.VirtualSize != 0 {
			var vs []string
			vs = append(vs, "private bytes "+size(p.PrivateBytes))
			if p.WorkingSet != 0 {
				vs = append(vs, "working set "+size(p.WorkingSet))
			}
			if p.VirtualSize != 0 {
				vs = append(vs, fmt.Sprintf("virtual size %s (peak %s)", size(p.VirtualSize), size(p.PeakVirtualSize)))
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
		at := af.f(uint64(x.Address))
		if x.Where != "" {
			at = x.Where + " (" + at + ")"
		} else {
			at += " (not in any module)"
		}
		if x.Access != "" {
			more("%s of %s at %s", x.Access, af.f(uint64(*x.AccessAddress)), at)
		} else {
			more("at %s", at)
		}
	} else {
		line("Exception:", "none (no Exception stream)")
	}

	if m := o.MainModule; m != nil {
		v := ""
		if m.FileVersion != "" {
			v = " " + m.FileVersion
		}
		line("Main module:", "%s%s at %s, %s (%s)", m.Name, v, af.f(uint64(m.Base)), size(m.Size), m.FoundBy)
		if m.Path != m.Name {
			more("%s", m.Path)
		}
	}

	n := o.Counts
	cs := []string{plural(n.Modules, "module")}
	if o.Capture.UnloadedModules {
		cs = append(cs, fmt.Sprintf("%d unloaded", n.UnloadedModules))
	}
	cs = append(cs, plural(n.Threads, "thread"),
		fmt.Sprintf("%s (%s)", plural(n.MemoryRanges, "memory range"), size(n.MemoryBytes)))
	if o.Capture.MemoryInfo {
		cs = append(cs, plural(n.Regions, "region"))
	}
	if o.Capture.HandleData {
		cs = append(cs, plural(n.Handles, "handle"))
	}
	line("Contents:", "%s", strings.Join(cs, ", "))

	line("Dump flags:", "%s %s", dd.Flags, strings.Join(dd.FlagNames, "|"))
	line("Captured:", "%s", capturedList(o.Capture))

	if len(o.Findings) > 0 {
		fmt.Fprintln(w, "Findings:")
		for _, f := range o.Findings {
			fmt.Fprintf(w, "  - %s\n", clean(f.Text))
		}
	}
}

// capturedList names the streams the analyses depend on that the dump holds.
func capturedList(c overview.Capture) string { return c.Streams() }
