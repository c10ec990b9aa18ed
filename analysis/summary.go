package analysis

import (
	"fmt"
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

func (m *Map) computeSummary() *Summary {
	s := &Summary{SizeClasses: FreeSizeClasses()}
	addRun := func(f FreeRun) {
		s.Free.add(f)
		for i := range s.SizeClasses {
			c := &s.SizeClasses[i]
			if f.Size >= c.Min && (c.Max == 0 || f.Size < c.Max) {
				c.Runs++
				c.Bytes += f.Size
				c.Usable += f.UsableSize
				break
			}
		}
	}
	// The free runs are gathered in the same pass as the tables: on maps of millions
	// of regions every pass over them counts.
	var runs runGatherer
	usage := make([]acc, numUsages)
	var types accList[minidump.MemType]
	var states accList[minidump.MemState]
	var protects accList[minidump.Protect]
	var commit, reserve acc
	var byType [3]acc
	var byProtect [0x800]acc // every PAGE_* combination but PAGE_TARGETS_INVALID
	largest := make([]LargestRow, numUsages)
	for i := range m.Regions {
		r := &m.Regions[i]
		runs.add(r, addRun)
		s.Total += r.Size
		usage[r.Usage].n++
		usage[r.Usage].size += r.Size
		if r.Size > largest[r.Usage].Size {
			largest[r.Usage] = LargestRow{Usage: r.Usage, Base: r.Base, Size: r.Size}
		}
		if r.Usage == UsageUnknown {
			s.Unknown += r.Size
		}
		if r.IsFree() {
			continue
		}
		s.Busy += r.Size
		// Direct-indexed counters for the common values keep this loop cheap on maps
		// of millions of regions; anything else goes to the lists.
		switch r.State {
		case 0:
		case minidump.MemCommit:
			commit.n++
			commit.size += r.Size
		case minidump.MemReserve:
			reserve.n++
			reserve.size += r.Size
		default:
			a := states.get(r.State)
			a.n++
			a.size += r.Size
		}
		switch r.Type {
		case 0:
		case minidump.MemPrivate:
			byType[0].n++
			byType[0].size += r.Size
		case minidump.MemMapped:
			byType[1].n++
			byType[1].size += r.Size
		case minidump.MemImage:
			byType[2].n++
			byType[2].size += r.Size
		default:
			a := types.get(r.Type)
			a.n++
			a.size += r.Size
		}
		if r.State == minidump.MemCommit {
			var a *acc
			if r.Protect < minidump.Protect(len(byProtect)) {
				a = &byProtect[r.Protect]
			} else {
				a = protects.get(r.Protect)
			}
			a.n++
			a.size += r.Size
		}
	}
	runs.close(addRun)
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
	for p := range byProtect {
		if byProtect[p].n > 0 {
			addAcc(protects.get(minidump.Protect(p)), byProtect[p])
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
