package analysis

import (
	"fmt"
	"strings"

	"github.com/dumpmap/dumpmap/analysis/process"
	"github.com/dumpmap/dumpmap/minidump"
)

// AddressSpace describes the user address space a map covers and the allocation rules
// that apply in it.
type AddressSpace struct {
	// PointerSize is 4 for a 32-bit process (including the 32-bit view of a WOW64
	// process) and 8 for a 64-bit one.
	PointerSize int
	// WOW64 is set for a 32-bit process running on 64-bit Windows
	// (process.Process.WOW64). When a 64-bit dumper wrote the dump, the map shows
	// the 32-bit process's view of it.
	WOW64 bool
	// LargeAddressAware says whether the main executable has
	// IMAGE_FILE_LARGE_ADDRESS_AWARE (process.Unknown when its header was not
	// captured).
	LargeAddressAware process.Tri
	// Windows is false for Breakpad dumps of Linux, macOS and Android processes, where
	// the 64 KB allocation granularity does not apply.
	Windows bool

	// MinAddress and MaxAddress are the lowest and highest addresses a reservation can
	// use (MinimumUserModeAddress and MaximumUserModeAddress; MaxAddress is inclusive,
	// e.g. 0x7ffeffff).
	MinAddress, MaxAddress uint64
	// End is the end of the map: MaxAddress+1.
	End uint64
	// PageSize and Granularity are the commit and reservation units (4 KB and 64 KB on
	// Windows).
	PageSize, Granularity uint64
	// LimitsFrom says where MinAddress and MaxAddress came from.
	LimitsFrom string
}

// AlignUp rounds a up to the allocation granularity.
func (s *AddressSpace) AlignUp(a uint64) uint64 { return alignUp(a, s.Granularity) }

// AlignDown rounds a down to the allocation granularity.
func (s *AddressSpace) AlignDown(a uint64) uint64 { return a &^ (s.Granularity - 1) }

func alignUp(a, g uint64) uint64 {
	if g == 0 {
		return a
	}
	r := (a + g - 1) &^ (g - 1)
	if r < a {
		return ^uint64(0) &^ (g - 1)
	}
	return r
}

func alignDown(a, g uint64) uint64 {
	if g == 0 {
		return a
	}
	return a &^ (g - 1)
}

// Describe returns a one-line description such as
// "32-bit (WOW64, large-address-aware): 0x10000-0xfffeffff, 4 GB".
func (s *AddressSpace) Describe() string {
	var parts []string
	parts = append(parts, fmt.Sprintf("%d-bit", s.PointerSize*8))
	if s.WOW64 {
		parts = append(parts, "WOW64")
	}
	switch s.LargeAddressAware {
	case process.Yes:
		parts = append(parts, "large-address-aware")
	case process.No:
		parts = append(parts, "not large-address-aware")
	}
	return fmt.Sprintf("%s: %#x-%#x (limits from %s)", strings.Join(parts, ", "), s.MinAddress, s.MaxAddress, s.LimitsFrom)
}

// dumpFacts gathers what the limits depend on: the process's facts and the walk.
type dumpFacts struct {
	si     *minidump.SystemInfo
	smi    *minidump.SystemMemoryInfo
	wow64  bool
	laa    process.Tri
	laaWhy error
	walk   *walkStats // nil without a MemoryInfoList
}

// walkStats is what the address-space limits need from the MemoryInfoList: how far
// the walk and the busy regions reach, in 32-bit and full width.
type walkStats struct {
	entries            int
	busyEnd32, busyEnd uint64 // highest busy address (inclusive): below 4 GB, and overall
	walkEnd32, walkEnd uint64 // end of the walk: below 4 GB, and overall
}

// addressSpace works out the limits of the map and how it knows them.
func addressSpace(d dumpFacts) AddressSpace {
	s := AddressSpace{PageSize: 4096, Granularity: 65536, Windows: true, PointerSize: 8}
	if d.si != nil {
		s.Windows = d.si.Platform.IsWindows()
		if ps := d.si.Arch.PointerSize(); ps != 0 {
			s.PointerSize = ps
		}
	}
	if !s.Windows {
		// Linux, macOS, Android: mmap works at page granularity.
		s.Granularity = s.PageSize
	}
	if d.smi != nil && d.smi.PageSize != 0 && d.smi.PageSize&(d.smi.PageSize-1) == 0 {
		s.PageSize = uint64(d.smi.PageSize)
		if s.Windows && d.smi.AllocationGranularity != 0 && d.smi.AllocationGranularity&(d.smi.AllocationGranularity-1) == 0 {
			s.Granularity = uint64(d.smi.AllocationGranularity)
		}
	}
	s.WOW64 = d.wow64
	// A 64-bit dump of a WOW64 process: its SystemInfo and SystemMemoryInfo are
	// the 64-bit side's, the process's own view is 32-bit.
	view64 := s.WOW64 && s.PointerSize == 8
	if s.WOW64 {
		s.PointerSize = 4
	}
	laa, laaErr := d.laa, d.laaWhy
	s.LargeAddressAware = laa

	// The highest address any region of the dump reaches, in the view's width.
	var seen uint64
	if d.walk != nil {
		seen = d.walk.busyEnd
		if s.PointerSize == 4 {
			seen = d.walk.busyEnd32
		}
	}

	switch {
	case !s.Windows:
		s.MinAddress = s.PageSize
		if s.PointerSize == 4 {
			s.MaxAddress = 0xffffffff
		} else {
			s.MaxAddress = 0x7fffffffffff
		}
		s.LimitsFrom = "the architecture (" + platformName(d.si) + ")"
	case d.smi != nil && d.smi.MaximumUserModeAddress != 0 && !view64:
		s.MinAddress, s.MaxAddress = d.smi.MinimumUserModeAddress, d.smi.MaximumUserModeAddress
		if s.PointerSize == 4 {
			s.MaxAddress &= 0xffffffff
		}
		s.LimitsFrom = "the SystemMemoryInfo stream"
	case s.PointerSize == 4:
		s.MinAddress = s.Granularity
		s.MaxAddress = 0x7ffeffff
		why := ""
		switch {
		case s.WOW64 && laa == process.Yes:
			s.MaxAddress = 0xfffeffff
			why = "WOW64 process, large-address-aware executable: 4 GB"
		case s.WOW64 && laa == process.No:
			why = "WOW64 process, executable not large-address-aware: 2 GB"
		case laa == process.Yes && seen > 0x7ffeffff:
			s.MaxAddress = 0xbffeffff
			why = "32-bit Windows, large-address-aware executable with memory above 2 GB: assumed /3GB, 3 GB"
		case seen > 0xbffeffff:
			s.MaxAddress = 0xfffeffff
			why = "32-bit process with memory above 3 GB: assumed WOW64 and large-address-aware, 4 GB"
		case seen > 0x7ffeffff:
			s.MaxAddress = 0xbffeffff
			why = "32-bit process with memory above 2 GB: assumed large-address-aware with /3GB, 3 GB"
		default:
			why = "32-bit process: 2 GB"
			if laaErr != nil {
				why += " (large-address-awareness unknown: " + laaErr.Error() + ")"
			}
		}
		s.LimitsFrom = "the architecture (" + why + ")"
	default:
		s.MinAddress = s.Granularity
		s.MaxAddress = 0x7ffffffeffff // 128 TB, Windows 8.1 and later
		why := "64-bit Windows 8.1 or later: 128 TB"
		if d.si != nil && (d.si.MajorVersion < 6 || (d.si.MajorVersion == 6 && d.si.MinorVersion < 3)) {
			s.MaxAddress = 0x7fffffeffff // 8 TB
			why = "64-bit Windows before 8.1: 8 TB"
		}
		s.LimitsFrom = "the architecture and OS version (" + why + ")"
	}
	if s.MinAddress == 0 {
		s.MinAddress = s.Granularity
	}
	// VirtualQuery walks up to the highest user address: a MemoryInfoList that goes
	// further than the assumed limit shows the real one (Wine reports Windows 7 but
	// gives 64-bit processes 128 TB).
	if s.Windows && !strings.HasPrefix(s.LimitsFrom, "the SystemMemoryInfo") && d.walk != nil && d.walk.entries > 0 {
		walkEnd := d.walk.walkEnd
		if s.PointerSize == 4 {
			walkEnd = d.walk.walkEnd32
		}
		if walkEnd > s.MaxAddress+1 && walkEnd%s.PageSize == 0 {
			s.MaxAddress = walkEnd - 1
			s.LimitsFrom = fmt.Sprintf("the end of the MemoryInfoList walk, %#x (beyond what the architecture and OS version imply)", walkEnd)
		}
	}
	s.End = s.MaxAddress + 1
	if s.End == 0 { // MaxAddress was the top of the address space
		s.End = ^uint64(0)
	}
	return s
}

func platformName(si *minidump.SystemInfo) string {
	if si == nil {
		return "unknown OS"
	}
	return si.Platform.String() + " " + si.Arch.String()
}
