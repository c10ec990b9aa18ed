package analysis

import (
	"errors"
	"fmt"
	"sort"

	"github.com/dumpmap/dumpmap/minidump"
	"github.com/dustin/go-humanize"
)

// Options tune NewMap.
type Options struct {
	// Native shows a WOW64 process's whole 64-bit address space instead of the view
	// its 32-bit code has.
	Native bool
}

// NewMap rebuilds the address space of the process in f. With a MemoryInfoList the map
// is complete; without one it is built from the Linux /proc/self/maps stream, or else
// from the captured memory, modules and thread stacks and marked Partial. Damage in
// the streams it reads is recorded in Notes; NewMap fails only when the dump holds
// nothing to build a map from.
func NewMap(f *minidump.File, opt Options) (*Map, error) {
	m := &Map{}
	note := func(err error) {
		if err != nil && !errors.Is(err, minidump.ErrNoStream) {
			m.Notes = append(m.Notes, err.Error())
		}
	}
	var d dumpFacts
	var err error
	d.si, err = f.SystemInfo()
	note(err)
	d.smi, err = f.SystemMemoryInfo()
	note(err)
	d.mods, err = f.Modules()
	note(err)
	d.mem, err = f.Memory()
	note(err)
	unloaded, err := f.UnloadedModules()
	note(err)
	threads, err := f.Threads()
	note(err)
	if f.HasStream(minidump.StreamMemoryInfoList) {
		d.regions, err = f.MemoryInfo()
		note(err)
	}
	m.Space = addressSpace(d)
	if opt.Native && m.Space.WOW64 {
		m.Space.PointerSize = 8
		m.Space.WOW64 = false
		native := addressSpace(dumpFacts{si: d.si, smi: d.smi})
		m.Space.MinAddress, m.Space.MaxAddress, m.Space.End, m.Space.LimitsFrom = native.MinAddress, native.MaxAddress, native.End, native.LimitsFrom
		m.Notes = append(m.Notes, "WOW64 process shown in its native 64-bit view")
	}
	if d.si == nil {
		m.Notes = append(m.Notes, "no SystemInfo stream: assumed a 64-bit Windows process")
	}
	mods := normalizeModules(m, d.mods)

	switch {
	case len(d.regions) > 0:
		m.Source = SourceMemoryInfoList
		m.fromMemoryInfo(d.regions)
	case f.HasStream(minidump.StreamLinuxMaps):
		text, err := f.Text(minidump.StreamLinuxMaps)
		note(err)
		m.Source = SourceLinuxMaps
		if err := m.fromLinuxMaps(text); err != nil {
			m.Notes = append(m.Notes, "LinuxMaps stream unusable: "+err.Error())
			m.Source = SourceCaptured
			m.Partial = true
			if err := m.fromCaptured(d.mem, mods, threads); err != nil {
				return nil, err
			}
		}
	default:
		m.Source = SourceCaptured
		m.Partial = true
		if err := m.fromCaptured(d.mem, mods, threads); err != nil {
			return nil, err
		}
	}
	m.splitFree()
	dumpPtr := 8
	if d.si != nil && d.si.Arch.PointerSize() == 4 {
		dumpPtr = 4
	}
	m.classify(mods, unloaded, threads, d.mem, dumpPtr, isWOW64(d.si, d.mods))
	return m, nil
}

// normalizeModules fixes module bases that a 32-bit writer sign-extended.
func normalizeModules(m *Map, mods []minidump.Module) []minidump.Module {
	if m.Space.PointerSize != 4 {
		return mods
	}
	out := make([]minidump.Module, len(mods))
	copy(out, mods)
	for i := range out {
		if out[i].Base>>32 == 0xffffffff {
			out[i].Base &= 0xffffffff
		}
	}
	return out
}

// fromMemoryInfo lays the MemoryInfoList entries out over [0, End): sorted, clipped,
// with gaps shown as Unknown.
func (m *Map) fromMemoryInfo(list []minidump.MemoryInfo) {
	end := m.Space.End
	rs := make([]Region, 0, len(list)+8)
	signExtended, outside := 0, 0
	for _, e := range list {
		base, abase := e.BaseAddress, e.AllocationBase
		if m.Space.PointerSize == 4 && !m.Space.WOW64 {
			// 32-bit dbghelp sign-extends addresses above 2 GB into 64 bits.
			if base>>32 == 0xffffffff {
				base &= 0xffffffff
				signExtended++
			}
			if abase>>32 == 0xffffffff {
				abase &= 0xffffffff
			}
		}
		if e.RegionSize == 0 {
			continue
		}
		size := e.RegionSize
		if base+size < base { // wraps past 2^64
			size = -base
		}
		if base >= end {
			outside++
			continue
		}
		if base+size > end || base+size == 0 {
			size = end - base
		}
		r := Region{Base: base, Size: size, State: e.State, Type: e.Type, Protect: e.Protect,
			AllocationBase: abase, AllocationProtect: e.AllocationProtect, Usage: usageOfType(e.Type)}
		if r.State == minidump.MemFree {
			// Free regions have no allocation; splitFree sets their usage. Their
			// protection (PAGE_NOACCESS) is kept as VirtualQuery reported it.
			r.Type, r.AllocationBase, r.AllocationProtect = 0, 0, 0
		}
		rs = append(rs, r)
	}
	if signExtended > 0 {
		m.Notes = append(m.Notes, fmt.Sprintf("%d region addresses were sign-extended by a 32-bit writer and have been truncated to 32 bits", signExtended))
	}
	if outside > 0 {
		what := "lie above the end of the user address space"
		if m.Space.WOW64 {
			what = "belong to the 64-bit side of the WOW64 process (above the 32-bit address space) and are not shown"
		}
		m.Notes = append(m.Notes, fmt.Sprintf("%d regions %s", outside, what))
	}
	if !sort.SliceIsSorted(rs, func(i, j int) bool { return rs[i].Base < rs[j].Base }) {
		sort.SliceStable(rs, func(i, j int) bool { return rs[i].Base < rs[j].Base })
		m.Notes = append(m.Notes, "MemoryInfoList entries were not in address order")
	}
	out := make([]Region, 0, len(rs)+8)
	cur := uint64(0)
	overlaps, gaps, merged := 0, 0, 0
	for _, r := range rs {
		if r.Base < cur {
			if r.End() <= cur {
				overlaps++
				continue
			}
			overlaps++
			r.Size -= cur - r.Base
			r.Base = cur
		}
		if r.Base > cur {
			gaps++
			out = append(out, unknownRegion(cur, r.Base, "not described by the MemoryInfoList"))
		}
		if n := len(out); n > 0 && r.State == minidump.MemFree && out[n-1].State == minidump.MemFree && out[n-1].End() == r.Base {
			// VirtualQuery coalesces free space; two adjacent free entries are one run.
			out[n-1].Size += r.Size
			merged++
		} else {
			out = append(out, r)
		}
		cur = r.End()
	}
	if cur < end {
		gaps++
		out = append(out, unknownRegion(cur, end, "not described by the MemoryInfoList"))
	}
	if overlaps > 0 {
		m.Notes = append(m.Notes, fmt.Sprintf("%d MemoryInfoList entries overlapped earlier ones and were trimmed", overlaps))
	}
	if merged > 0 {
		m.Notes = append(m.Notes, fmt.Sprintf("%d adjacent free entries were merged", merged))
	}
	if gaps > 0 {
		m.Notes = append(m.Notes, fmt.Sprintf("%d gaps in the MemoryInfoList are shown as Unknown", gaps))
	}
	m.Regions = out
}

// usageOfType is the usage of a busy region before anything more is known.
func usageOfType(t minidump.MemType) Usage {
	switch t {
	case minidump.MemImage:
		return UsageImage
	case minidump.MemMapped:
		return UsageMappedFile
	case minidump.MemPrivate:
		return UsagePrivate
	}
	return UsageUnknown
}

func unknownRegion(from, to uint64, why string) Region {
	return Region{Base: from, Size: to - from, Usage: UsageUnknown, Detail: why}
}

// splitFree splits each free region at the allocation-granularity boundaries and the
// allocatable range: the parts no reservation can use become Unusable.
func (m *Map) splitFree() {
	s := &m.Space
	out := make([]Region, 0, len(m.Regions)+len(m.Regions)/4)
	for _, r := range m.Regions {
		if r.State != minidump.MemFree {
			out = append(out, r)
			continue
		}
		lo := max(alignUp(r.Base, s.Granularity), alignUp(s.MinAddress, s.Granularity))
		hi := alignDown(min(r.End(), s.MaxAddress+1), s.Granularity)
		if s.MaxAddress+1 == 0 {
			hi = alignDown(r.End(), s.Granularity)
		}
		if lo >= hi {
			r.Usage = UsageUnusable
			r.Detail = m.unusableWhy(r.Base, r.End())
			out = append(out, r)
			continue
		}
		if r.Base < lo {
			u := r
			u.Size = lo - r.Base
			u.Usage = UsageUnusable
			u.Detail = m.unusableWhy(u.Base, u.End())
			out = append(out, u)
		}
		f := r
		f.Base, f.Size, f.Usage = lo, hi-lo, UsageFree
		out = append(out, f)
		if hi < r.End() {
			u := r
			u.Base, u.Size = hi, r.End()-hi
			u.Usage = UsageUnusable
			u.Detail = m.unusableWhy(u.Base, u.End())
			out = append(out, u)
		}
	}
	m.Regions = out
}

func (m *Map) unusableWhy(from, to uint64) string {
	s := &m.Space
	switch {
	case to <= s.MinAddress:
		return fmt.Sprintf("below the lowest allocatable address %#x", s.MinAddress)
	case from > s.MaxAddress:
		return fmt.Sprintf("above the highest allocatable address %#x", s.MaxAddress)
	case from%s.Granularity != 0:
		return fmt.Sprintf("%s below the next %s boundary", humanize.IBytes(to-from), humanize.IBytes(s.Granularity))
	}
	return fmt.Sprintf("less than one %s block", humanize.IBytes(s.Granularity))
}
