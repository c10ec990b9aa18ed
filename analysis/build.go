package analysis

import (
	"errors"
	"fmt"
	"sort"
	"strings"
	"unsafe"

	"github.com/dumpmap/dumpmap/minidump"
	"github.com/dustin/go-humanize"
)

// Options tune NewMap.
type Options struct {
	// Native shows a WOW64 process's whole 64-bit address space instead of the view
	// its 32-bit code has.
	Native bool
	// Below, when not zero, ends the map at this address, as if the process's address
	// space ended there: a 64-bit process confined below 2 GB standing in for a 32-bit
	// one, or the part a 32-bit allocator inside a 64-bit process can use.
	Below uint64
	// Unavailable lists free address ranges known not to be allocatable although the
	// dump shows them free (Wine's loader area under Wine, say, or ranges reserved by
	// something that is not in the dump). They become Unusable.
	Unavailable []AddrRange
}

// An AddrRange is a half-open range of addresses [Start, End).
type AddrRange struct{ Start, End uint64 }

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
	// One pass over the MemoryInfoList lays its entries out and measures how far the
	// walk reaches, which the limits of the address space depend on; clipping to those
	// limits and splitting the free space come after.
	var lay *layout
	if f.HasStream(minidump.StreamMemoryInfoList) {
		pre := addressSpace(d)
		lay = newLayout(m, pre.PointerSize == 4 && !pre.WOW64, f)
		d.walk = &lay.walk
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
	if opt.Below != 0 && opt.Below-1 < m.Space.MaxAddress {
		if opt.Below <= m.Space.MinAddress {
			return nil, fmt.Errorf("the limit %#x is below the lowest user address %#x", opt.Below, m.Space.MinAddress)
		}
		m.Space.MaxAddress, m.Space.End = opt.Below-1, opt.Below
		m.Space.LimitsFrom = fmt.Sprintf("the given limit: only addresses below %#x", opt.Below)
		m.Notes = append(m.Notes, fmt.Sprintf("the map ends at %#x as asked; what lies above is not shown", opt.Below))
	}
	mods := normalizeModules(m, d.mods)

	switch {
	case lay != nil && lay.walk.entries > 0:
		m.Source = SourceMemoryInfoList
		lay.finish()
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
	if m.Source != SourceMemoryInfoList {
		m.splitFree()
	}
	if len(opt.Unavailable) > 0 {
		m.markUnavailable(opt.Unavailable)
	}
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

// layout turns the MemoryInfoList entries into the region list in two steps: one
// streaming pass over the file in address order, which merges adjacent free entries,
// fills gaps with Unknown, trims overlaps and measures the walk (newLayout); then,
// once the address space's limits are known, clipping at its end and splitting each
// free run into its Unusable and Free parts in place (finish). Only entries that are
// not in address order make it read the whole list and sort it.
type layout struct {
	m                                             *Map
	out                                           []Region
	narrow                                        bool
	cur, prevBase                                 uint64
	inFree                                        bool
	walk                                          walkStats
	signExtended, overlaps, gaps, merged, outside int
	unsorted, sorting                             bool
}

func newLayout(m *Map, narrow bool, f *minidump.File) *layout {
	l := &layout{m: m, narrow: narrow}
	if n, err := f.MemoryInfoCount(); err == nil {
		l.out = make([]Region, 0, n+n/2+8)
		adviseHuge(unsafe.Pointer(unsafe.SliceData(l.out)), uintptr(cap(l.out))*unsafe.Sizeof(Region{}))
	}
	_, err := f.ScanMemoryInfo(func(batch []minidump.MemoryInfo) bool {
		for i := range batch {
			if !l.add(&batch[i]) {
				return false
			}
		}
		return true
	})
	if err != nil && !errors.Is(err, minidump.ErrNoStream) {
		m.Notes = append(m.Notes, err.Error())
	}
	if l.unsorted {
		list, _ := f.MemoryInfo()
		ext := 0
		for i := range list {
			if narrow && list[i].BaseAddress>>32 == 0xffffffff {
				ext++
			}
			list[i].BaseAddress, list[i].AllocationBase = l.fix(list[i].BaseAddress), l.fix(list[i].AllocationBase)
		}
		sort.SliceStable(list, func(i, j int) bool { return list[i].BaseAddress < list[j].BaseAddress })
		m.Notes = append(m.Notes, "MemoryInfoList entries were not in address order")
		l = &layout{m: m, narrow: narrow, out: make([]Region, 0, len(list)+len(list)/2+8), sorting: true, signExtended: ext}
		for i := range list {
			l.add(&list[i])
		}
	}
	return l
}

// fix undoes the sign extension 32-bit dbghelp applies to addresses above 2 GB.
func (l *layout) fix(a uint64) uint64 {
	if l.narrow && a>>32 == 0xffffffff {
		return a & 0xffffffff
	}
	return a
}

// add lays out one entry; it returns false (and sets unsorted) when the entries turn
// out not to be in address order.
func (l *layout) add(e *minidump.MemoryInfo) bool {
	base, abase := e.BaseAddress, e.AllocationBase
	if !l.sorting {
		if l.narrow && base>>32 == 0xffffffff {
			l.signExtended++
		}
		base, abase = l.fix(base), l.fix(abase)
		if base < l.prevBase {
			l.unsorted = true
			return false
		}
		l.prevBase = base
	}
	l.walk.entries++
	size := e.RegionSize
	if size == 0 {
		return true
	}
	if base+size < base { // wraps past 2^64
		size = -base
	}
	end := base + size // 0 when the region ends at 2^64
	w := &l.walk
	if end != 0 && end <= 1<<32 {
		w.walkEnd32 = max(w.walkEnd32, end)
	}
	w.walkEnd = max(w.walkEnd, end-1) + 1
	if e.State != minidump.MemFree {
		if end-1 <= 0xffffffff {
			w.busyEnd32 = max(w.busyEnd32, end-1)
		}
		w.busyEnd = max(w.busyEnd, end-1)
	}
	if base < l.cur {
		l.overlaps++
		if end != 0 && end <= l.cur {
			return true
		}
		size -= l.cur - base
		base = l.cur
	}
	if base > l.cur {
		l.inFree = false
		l.gaps++
		l.out = append(l.out, unknownRegion(l.cur, base, "not described by the MemoryInfoList"))
	}
	l.cur = base + size
	if e.State == minidump.MemFree {
		if n := len(l.out); l.inFree && n > 0 {
			// VirtualQuery coalesces free space; adjacent free entries are one run.
			l.out[n-1].Size += size
			l.merged++
		} else {
			l.out = append(l.out, Region{Base: base, Size: size, State: minidump.MemFree, Protect: minidump.PageNoAccess, Usage: UsageFree})
			l.inFree = true
		}
		return true
	}
	l.inFree = false
	l.out = append(l.out, Region{Base: base, Size: size, State: e.State, Type: e.Type, Protect: e.Protect,
		AllocationBase: abase, AllocationProtect: e.AllocationProtect, Usage: usageOfType(e.Type)})
	return true
}

// finish clips the layout at the end of the address space, fills the gap up to it,
// splits the free runs (in place, from the back) and records what was corrected.
func (l *layout) finish() {
	m := l.m
	end := m.Space.End
	regs := l.out
	// Clip at the end of the space, counting what each free run will become (up to
	// three regions) in the same pass; then expand from the back so that no region is
	// copied twice.
	n, total := 0, 0
	for i := range regs {
		r := &regs[i]
		if r.Base >= end {
			l.outside += len(regs) - i // in address order: the rest lie above too
			break
		}
		if e := r.End(); e > end || e == 0 {
			r.Size = end - r.Base
		}
		if r.State == minidump.MemFree {
			total += m.runPieces(r.Base, r.End())
		} else {
			total++
		}
		n++
	}
	regs = regs[:n]
	if cur := lastEnd(regs); cur < end {
		if cur > 0 || n == 0 {
			l.gaps++
		}
		regs = append(regs, unknownRegion(cur, end, "not described by the MemoryInfoList"))
		total++
	}
	var pieces [3]Region
	if cap(regs) < total {
		grown := make([]Region, len(regs), total)
		copy(grown, regs)
		regs = grown
	}
	n = len(regs)
	regs = regs[:total]
	w := total
	for i := n - 1; i >= 0; i-- {
		r := regs[i]
		if r.State != minidump.MemFree {
			w--
			regs[w] = r
			continue
		}
		k := m.splitRun(&pieces, r.Base, r.End())
		for j := k - 1; j >= 0; j-- {
			w--
			regs[w] = pieces[j]
		}
	}
	m.Regions = regs
	if l.signExtended > 0 {
		m.Notes = append(m.Notes, fmt.Sprintf("%d region addresses were sign-extended by a 32-bit writer and have been truncated to 32 bits", l.signExtended))
	}
	if l.outside > 0 {
		what := "lie above the end of the user address space"
		if strings.HasPrefix(m.Space.LimitsFrom, "the given limit") {
			what = "lie above the given limit and are not shown"
		}
		if m.Space.WOW64 {
			what = "belong to the 64-bit side of the WOW64 process (above the 32-bit address space) and are not shown"
		}
		m.Notes = append(m.Notes, fmt.Sprintf("%d regions %s", l.outside, what))
	}
	if l.overlaps > 0 {
		m.Notes = append(m.Notes, fmt.Sprintf("%d MemoryInfoList entries overlapped earlier ones and were trimmed", l.overlaps))
	}
	if l.merged > 0 {
		m.Notes = append(m.Notes, fmt.Sprintf("%d adjacent free entries were merged", l.merged))
	}
	if l.gaps > 0 {
		m.Notes = append(m.Notes, fmt.Sprintf("%d gaps in the MemoryInfoList are shown as Unknown", l.gaps))
	}
}

func lastEnd(regs []Region) uint64 {
	if len(regs) == 0 {
		return 0
	}
	return regs[len(regs)-1].End()
}

// appendFree appends the free run [lo, hi) split by splitRun.
func (m *Map) appendFree(out []Region, lo, hi uint64) []Region {
	var pieces [3]Region
	k := m.splitRun(&pieces, lo, hi)
	return append(out, pieces[:k]...)
}

// runPieces returns how many regions splitRun makes of the free run [lo, hi).
func (m *Map) runPieces(lo, hi uint64) int {
	s := &m.Space
	ulo := max(alignUp(lo, s.Granularity), alignUp(s.MinAddress, s.Granularity))
	uhi := alignDown(min(hi, s.End), s.Granularity)
	if ulo >= uhi {
		return 1
	}
	n := 1
	if lo < ulo {
		n++
	}
	if uhi < hi {
		n++
	}
	return n
}

// splitRun splits the free run [lo, hi) at the allocation-granularity boundaries and
// the allocatable range: the parts no reservation can use are Unusable. Free regions
// keep VirtualQuery's PAGE_NOACCESS protection. It returns how many pieces it wrote.
func (m *Map) splitRun(p *[3]Region, lo, hi uint64) int {
	s := &m.Space
	piece := func(a, b uint64, u Usage) Region {
		return Region{Base: a, Size: b - a, State: minidump.MemFree, Protect: minidump.PageNoAccess, Usage: u}
	}
	ulo := max(alignUp(lo, s.Granularity), alignUp(s.MinAddress, s.Granularity))
	uhi := alignDown(min(hi, s.End), s.Granularity)
	if ulo >= uhi {
		p[0] = piece(lo, hi, UsageUnusable)
		return 1
	}
	k := 0
	if lo < ulo {
		p[k] = piece(lo, ulo, UsageUnusable)
		k++
	}
	p[k] = piece(ulo, uhi, UsageFree)
	k++
	if uhi < hi {
		p[k] = piece(uhi, hi, UsageUnusable)
		k++
	}
	return k
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
	return Region{Base: from, Size: to - from, Usage: UsageUnknown, Info: &RegionInfo{Detail: why}}
}

// splitFree splits the free regions of maps not built by fromMemoryInfo.
func (m *Map) splitFree() {
	out := make([]Region, 0, len(m.Regions)+8)
	for _, r := range m.Regions {
		if r.State == minidump.MemFree && r.Usage == UsageFree {
			out = m.appendFree(out, r.Base, r.End())
			continue
		}
		out = append(out, r)
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
	case to > s.MaxAddress:
		return fmt.Sprintf("at the top of the address space, above %#x", alignDown(s.MaxAddress+1, s.Granularity))
	}
	return fmt.Sprintf("less than one %s block", humanize.IBytes(s.Granularity))
}

// markUnavailable turns the free space inside the given ranges Unusable and re-splits
// what is left of each free run at the granularity.
func (m *Map) markUnavailable(ranges []AddrRange) {
	out := make([]Region, 0, len(m.Regions)+2*len(ranges))
	n := 0
	for i := 0; i < len(m.Regions); {
		r := m.Regions[i]
		if r.State != minidump.MemFree {
			out = append(out, r)
			i++
			continue
		}
		// The whole free run.
		lo, hi := r.Base, r.End()
		j := i + 1
		for j < len(m.Regions) && m.Regions[j].State == minidump.MemFree && m.Regions[j].Base == hi {
			hi = m.Regions[j].End()
			j++
		}
		hit := false
		for _, u := range ranges {
			if u.Start < hi && u.End > lo {
				hit = true
			}
		}
		if !hit {
			out = append(out, m.Regions[i:j]...)
			i = j
			continue
		}
		cur := lo
		for cur < hi {
			// The next unavailable range starting at or after cur, or covering it.
			next, nextEnd := hi, hi
			for _, u := range ranges {
				if u.End > cur && u.Start < next {
					next, nextEnd = max(u.Start, cur), min(u.End, hi)
				}
			}
			if next > cur {
				out = m.appendFree(out, cur, next)
			}
			if next < hi {
				out = append(out, Region{Base: next, Size: nextEnd - next, State: minidump.MemFree, Protect: minidump.PageNoAccess,
					Usage: UsageUnusable, Blocked: true, Info: &RegionInfo{Detail: "free but known to be unallocatable (given with the map options)"}})
				n++
			}
			cur = nextEnd
		}
		i = j
	}
	m.Regions = out
	m.Notes = append(m.Notes, fmt.Sprintf("%d free ranges were marked unallocatable as asked", n))
}
