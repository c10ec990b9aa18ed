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
	tables  tablesJob // the summary's tables, counted as NewMap classifies

	wasteOnce  sync.Once
	waste      []WastePattern
	wasteTotal uint64

	mu    sync.Mutex
	rooms map[uint64]*room // findRoom's view of the free space, by limit
}

// A tablesJob counts the summary's tables (summaryAcc.addTables) of the first
// part of a map's regions on another goroutine. NewMap starts it for a map laid
// out from a MemoryInfoList before it classifies the regions and lays the heaps
// over them: those steps change only the usages of busy regions, which the
// tables do not read, and the second core is otherwise idle while they run. The
// summary counts the rest and the usages meanwhile. The first part is 70%: the
// goroutine starts a little before the summary (classify and the heaps take
// 0.3 ms on a map of 200,000 regions), and the usages are about a quarter of
// the tables' cost.
type tablesJob struct {
	done chan struct{} // nil: not started
	cut  int           // the job counts the regions before cut
	acc  summaryAcc
}

// tablesJob returns the started job, or nil.
func (d *derived) tablesJob() *tablesJob {
	if d == nil || d.tables.done == nil {
		return nil
	}
	return &d.tables
}

func (j *tablesJob) start(rs []Region) {
	j.cut = cutAtBusy(rs, len(rs)*7/10)
	j.done = make(chan struct{})
	go func() {
		defer close(j.done)
		j.acc.addTables(rs[:j.cut], true)
	}()
}

// cutAtBusy returns the first index from k on where a free run cannot continue
// (a region that is not free space), or len(rs).
func cutAtBusy(rs []Region, k int) int {
	for k < len(rs) && rs[k].IsFree() && rs[k].State == minidump.MemFree && !rs[k].Blocked {
		k++
	}
	return k
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
