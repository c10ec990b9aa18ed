package analysis

import (
	"slices"
	"sync"

	"github.com/dumpmap/dumpmap/minidump"
)

// derived holds what the map's readers compute from its regions and ask for
// again and again: the free runs (every Explain, and MaxRequest's bisection makes
// dozens of Explains), the allocations and the summary. The map does not change
// once NewMap returns, so each is computed once, on first use, and shared by
// concurrent readers. Maps not made by NewMap (a literal Map, a sub-map) have no
// derived and compute each time.
type derived struct {
	runsOnce sync.Once
	runs     []FreeRun

	allocsOnce sync.Once
	allocs     []Allocation

	sumOnce sync.Once
	sum     *Summary
	// inc is the summary of Regions[:counted] the layout counted, kept true by
	// retag; incDirty marks the usages whose largest region must be found again
	// (it changed usage).
	inc      *summaryAcc
	counted  int
	incDirty uint32

	wasteOnce  sync.Once
	waste      []WastePattern
	wasteTotal uint64

	mu    sync.Mutex
	rooms map[uint64]*room // findRoom's view of the free space, by limit
}

// cutAtBusy returns the first index from k on where a free run cannot continue
// (a region that is not free space), or len(rs).
func cutAtBusy(rs []Region, k int) int {
	for k < len(rs) && rs[k].IsFree() && rs[k].State == minidump.MemFree && !rs[k].Blocked {
		k++
	}
	return k
}

// retag gives region i usage u, keeping the summary the layout counted true.
func (m *Map) retag(i int, u Usage) {
	r := &m.Regions[i]
	if r.Usage == u {
		return
	}
	if d := m.derived; d != nil && d.inc != nil && i < d.counted {
		switch {
		case r.Usage.IsFree() != u.IsFree():
			d.inc = nil // not a change classification makes: count afresh
		case !d.inc.retag(r, u):
			d.incDirty |= 1 << r.Usage
		}
	}
	r.Usage = u
}

// freeRuns returns the free runs, shared: callers must not modify the slice.
func (m *Map) freeRuns() []FreeRun {
	if m.derived == nil {
		return m.gatherFreeRuns()
	}
	m.derived.runsOnce.Do(func() { m.derived.runs = m.gatherFreeRuns() })
	return m.derived.runs
}

// allocations returns the allocations, shared: callers must not modify the slice.
func (m *Map) allocations() []Allocation {
	if m.derived == nil {
		return m.groupAllocations()
	}
	m.derived.allocsOnce.Do(func() { m.derived.allocs = m.groupAllocations() })
	return m.derived.allocs
}

// summary returns the summary, shared: callers must not modify it.
func (m *Map) summary() *Summary {
	if m.derived == nil {
		return m.computeSummary()
	}
	m.derived.sumOnce.Do(func() { m.derived.sum = m.computeSummary() })
	return m.derived.sum
}

// granularityWaste returns the waste patterns of the map's allocations, shared:
// callers must not modify the slice.
func (m *Map) wastePatterns() ([]WastePattern, uint64) {
	if m.derived == nil {
		return m.granularityWaste(m.allocations())
	}
	d := m.derived
	d.wasteOnce.Do(func() { d.waste, d.wasteTotal = m.granularityWaste(m.allocations()) })
	return d.waste, d.wasteTotal
}

// clone returns a copy of s that shares nothing with it.
func (s *Summary) clone() *Summary {
	c := *s
	c.Usage = slices.Clone(s.Usage)
	c.Type = slices.Clone(s.Type)
	c.State = slices.Clone(s.State)
	c.Protect = slices.Clone(s.Protect)
	c.Largest = slices.Clone(s.Largest)
	c.SizeClasses = slices.Clone(s.SizeClasses)
	return &c
}
