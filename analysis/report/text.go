package report

import (
	"fmt"
	"strings"

	"github.com/dumpmap/dumpmap/analysis"
	"github.com/dumpmap/dumpmap/analysis/render"
)

// This file holds the words both renderers use: the facts about the dump, the
// request names, sizes and addresses. They return plain text; each renderer
// escapes it for its format.

func comma(n int) string { return render.Comma(int64(n)) }

func commaU(n uint64) string {
	if n > 1<<62 {
		return fmt.Sprint(n)
	}
	return render.Comma(int64(n))
}

func pct(part, whole uint64) string {
	if whole == 0 {
		return "0%"
	}
	return fmt.Sprintf("%.1f%%", 100*float64(part)/float64(whole))
}

// addr formats an address zero-padded to the dump's pointer width, as the CLI does.
// A 32-bit process's address above 4 GiB (the end of a WOW64 process's native
// view) is written with 16 digits, as the 64-bit addresses beside it.
func (r *Report) addr(a uint64) string {
	if r.Map.Space.PointerSize == 4 && a <= 1<<32 {
		return render.AddrFormatFor(32).Format(a)
	}
	return render.AddrFormatFor(64).Format(a)
}

// shortAddr formats an address without padding, for picture labels.
func shortAddr(a uint64) string { return fmt.Sprintf("%#x", a) }

// fact is one line of the dump's identity.
type fact struct {
	Label, Value string
	Code         bool // monospace (a path)
}

const timeLayout = "2006-01-02 15:04:05 UTC"

// facts describes the dump: product, system, process, exception, the file.
func (r *Report) facts() []fact {
	o := r.Dump
	var fs []fact
	add := func(label, format string, args ...any) {
		fs = append(fs, fact{Label: label, Value: fmt.Sprintf(format, args...)})
	}
	if m := o.MainModule; m != nil {
		v := m.Name
		if m.FileVersion != "" {
			v += " " + m.FileVersion
		}
		if m.ProductVersion != "" && m.ProductVersion != m.FileVersion {
			v += " (product " + m.ProductVersion + ")"
		}
		add("Product", "%s at %s, %s", v, r.addr(uint64(m.Base)), render.Size(m.Size))
		if m.Path != "" && m.Path != m.Name {
			fs = append(fs, fact{Label: "Path", Value: m.Path, Code: true})
		}
	} else {
		add("Product", "unknown (the dump lists no modules)")
	}
	if s := o.System; s != nil {
		desc := s.OS
		if s.ServicePack != "" && !strings.Contains(desc, s.ServicePack) {
			desc += " " + s.ServicePack
		}
		add("OS", "%s", desc)
		arch := s.Arch
		if s.PointerBits != 0 {
			arch += fmt.Sprintf(" (%d-bit)", s.PointerBits)
		}
		if s.WOW64 {
			arch += ", WOW64: a 32-bit process on 64-bit Windows"
		}
		if s.Processors > 0 {
			arch += fmt.Sprintf("; %d CPUs", s.Processors)
		}
		if s.CPU != "" {
			arch += ", " + s.CPU
		}
		add("Architecture", "%s", arch)
	} else {
		add("OS", "unknown (no SystemInfo stream)")
	}
	if p := o.Process; p != nil {
		ps := p.Identity(timeLayout)
		if p.PrivateBytes != 0 {
			ps = append(ps, "private bytes "+render.Size(p.PrivateBytes))
		}
		if p.VirtualSize != 0 {
			ps = append(ps, fmt.Sprintf("virtual size %s (peak %s)", render.Size(p.VirtualSize), render.Size(p.PeakVirtualSize)))
		}
		if len(ps) > 0 {
			add("Process", "%s", strings.Join(ps, ", "))
		}
		if p.BuildString != "" {
			add("Build", "%s", p.BuildString)
		}
	}
	if x := o.Exception; x != nil {
		name := x.Name
		if name != x.Code.String() {
			name += " (" + x.Code.String() + ")"
		}
		at := r.addr(uint64(x.Address))
		if x.Where != "" {
			at = x.Where + " (" + at + ")"
		} else {
			at += " (not in any module)"
		}
		s := fmt.Sprintf("%s on thread %d at %s", name, x.ThreadID, at)
		if x.Access != "" && x.AccessAddress != nil {
			s += fmt.Sprintf(": %s of %s", x.Access, r.addr(uint64(*x.AccessAddress)))
		}
		if len(x.Parameters) > 0 {
			var ps []string
			for _, p := range x.Parameters {
				ps = append(ps, p.String())
			}
			s += "; parameters " + strings.Join(ps, ", ")
		}
		if x.OutOfMemory {
			s += "; an out-of-memory exception"
		}
		add("Exception", "%s", s)
		if fr := x.FailedRequest; fr != nil {
			v := ""
			if e := r.FailedExplanation; e != nil {
				v = "; verdict " + strings.ToUpper(e.Verdict)
			}
			add("Failed allocation", "%s%s", render.FailedHeadline(fr), v)
		}
	} else {
		add("Exception", "none (no Exception stream: the dump was written on request, not by a crash)")
	}
	d := o.Dump
	ds := fmt.Sprintf("%s, %d streams", render.Size(uint64(max(d.Size, 0))), d.Streams)
	if !d.Time.IsZero() {
		ds += ", written " + d.Time.Format(timeLayout)
	}
	if d.Writer != "" {
		ds += " by " + d.Writer
	}
	ds += "; flags " + d.Flags.String()
	if len(d.FlagNames) > 0 {
		ds += " (" + strings.Join(d.FlagNames, " | ") + ")"
	}
	add("Dump", "%s", ds)
	add("Captured", "%s", captured(r))
	add("Address space", "%s", r.m.Space.Describe())
	ms := fmt.Sprintf("%s, %s regions", r.Map.Source, comma(r.Map.Regions))
	if r.Map.Partial {
		ms += " (PARTIAL: what the dump does not describe is Unknown, not Free)"
	}
	add("Region map", "%s", ms)
	return fs
}

func captured(r *Report) string { return r.Dump.Capture.Streams() }

// glance is the few lines a reader needs first.
func (r *Report) glance() []string {
	var out []string
	if x := r.Dump.Exception; x != nil {
		s := fmt.Sprintf("Exception: %s", x.Name)
		if x.Where != "" {
			s += " at " + x.Where
		}
		if x.OutOfMemory {
			s += " (out of memory)"
		}
		out = append(out, s+".")
	} else {
		out = append(out, "No exception: the dump was written on request.")
	}
	f := r.Fragmentation
	if r.Map.Partial {
		out = append(out, "The region map is partial (the dump has no MemoryInfoList): where the free space lies is unknown, so every verdict that needs it is uncertain.")
	} else {
		lu := f.LargestUsableFree
		s := fmt.Sprintf("Free address space: %s in %s runs. ", render.Size(f.FreeTotal), comma(f.FreeRuns))
		if lu.Size > 0 {
			s += fmt.Sprintf("Largest usable (64 KiB-aligned) block: %s at %s.", render.Size(lu.Size), r.addr(uint64(lu.Base)))
		} else {
			s += "Not one 64 KiB-aligned free block is left: no new reservation can succeed."
		}
		out = append(out, s)
		if f.UnusableTotal > 0 {
			out = append(out, fmt.Sprintf("Unusable: %s (%s of the free space) in %s runs too small or misaligned to hold a 64 KiB block.",
				render.Size(f.UnusableTotal), pct(f.UnusableTotal, f.FreeTotal), comma(f.UnusableRuns)))
		}
	}
	if len(f.Waste) > 0 {
		out = append(out, fmt.Sprintf("Granularity waste: %s; the largest pattern: %s.", render.Size(f.WasteTotal), f.Waste[0].Description))
	}
	if f.Plentiful {
		out = append(out, "This 64-bit process has plenty of usable address space: fragmentation cannot have failed an allocation; look at the commit side.")
	}
	return out
}

// heapKind names a heap's role.
func heapKind(h render.HeapInfo) string {
	switch {
	case h.ProcessHeap && h.CRTHeap:
		return "process, CRT"
	case h.ProcessHeap:
		return "process"
	case h.CRTHeap:
		return "CRT"
	}
	return ""
}

// usageDescription says what a usage's colour stands for.
var usageDescription = [numUsages]string{
	analysis.UsageFree:       "free, usable by a new reservation",
	analysis.UsageUnusable:   "free but unusable: below the next 64 KiB boundary",
	analysis.UsageImage:      "executable images (modules)",
	analysis.UsageStack:      "thread stacks",
	analysis.UsageTEB:        "thread environment blocks",
	analysis.UsagePEB:        "the process environment block",
	analysis.UsageHeap:       "heap segments",
	analysis.UsageMappedFile: "mapped files and sections",
	analysis.UsagePrivate:    "other private memory (VirtualAlloc)",
	analysis.UsageUnknown:    "not described by the dump",
}

// fitsText is "49,875 x 64 KiB; 3,091 x 1.0 MiB".
func (r *Report) fitsText() string {
	var parts []string
	for _, f := range r.Fragmentation.Fits {
		parts = append(parts, fmt.Sprintf("%s x %s", commaU(f.Count), render.Size(f.Size)))
	}
	return strings.Join(parts, "; ")
}
