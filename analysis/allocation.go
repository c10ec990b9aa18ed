package analysis

import (
	"slices"

	"github.com/dumpmap/dumpmap/minidump"
)

// An Allocation is one reservation: the regions that share an allocation base, as
// VMMap's tree shows them.
type Allocation struct {
	Base      uint64
	Size      uint64 // the whole reservation
	Committed uint64
	Reserved  uint64 // reserved but not committed
	Type      minidump.MemType
	Protect   minidump.Protect // the allocation protection
	Usage     Usage            // the usage of its largest region, Stack/Image/Heap winning
	Detail    string
	// First and Count locate the allocation's regions in Map.Regions.
	First, Count int
}

// End returns the first address past the reservation.
func (a *Allocation) End() uint64 { return a.Base + a.Size }

// Allocations groups the busy regions of a complete map into reservations. Partial
// maps have no allocation bases; each known region is then its own allocation.
func (m *Map) Allocations() []Allocation {
	return slices.Clone(m.allocations())
}

// NumAllocations returns len(m.Allocations()) without copying them.
func (m *Map) NumAllocations() int { return len(m.allocations()) }

func (m *Map) groupAllocations() []Allocation {
	// Sized once for the maps measured: large-200k.dmp has an allocation per four
	// regions, the partial map of a MiniDumpNormal one per captured range, half
	// its regions (the gaps are the other half). A map with more grows the slice.
	out := makeLarge[Allocation](len(m.Regions)/2 + 16)
	m.eachAllocation(func(i, j int) {
		r := &m.Regions[i]
		a := Allocation{Base: r.AllocationBase, Type: r.Type, Protect: r.AllocationProtect, First: i, Count: j - i}
		if r.State == 0 {
			a.Base = r.Base
		}
		for k := i; k < j; k++ {
			switch s := &m.Regions[k]; s.State {
			case minidump.MemCommit:
				a.Committed += s.Size
			case minidump.MemReserve:
				a.Reserved += s.Size
			}
		}
		a.Size = m.Regions[j-1].End() - a.Base
		a.Usage, a.Detail = dominantUsage(m.Regions[i:j])
		out = append(out, a)
	})
	if len(out) == 0 {
		return nil // as the list grown by append was
	}
	return out
}

// eachAllocation calls fn with the regions [i, j) of each allocation, in address
// order: the busy regions that share an allocation base (in a partial map, each
// known region alone).
func (m *Map) eachAllocation(fn func(i, j int)) {
	for i := 0; i < len(m.Regions); i++ {
		r := &m.Regions[i]
		if r.IsFree() || r.Usage == UsageUnknown && r.State == 0 {
			continue
		}
		j := i + 1
		for ; j < len(m.Regions); j++ {
			s := &m.Regions[j]
			if s.IsFree() || r.State == 0 || s.State == 0 || s.AllocationBase != r.AllocationBase {
				break
			}
		}
		fn(i, j)
		i = j - 1
	}
}

// dominantUsage picks the usage that describes an allocation: a special usage (image,
// stack, heap, TEB, PEB) wins over plain private or mapped memory.
func dominantUsage(rs []Region) (Usage, string) {
	best := rs[0].Usage
	detail := rs[0].Detail()
	rank := func(u Usage) int {
		switch u {
		case UsageImage, UsageStack, UsageHeap:
			return 3
		case UsagePEB, UsageTEB:
			return 2
		case UsageMappedFile, UsagePrivate:
			return 1
		}
		return 0
	}
	for _, r := range rs[1:] {
		if rank(r.Usage) > rank(best) {
			best, detail = r.Usage, r.Detail()
		}
	}
	return best, detail
}

// AllocationAt returns the allocation holding address a, or nil for free or unknown
// space. It looks only at the regions around a.
func (m *Map) AllocationAt(a uint64) *Allocation {
	i := m.Find(a)
	if i < 0 || m.Regions[i].IsFree() || m.Regions[i].State == 0 {
		return nil
	}
	ab := m.Regions[i].AllocationBase
	for i > 0 && !m.Regions[i-1].IsFree() && m.Regions[i-1].State != 0 && m.Regions[i-1].AllocationBase == ab {
		i--
	}
	// Allocations groups from the allocation's first region; run it on that stretch.
	j := i
	for j < len(m.Regions) && !m.Regions[j].IsFree() && m.Regions[j].State != 0 && m.Regions[j].AllocationBase == ab {
		j++
	}
	sub := Map{Regions: m.Regions[i:j], Space: m.Space, Source: m.Source}
	al := sub.groupAllocations()
	if len(al) == 0 {
		return nil
	}
	out := al[0]
	out.First += i
	return &out
}
