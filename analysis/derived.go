package analysis

import (
	"slices"
	"sync"
	"sync/atomic"

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

// A tablesJob counts the summary's tables (summaryAcc.addTables) of a map's
// regions on another goroutine. NewMap starts it for a map laid out from a
// MemoryInfoList whose layout's own count does not hold (Unavailable ranges, a
// WOW64 process's runs split again, the end of the space inside the list),
// before it classifies the regions and lays the heaps over them:
// those steps change only the usages of busy regions, which the tables do not
// read, and the second core is otherwise idle while they run.
//
// The regions are cut into chunks where no free run continues. The goroutine
// counts them from the front, the summary (Finish) from the back once it has
// counted the usages, until they meet: the two cores end together whatever each
// was slowed by (on a shared machine, one often is).
type tablesJob struct {
	done   chan struct{} // nil: not started
	rs     []Region
	bounds []int         // chunk i is rs[bounds[i]:bounds[i+1]]
	ends   atomic.Uint64 // the chunks not yet claimed: [lo, hi), as lo<<32 | hi
	front  summaryAcc    // the goroutine's chunks, [0, lo)

	once   sync.Once
	tables summaryAcc // all of them, once finish has run
}

// tableChunk is about how many regions a chunk of a tablesJob holds: 0.1 ms of
// counting, so that neither side waits long for the other's last chunk. (A
// variable for the tests.)
var tableChunk = 1 << 13

// tablesJob returns the started job, or nil.
func (d *derived) tablesJob() *tablesJob {
	if d == nil || d.tables.done == nil {
		return nil
	}
	return &d.tables
}

func (j *tablesJob) start(rs []Region) {
	j.rs = rs
	j.bounds = []int{0}
	for k := tableChunk; k < len(rs); {
		c := cutAtBusy(rs, k)
		if c >= len(rs) {
			break
		}
		j.bounds = append(j.bounds, c)
		k = c + tableChunk
	}
	j.bounds = append(j.bounds, len(rs))
	j.ends.Store(uint64(len(j.bounds) - 1))
	j.done = make(chan struct{})
	go func() {
		defer close(j.done)
		j.front.classes = FreeSizeClasses()
		for {
			i, ok := j.claim(true)
			if !ok {
				return
			}
			j.front.addTables(rs[j.bounds[i]:j.bounds[i+1]], true)
		}
	}()
}

// claim takes the next chunk from the front or from the back.
func (j *tablesJob) claim(front bool) (int, bool) {
	for {
		e := j.ends.Load()
		lo, hi := e>>32, e&0xffffffff
		if lo >= hi {
			return 0, false
		}
		next, i := e+1<<32, lo
		if !front {
			next, i = e-1, hi-1
		}
		if j.ends.CompareAndSwap(e, next) {
			return int(i), true
		}
	}
}

// finish counts chunks from the back until the goroutine's and these meet, waits
// for it and returns the tables of all the regions (shared: callers must not
// modify them).
func (j *tablesJob) finish() *summaryAcc {
	j.once.Do(func() {
		// The chunks from the back, counted from the last down: each is counted
		// afresh and followed by what was counted before it, in two accumulators
		// used in turn (each is 34 KB).
		var acc [2]summaryAcc
		back, any := 0, false
		for {
			i, ok := j.claim(false)
			if !ok {
				break
			}
			next := &acc[1-back]
			*next = summaryAcc{}
			next.addTables(j.rs[j.bounds[i]:j.bounds[i+1]], true)
			if any {
				next.merge(&acc[back])
			}
			back, any = 1-back, true
		}
		<-j.done
		j.tables = j.front
		j.tables.classes = slices.Clone(j.front.classes)
		if any {
			j.tables.merge(&acc[back])
		}
	})
	return &j.tables
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
