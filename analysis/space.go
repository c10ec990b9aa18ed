package analysis

import (
	"encoding/binary"
	"errors"
	"fmt"
	"strings"

	"github.com/dumpmap/dumpmap/minidump"
)

// AddressSpace describes the user address space a map covers and the allocation rules
// that apply in it.
type AddressSpace struct {
	// PointerSize is 4 for a 32-bit process (including the 32-bit view of a WOW64
	// process) and 8 for a 64-bit one.
	PointerSize int
	// WOW64 is set when the dump is of a 32-bit process running on 64-bit Windows,
	// written by a 64-bit dumper; the map then shows the 32-bit process's view.
	WOW64 bool
	// LargeAddressAware says whether the main executable has
	// IMAGE_FILE_LARGE_ADDRESS_AWARE ("yes", "no" or "" when unknown).
	LargeAddressAware string
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
	case "yes":
		parts = append(parts, "large-address-aware")
	case "no":
		parts = append(parts, "not large-address-aware")
	}
	return fmt.Sprintf("%s: %#x-%#x (limits from %s)", strings.Join(parts, ", "), s.MinAddress, s.MaxAddress, s.LimitsFrom)
}

// dumpFacts gathers what the limits depend on.
type dumpFacts struct {
	si   *minidump.SystemInfo
	smi  *minidump.SystemMemoryInfo
	mods []minidump.Module
	mem  *minidump.Memory
	walk *walkStats // nil without a MemoryInfoList
}

// walkStats is what the address-space limits need from the MemoryInfoList: how far
// the walk and the busy regions reach, in 32-bit and full width.
type walkStats struct {
	entries            int
	busyEnd32, busyEnd uint64 // highest busy address (inclusive): below 4 GB, and overall
	walkEnd32, walkEnd uint64 // end of the walk: below 4 GB, and overall
}

// isWOW64 reports whether a 64-bit dump holds a 32-bit process: the WOW64 layer's DLLs
// are loaded.
func isWOW64(si *minidump.SystemInfo, mods []minidump.Module) bool {
	if si == nil || (si.Arch != minidump.ArchAMD64 && si.Arch != minidump.ArchARM64) {
		return false
	}
	for _, m := range mods {
		switch strings.ToLower(m.BaseName()) {
		case "wow64.dll", "wow64cpu.dll", "wow64win.dll", "xtajit.dll":
			return true
		}
	}
	return false
}

// largeAddressAware reads the main module's PE header from captured memory and
// reports IMAGE_FILE_LARGE_ADDRESS_AWARE.
func largeAddressAware(mem *minidump.Memory, mods []minidump.Module) (string, error) {
	if mem == nil || len(mods) == 0 {
		return "", errors.New("no module list or no captured memory")
	}
	base := mods[0].Base
	var dos [64]byte
	if _, err := mem.ReadAt(dos[:], base); err != nil {
		return "", fmt.Errorf("main module header at %#x not captured", base)
	}
	if dos[0] != 'M' || dos[1] != 'Z' {
		return "", fmt.Errorf("no MZ header at %#x", base)
	}
	lfanew := uint64(binary.LittleEndian.Uint32(dos[0x3c:]))
	if lfanew > 1<<20 {
		return "", fmt.Errorf("implausible e_lfanew %#x", lfanew)
	}
	var nt [24]byte
	if _, err := mem.ReadAt(nt[:], base+lfanew); err != nil {
		return "", fmt.Errorf("PE header at %#x not captured", base+lfanew)
	}
	if string(nt[:4]) != "PE\x00\x00" {
		return "", fmt.Errorf("no PE signature at %#x", base+lfanew)
	}
	if binary.LittleEndian.Uint16(nt[22:])&0x20 != 0 {
		return "yes", nil
	}
	return "no", nil
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
	s.WOW64 = isWOW64(d.si, d.mods)
	if s.WOW64 {
		s.PointerSize = 4
	}
	laa, laaErr := largeAddressAware(d.mem, d.mods)
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
	case d.smi != nil && d.smi.MaximumUserModeAddress != 0 && !s.WOW64:
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
		case s.WOW64 && laa == "yes":
			s.MaxAddress = 0xfffeffff
			why = "WOW64 process, large-address-aware executable: 4 GB"
		case s.WOW64 && laa == "no":
			why = "WOW64 process, executable not large-address-aware: 2 GB"
		case laa == "yes" && seen > 0x7ffeffff:
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
