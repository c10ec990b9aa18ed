package analysis

import (
	"fmt"
	"math/bits"
	"runtime"
	"slices"
	"sort"

	"github.com/dumpmap/dumpmap/minidump"
	"github.com/dustin/go-humanize"
)

// A SummaryRow is one line of an !address -summary table.
type SummaryRow struct {
	Name     string
	Regions  int
	Size     uint64
	PctBusy  float64 // share of the busy (non-free) space; 0 for free rows
	PctTotal float64 // share of the whole map
}

// A LargestRow is one line of the "Largest Region by Usage" table.
type LargestRow struct {
	Usage Usage
	Base  uint64
	Size  uint64
}

// A SizeClass counts free runs whose size falls in [Min, Max).
type SizeClass struct {
	Min, Max uint64 // Max 0 means no upper bound
	Runs     int
	Bytes    uint64 // total size of those runs
	Usable   uint64 // their 64 KB-aligned usable bytes
}

// Label returns "64 KiB - 128 KiB", "< 64 KiB" or ">= 1 GiB".
func (c SizeClass) Label() string {
	switch {
	case c.Min == 0:
		return "< " + humanize.IBytes(c.Max)
	case c.Max == 0:
		return ">= " + humanize.IBytes(c.Min)
	}
	return humanize.IBytes(c.Min) + " - " + humanize.IBytes(c.Max)
}

// Summary holds the !address -summary tables and what WinDbg lacks: usable free
// space, the Unusable total and free space by size class.
type Summary struct {
	Usage   []SummaryRow
	Type    []SummaryRow // busy regions only
	State   []SummaryRow
	Protect []SummaryRow // committed regions only
	Largest []LargestRow

	Total   uint64 // size of the map
	Busy    uint64 // not free (Unknown included)
	Unknown uint64 // not described by the dump (partial maps)

	Free        FreeStats
	SizeClasses []SizeClass
}

// FreeSizeClasses are the bounds of the free-space histogram: < 64 KB, then powers of
// two up to >= 1 GB.
func FreeSizeClasses() []SizeClass {
	var cs []SizeClass
	cs = append(cs, SizeClass{Min: 0, Max: 64 << 10})
	for lo := uint64(64 << 10); lo < 1<<30; lo *= 2 {
		cs = append(cs, SizeClass{Min: lo, Max: lo * 2})
	}
	cs = append(cs, SizeClass{Min: 1 << 30})
	return cs
}

// Summary computes the summary tables.
func (m *Map) Summary() *Summary { return m.summary().clone() }

// summaryAcc accumulates the summary over a stretch of regions.
type summaryAcc struct {
	free                 FreeStats
	classes              []SizeClass
	total, busy, unknown uint64
	usage                [numUsages]acc
	largest              [numUsages]LargestRow
	types                accList[minidump.MemType]
	states               accList[minidump.MemState]
	protects             accList[minidump.Protect]
	commit, reserve      acc
	byType               [3]acc
	byProtect            [numProtectSlots]acc // see protectSlot
}

// numProtectSlots is the number of protections counted directly: the eight
// access values, each alone or with any of PAGE_GUARD, PAGE_NOCACHE and
// PAGE_WRITECOMBINE. (A table indexed by the value itself was 32 KB: three of
// them on computeSummary's frame made every run grow its stack to 256 KB.)
const numProtectSlots = 8 * 8

// protectSlot returns the direct counter of protection p, or -1 for a value
// counted in the list: no access value, more than one, or other bits.
func protectSlot(p minidump.Protect) int {
	low := uint32(p) & 0xff
	if low == 0 || low&(low-1) != 0 || uint32(p)&^0x7ff != 0 {
		return -1
	}
	return bits.TrailingZeros32(low)<<3 | int(p>>8)&7
}

// slotProtect is the protection that protectSlot maps to slot i.
func slotProtect(i int) minidump.Protect {
	return minidump.Protect(1<<(i>>3) | (i&7)<<8)
}

func (a *summaryAcc) addRun(f FreeRun) {
	a.free.add(f)
	// FreeSizeClasses: < 64 KiB, then one per power of two up to >= 1 GiB.
	i := 0
	if f.Size >= 64<<10 {
		i = min(bits.Len64(f.Size)-16, len(a.classes)-1)
	}
	c := &a.classes[i]
	c.Runs++
	c.Bytes += f.Size
	c.Usable += f.UsableSize
}

// add accumulates the regions rs: their tables and their usages. A run open
// at the end of rs is closed there: callers cut the regions where a run cannot
// continue.
func (a *summaryAcc) add(rs []Region) {
	a.addTables(rs)
	a.addUsages(rs)
}

// addTables accumulates what does not depend on a busy region's usage: the free
// runs, the state, type and protection tables, the total and busy sizes.
func (a *summaryAcc) addTables(rs []Region) {
	if a.classes == nil {
		a.classes = FreeSizeClasses()
	}
	// The free runs, gathered as runGatherer gathers them, inline: this loop
	// visits every region of maps of millions.
	var run FreeRun
	open := false
	for i := range rs {
		r := &rs[i]
		free := r.IsFree()
		if free && r.State == minidump.MemFree && !r.Blocked { // inRun
			if open && run.End() != r.Base {
				a.addRun(run)
				open = false
			}
			if !open {
				run, open = FreeRun{Base: r.Base}, true
			}
			run.Size += r.Size
			if r.Usage == UsageFree {
				if run.UsableSize == 0 {
					run.UsableBase = r.Base
				}
				run.UsableSize += r.Size
			}
		} else if open {
			a.addRun(run)
			open = false
		}
		a.total += r.Size
		if !free {
			a.countBusy(r)
		}
	}
	if open {
		a.addRun(run)
	}
}

// countBusy counts busy region r in the state, type and protection tables.
func (a *summaryAcc) countBusy(r *Region) {
	a.busy += r.Size
	// Direct-indexed counters for the common values keep this cheap on maps of
	// millions of regions; anything else goes to the lists.
	switch r.State {
	case 0:
	case minidump.MemCommit:
		a.commit.n++
		a.commit.size += r.Size
	case minidump.MemReserve:
		a.reserve.n++
		a.reserve.size += r.Size
	default:
		x := a.states.get(r.State)
		x.n++
		x.size += r.Size
	}
	switch r.Type {
	case 0:
	case minidump.MemPrivate:
		a.byType[0].n++
		a.byType[0].size += r.Size
	case minidump.MemMapped:
		a.byType[1].n++
		a.byType[1].size += r.Size
	case minidump.MemImage:
		a.byType[2].n++
		a.byType[2].size += r.Size
	default:
		x := a.types.get(r.Type)
		x.n++
		x.size += r.Size
	}
	if r.State == minidump.MemCommit {
		var x *acc
		if i := protectSlot(r.Protect); i >= 0 {
			x = &a.byProtect[i]
		} else {
			x = a.protects.get(r.Protect)
		}
		x.n++
		x.size += r.Size
	}
}

// addUsages accumulates the usage table, the largest region of each usage and
// the Unknown total.
func (a *summaryAcc) addUsages(rs []Region) {
	for i := range rs {
		a.countUsage(&rs[i])
	}
}

// countUsage counts region r in the usage table, the largest region of its usage
// and the Unknown total.
func (a *summaryAcc) countUsage(r *Region) {
	x := &a.usage[r.Usage]
	x.n++
	x.size += r.Size
	if r.Size > a.largest[r.Usage].Size {
		a.largest[r.Usage] = LargestRow{Usage: r.Usage, Base: r.Base, Size: r.Size}
	}
	if r.Usage == UsageUnknown {
		a.unknown += r.Size
	}
}

// countRegion counts region r, laid out from a MemoryInfoList (free when its state
// is MEM_FREE), in every table but the free runs, which the layout adds as it
// closes them (addRun).
func (a *summaryAcc) countRegion(r *Region) {
	a.total += r.Size
	if r.State != minidump.MemFree {
		a.countBusy(r)
	}
	a.countUsage(r)
}

// retag moves region r, counted with its old usage, to usage u. It reports false
// when the largest region of the old usage was r: that one is then to be found
// again among the regions.
func (a *summaryAcc) retag(r *Region, u Usage) bool {
	old, size := r.Usage, r.Size
	a.usage[old].n--
	a.usage[old].size -= size
	if old == UsageUnknown {
		a.unknown -= size
	}
	x := &a.usage[u]
	x.n++
	x.size += size
	if u == UsageUnknown {
		a.unknown += size
	}
	// Of equal sizes the first in address order is the largest, as a pass finds it.
	if l := &a.largest[u]; size > l.Size || size == l.Size && size > 0 && r.Base < l.Base {
		*l = LargestRow{Usage: u, Base: r.Base, Size: size}
	}
	return a.largest[old].Size != size || a.largest[old].Base != r.Base
}

// newSummaryAcc returns an empty accumulator.
func newSummaryAcc() *summaryAcc { return &summaryAcc{classes: FreeSizeClasses()} }

// clone returns a copy of a that shares nothing with it.
func (a *summaryAcc) clone() summaryAcc {
	c := *a
	c.classes = slices.Clone(a.classes)
	c.types, c.states, c.protects = a.types.clone(), a.states.clone(), a.protects.clone()
	return c
}

// merge adds b, the accumulation of the regions after a's, as if one pass had
// gone on: sums add up, and of equal maxima the first (a's) is kept.
func (a *summaryAcc) merge(b *summaryAcc) {
	f, g := &a.free, &b.free
	f.Total += g.Total
	f.Runs += g.Runs
	f.UsableTotal += g.UsableTotal
	f.Unusable += g.Unusable
	f.UnusableRuns += g.UnusableRuns
	if g.Largest.Size > f.Largest.Size {
		f.Largest = g.Largest
	}
	if g.LargestUsable.UsableSize > f.LargestUsable.UsableSize {
		f.LargestUsable = g.LargestUsable
	}
	for i := range a.classes {
		a.classes[i].Runs += b.classes[i].Runs
		a.classes[i].Bytes += b.classes[i].Bytes
		a.classes[i].Usable += b.classes[i].Usable
	}
	a.total += b.total
	a.busy += b.busy
	a.unknown += b.unknown
	for u := range a.usage {
		a.usage[u].n += b.usage[u].n
		a.usage[u].size += b.usage[u].size
		if b.largest[u].Size > a.largest[u].Size {
			a.largest[u] = b.largest[u]
		}
	}
	addAcc := func(x *acc, y acc) { x.n += y.n; x.size += y.size }
	for i, k := range b.types.keys {
		addAcc(a.types.get(k), b.types.vals[i])
	}
	for i, k := range b.states.keys {
		addAcc(a.states.get(k), b.states.vals[i])
	}
	for i, k := range b.protects.keys {
		addAcc(a.protects.get(k), b.protects.vals[i])
	}
	addAcc(&a.commit, b.commit)
	addAcc(&a.reserve, b.reserve)
	for i := range a.byType {
		addAcc(&a.byType[i], b.byType[i])
	}
	for i := range a.byProtect {
		addAcc(&a.byProtect[i], b.byProtect[i])
	}
}

// summaryHalfMin is the map size from which the summary is counted in two halves
// at once (a variable for the tests).
var summaryHalfMin = 1 << 16

func (m *Map) computeSummary() *Summary {
	var a summaryAcc
	rs := m.Regions
	// Cut at a region that is not free space, where no free run continues.
	k := cutAtBusy(rs, len(rs)/2)
	if d := m.derived; d != nil && d.inc != nil {
		// The layout counted the regions as it laid them out: count those after
		// it stopped (the end of the space, which finish settled), and find again
		// the largest region of usages whose largest changed usage.
		a = d.inc.clone()
		var rest summaryAcc
		rest.add(rs[d.counted:])
		a.merge(&rest)
		if d.incDirty != 0 {
			for u := range a.largest {
				if d.incDirty&(1<<u) != 0 {
					a.largest[u] = LargestRow{}
				}
			}
			for i := range rs {
				r := &rs[i]
				if d.incDirty&(1<<r.Usage) != 0 && r.Size > a.largest[r.Usage].Size {
					a.largest[r.Usage] = LargestRow{Usage: r.Usage, Base: r.Base, Size: r.Size}
				}
			}
		}
	} else if len(rs) >= summaryHalfMin && k < len(rs) && runtime.GOMAXPROCS(0) > 1 {
		var b summaryAcc
		done := make(chan struct{})
		go func() {
			defer close(done)
			b.add(rs[k:])
		}()
		a.add(rs[:k])
		<-done
		a.merge(&b)
	} else {
		a.add(rs)
	}
	s := &Summary{SizeClasses: a.classes, Total: a.total, Busy: a.busy, Unknown: a.unknown, Free: a.free}
	usage, largest := a.usage[:], a.largest[:]
	types, states, protects := &a.types, &a.states, &a.protects
	commit, reserve, byType, byProtect := a.commit, a.reserve, a.byType, &a.byProtect
	addAcc := func(a *acc, b acc) { a.n += b.n; a.size += b.size }
	if commit.n > 0 {
		addAcc(states.get(minidump.MemCommit), commit)
	}
	if reserve.n > 0 {
		addAcc(states.get(minidump.MemReserve), reserve)
	}
	for i, t := range []minidump.MemType{minidump.MemPrivate, minidump.MemMapped, minidump.MemImage} {
		if byType[i].n > 0 {
			addAcc(types.get(t), byType[i])
		}
	}
	for i := range byProtect {
		if byProtect[i].n > 0 {
			addAcc(protects.get(slotProtect(i)), byProtect[i])
		}
	}
	pct := func(x, of uint64) float64 {
		if of == 0 {
			return 0
		}
		return 100 * float64(x) / float64(of)
	}
	row := func(name string, a acc, busy bool) SummaryRow {
		r := SummaryRow{Name: name, Regions: a.n, Size: a.size, PctTotal: pct(a.size, s.Total)}
		if busy {
			r.PctBusy = pct(a.size, s.Busy)
		}
		return r
	}
	for u := Usage(0); u < numUsages; u++ {
		if usage[u].n > 0 {
			s.Usage = append(s.Usage, row(u.String(), usage[u], !u.IsFree()))
		}
	}
	// Busy usages by size, largest first, as WinDbg orders them; free rows first.
	sort.SliceStable(s.Usage, func(i, j int) bool {
		fi, fj := isFreeName(s.Usage[i].Name), isFreeName(s.Usage[j].Name)
		if fi != fj {
			return fi
		}
		if fi {
			return false
		}
		return s.Usage[i].Size > s.Usage[j].Size
	})
	for _, t := range []minidump.MemType{minidump.MemPrivate, minidump.MemImage, minidump.MemMapped} {
		if a := types.find(t); a != nil {
			s.Type = append(s.Type, row(t.String(), *a, true))
		}
	}
	freeAcc := acc{usage[UsageFree].n + usage[UsageUnusable].n, usage[UsageFree].size + usage[UsageUnusable].size}
	if freeAcc.n > 0 {
		s.State = append(s.State, row("MEM_FREE", freeAcc, false))
	}
	for _, st := range []minidump.MemState{minidump.MemCommit, minidump.MemReserve} {
		if a := states.find(st); a != nil {
			s.State = append(s.State, row(st.String(), *a, true))
		}
	}
	prots := append([]minidump.Protect(nil), protects.keys...)
	sort.Slice(prots, func(i, j int) bool {
		a, b := protects.find(prots[i]), protects.find(prots[j])
		if a.size != b.size {
			return a.size > b.size
		}
		return prots[i] < prots[j] // ties in a fixed order, for stable output
	})
	for _, p := range prots {
		name := p.String()
		if name == "" {
			name = fmt.Sprintf("%#x", uint32(p))
		}
		s.Protect = append(s.Protect, row(name, *protects.find(p), true))
	}
	// WinDbg's largest "Free" region is the largest free run, Unusable edges included.
	if s.Free.Largest.Size > 0 {
		largest[UsageFree] = LargestRow{Usage: UsageFree, Base: s.Free.Largest.Base, Size: s.Free.Largest.Size}
	}
	for u := Usage(0); u < numUsages; u++ {
		if largest[u].Size > 0 {
			s.Largest = append(s.Largest, largest[u])
		}
	}
	return s
}

func isFreeName(n string) bool { return n == "Free" || n == "Unusable" }

type acc struct {
	n    int
	size uint64
}

// accList accumulates by key. A dump has a handful of distinct states, types and
// protections, so a short list with the last hit remembered beats a map on the
// per-region hot path.
type accList[K comparable] struct {
	keys []K
	vals []acc
	last int
}

func (l *accList[K]) clone() accList[K] {
	return accList[K]{keys: slices.Clone(l.keys), vals: slices.Clone(l.vals), last: l.last}
}

func (l *accList[K]) find(k K) *acc {
	if l.last < len(l.keys) && l.keys[l.last] == k {
		return &l.vals[l.last]
	}
	for i, x := range l.keys {
		if x == k {
			l.last = i
			return &l.vals[i]
		}
	}
	return nil
}

func (l *accList[K]) get(k K) *acc {
	if a := l.find(k); a != nil {
		return a
	}
	l.keys = append(l.keys, k)
	l.vals = append(l.vals, acc{})
	l.last = len(l.keys) - 1
	return &l.vals[l.last]
}
