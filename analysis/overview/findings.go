package overview

import (
	"fmt"

	"github.com/dumpmap/dumpmap/minidump"
	"github.com/dustin/go-humanize"
)

// findings draws the conclusions from what was captured, most important first.
func findings(o *Overview, f *minidump.File, p minidump.Platform) []Finding {
	out := []Finding{}
	add := func(id, level, format string, args ...any) {
		out = append(out, Finding{ID: id, Level: level, Text: fmt.Sprintf(format, args...)})
	}
	// Without SystemInfo the platform is unknown: say nothing Windows-specific.
	windows := p.IsWindows() && o.System != nil
	c, n := o.Capture, o.Counts

	if o.System == nil {
		add(FindingNoSystemInfo, "limit", "no SystemInfo: the OS and processor architecture are unknown")
	} else if !windows {
		add(FindingNotWindows, "info", "not a Windows process (%s): the Windows address-space rules (64 KB allocation granularity, VirtualAlloc, NT heaps) do not apply", o.System.Platform)
	}
	if o.System != nil && o.System.WOW64 {
		add(FindingWOW64, "info", "%s", o.System.WOW64Reason)
	}
	if e := o.Exception; e != nil && e.OutOfMemory {
		if d := e.Decoded; d != nil && d.Verdict != "" && d.CPP != nil && d.OOM {
			add(FindingOutOfMemory, "info", "the exception %s says an allocation failed: %s", e.Name, d.Verdict)
		} else if fr := e.FailedRequest; fr != nil && fr.ThrownTypeFrom == "inferred" {
			add(FindingOutOfMemory, "info", "the exception %s was thrown by %s: an allocation failed (%s, inferred from the frame)", e.Name, fr.Function, fr.ThrownType)
		} else {
			add(FindingOutOfMemory, "info", "the exception %s is what a process raises when an allocation fails", e.Name)
		}
	}
	if n.MissingBytes > 0 {
		add(FindingTruncated, "damage", "the file is truncated: %s of the captured memory (%d bytes) is missing", humanize.IBytes(n.MissingBytes), n.MissingBytes)
	} else if n.DamagedStreams > 0 {
		add(FindingTruncated, "damage", "%d stream(s) extend past the end of the file: the dump is truncated or damaged", n.DamagedStreams)
	}
	if len(o.Warnings) > 0 {
		add(FindingDamaged, "damage", "the dump is damaged in places (see the warnings); everything intact is still used")
	}
	if o.Counts.Modules == 0 {
		add(FindingNoModules, "limit", "no modules: code addresses cannot be named")
	}
	switch {
	case c.MemoryInfo:
	case c.LinuxMaps:
		add(FindingLinuxMaps, "info", "no MemoryInfoList, but /proc/self/maps was captured: the region map comes from it")
	default:
		add(FindingNoMemoryInfo, "limit", "no MemoryInfoList: region map will be partial (built from captured memory, modules and thread stacks; gaps are Unknown, not Free) and free space cannot be measured")
	}
	if windows {
		if !c.FullMemory {
			add(FindingNoFullMemory, "limit", "no full memory: heaps cannot be walked (free blocks inside heaps are unknown); %s of memory captured in %d range(s)", humanize.IBytes(n.MemoryBytes), n.MemoryRanges)
		}
		if !c.SystemMemoryInfo {
			add(FindingNoSystemMemoryInfo, "limit", "no SystemMemoryInfo: the user address-space limits are taken from the architecture and OS version")
		}
		if !c.VMCounters {
			add(FindingNoVMCounters, "limit", "no ProcessVmCounters: the process's commit charge (private bytes) is unknown")
		}
		if !c.UnloadedModules {
			add(FindingNoUnloadedModules, "limit", "no UnloadedModuleList: addresses in DLLs that were unloaded cannot be named")
		}
	}
	if o.Exception == nil {
		add(FindingNoException, "info", "no Exception stream: the dump was written on request (a hang or a snapshot), not by a crash")
	}
	return out
}
