package analysis

import (
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/dustin/go-humanize"
)

// Via is the allocation path a request takes.
type Via string

// Allocation paths.
const (
	ViaVirtualAlloc Via = "virtualalloc" // VirtualAlloc(MEM_RESERVE|MEM_COMMIT)
	ViaReserve      Via = "reserve"      // VirtualAlloc(MEM_RESERVE)
	ViaHeap         Via = "heap"         // HeapAlloc on a heap (the process heap by default)
	ViaMalloc       Via = "malloc"       // malloc/new: HeapAlloc on the C runtime's heap
	ViaVector       Via = "vector"       // std::vector growth: a new buffer while the old is held
)

// ParseVia accepts the path names and a few synonyms ("new", "heapalloc", "va").
func ParseVia(s string) (Via, bool) {
	switch normalize(s) {
	case "virtualalloc", "va", "commit":
		return ViaVirtualAlloc, true
	case "reserve", "memreserve":
		return ViaReserve, true
	case "heap", "heapalloc":
		return ViaHeap, true
	case "malloc", "new", "operatornew":
		return ViaMalloc, true
	case "vector", "stdvector":
		return ViaVector, true
	}
	return "", false
}

// Verdict is the answer to "would this allocation have succeeded?".
type Verdict string

// Verdicts.
const (
	Succeed Verdict = "succeed"
	Fail    Verdict = "fail"
	// Depends: the dump lacks the fact that decides; Explanation.Condition says which.
	Depends Verdict = "depends"
)

// Request is an allocation to explain.
type Request struct {
	Size uint64
	Via  Via
	// Heap names the heap for ViaHeap (0: the process heap).
	Heap uint64
	// ElementSize and Growth describe a vector: Size is the current buffer, the growth
	// asks for a new one Growth times larger ("msvc": 1.5x, "libstdc++": 2x).
	ElementSize uint64
	Growth      string
	// Below restricts the allocation to addresses below this one (NtAllocateVirtualMemory's
	// ZeroBits, or a 32-bit allocator in a 64-bit process); 0 means no restriction.
	Below uint64
	// NewSize is, for ViaVector, the new buffer's size as the crash recorded it
	// (its operator new call's argument): the growth rule is then not applied.
	NewSize uint64
	// AnyHeap is set, for ViaHeap, when the dump does not say which heap was
	// asked: the request is decided for every heap the dump shows.
	AnyHeap bool
	// Failed says the crash shows this request failing. Where the dump's facts
	// leave room for it, the failure came from a limit the dump does not record
	// (commit, a job, memory freed before the dump was written), so the verdict
	// is Depends on that, not Succeed.
	Failed bool
}

// NearMiss is a free run that came close, and why it could not take the request.
type NearMiss struct {
	Run FreeRun
	Why string
}

// Explanation is the verdict and the chain of reasons behind it.
type Explanation struct {
	Request Request
	Verdict Verdict
	// Condition says what a Depends verdict depends on.
	Condition string
	// Steps is the explanation, step by step, as values; Reasons holds the same
	// steps in words (each step's Text).
	Steps   []Step
	Reasons []string

	// Reservation is the 64 KB-aligned address space the request needs at the last
	// step (0 when it needs none).
	Reservation uint64
	// Candidates are free runs that could take the reservation (the first few).
	Candidates []FreeRun
	// CandidateCount counts all of them.
	CandidateCount int
	NearMisses     []NearMiss
	// Unknown lists what the dump could not show that would change the verdict.
	Unknown []string
	// Remedies says what would have made the request succeed.
	Remedies []string
	// Heap is the heap the request went to, when it went to one.
	Heap *Heap

	quick bool
}

// step records a step of the explanation, with its words.
func (e *Explanation) step(s Step) {
	e.Steps = append(e.Steps, s)
	e.Reasons = append(e.Reasons, s.Text())
}

// ib formats a size the way the report does.
func ib(n uint64) string { return humanize.IBytes(n) }

// Explain decides whether req would have succeeded in the address space of m, with
// the heaps the map found, and says why.
func (m *Map) Explain(req Request) *Explanation {
	return m.explain(req, m.Heaps, false)
}

// explain is Explain; quick skips the near misses and remedies, for MaxRequest's
// search.
func (m *Map) explain(req Request, heaps *HeapSet, quick bool) *Explanation {
	e := &Explanation{Request: req, quick: quick}
	if m.Partial {
		e.Unknown = append(e.Unknown, "the dump has no MemoryInfoList, so its free space is unknown: the verdict assumes none")
	}
	switch req.Via {
	case ViaReserve:
		m.explainReserve(e, req.Size, false)
	case ViaHeap, ViaMalloc:
		if req.Via == ViaHeap && req.AnyHeap {
			m.explainAnyHeap(e, heaps)
			break
		}
		m.explainHeapAlloc(e, req.Size, heaps)
	case ViaVector:
		m.explainVector(e, heaps)
	default:
		e.Request.Via = ViaVirtualAlloc
		m.explainReserve(e, req.Size, true)
	}
	if m.Partial && e.Verdict == Fail {
		e.Verdict = Depends
		e.Condition = "whether the process had a large enough free block: the dump does not describe its free space"
	}
	if req.Failed && e.Verdict == Succeed {
		st := RecordedFailureStep{CommitRecorded: m.Commit != nil}
		e.step(st)
		e.Verdict = Depends
		e.Condition = st.condition()
	}
	return e
}

// limit returns the highest address + 1 a request may use.
func (m *Map) limit(below uint64) uint64 {
	end := m.Space.End
	if below != 0 && below < end {
		end = below
	}
	return end
}

// usable returns the usable part of a run under a limit.
func (m *Map) usable(f FreeRun, limit uint64) (base, size uint64) {
	lo := max(alignUp(f.Base, m.Space.Granularity), alignUp(m.Space.MinAddress, m.Space.Granularity))
	hi := alignDown(min(f.End(), limit), m.Space.Granularity)
	if hi <= lo {
		return 0, 0
	}
	return lo, hi - lo
}

// explainReserve explains a VirtualAlloc reservation (and commit) of size bytes.
func (m *Map) explainReserve(e *Explanation, size uint64, commit bool) {
	s := &m.Space
	pages := alignUp(max(size, 1), s.PageSize)
	what := "VirtualAlloc(MEM_RESERVE|MEM_COMMIT)"
	if !commit {
		what = "VirtualAlloc(MEM_RESERVE)"
	}
	tail := alignUp(pages, s.Granularity) - pages
	e.step(ReserveStep{Call: what, Size: size, Reserved: pages, PageSize: s.PageSize, Granularity: s.Granularity, Tail: tail})
	m.findRoom(e, pages, "it")
	if commit && e.Verdict == Succeed {
		m.checkCommit(e, pages)
	}
}

// checkCommit decides whether committing bytes fits the commit limits the dump
// records (SystemMemoryInfo's system commit limit and charge, ProcessVmCounters'
// job limit and the process's private bytes, as they were when the dump was
// written, moments after the failure): a request the address space can take
// still fails when commit cannot be charged. Without those streams the commit
// side is listed as unknown.
func (m *Map) checkCommit(e *Explanation, bytes uint64) {
	c := m.Commit
	if c == nil || (c.SystemCommitLimit == 0 && c.JobCommitLimit == 0) {
		e.Unknown = append(e.Unknown, "the system's commit charge: committing "+ib(bytes)+" also needs room in the commit limit (RAM + page file), which this dump does not record (no SystemMemoryInfo or ProcessVmCounters)")
		return
	}
	st := CommitStep{Need: bytes, Source: c.Source}
	if c.SystemCommitLimit != 0 {
		st.SystemCommitted, st.SystemLimit = c.SystemCommitted, c.SystemCommitLimit
		if c.SystemCommitted >= c.SystemCommitLimit || bytes > c.SystemCommitLimit-c.SystemCommitted {
			st.Fails = "system"
		}
	}
	if c.JobCommitLimit != 0 && st.Fails == "" {
		st.ProcessPrivate, st.JobLimit = c.ProcessPrivate, c.JobCommitLimit
		if c.ProcessPrivate >= c.JobCommitLimit || bytes > c.JobCommitLimit-c.ProcessPrivate {
			st.Fails = "job"
		}
	}
	e.step(st)
	if st.Fails != "" {
		e.Verdict = Fail
		e.Remedies = append(e.Remedies, "more commit: a larger page file or more RAM (or a higher job limit), or freeing committed memory; the address space was not the limit")
	}
}

// findRoom decides whether a reservation of need bytes fits and fills in the verdict,
// candidates, near misses and remedies.
func (m *Map) findRoom(e *Explanation, need uint64, subject string) {
	s := &m.Space
	e.Reservation = need
	limit := m.limit(e.Request.Below)
	rm := m.room(limit)
	if need <= rm.maxUsable {
		for i, u := range rm.usable {
			if u >= need {
				e.CandidateCount++
				if len(e.Candidates) < 5 {
					f := rm.runs[i]
					e.Candidates = append(e.Candidates, FreeRun{Base: f.Base, Size: f.Size, UsableBase: rm.usableBase[i], UsableSize: u})
				}
			}
		}
	}
	var below Addr
	if e.Request.Below != 0 {
		below = Addr(limit)
	}
	if e.CandidateCount > 0 {
		e.Verdict = Succeed
		e.step(FitStep{Subject: subject, Below: below, Count: e.CandidateCount, Granularity: s.Granularity, Need: need, First: e.Candidates[0]})
		return
	}
	e.Verdict = Fail
	e.step(NoFitStep{Subject: subject, Below: below, Free: rm.total, Runs: len(rm.runs), Granularity: s.Granularity, Need: need, Largest: rm.largest})
	if e.quick {
		return
	}
	m.explainMisses(e, rm, need, limit)
	m.remedies(e, need, rm.usableTotal, rm.largest)
}

// A room is the free space below a limit as findRoom weighs it: the free runs that
// start below the limit, the usable part of each, and their sums. MaxRequest's
// bisection asks dozens of times for the same limit; the map keeps one room per
// limit (derived.rooms).
type room struct {
	runs               []FreeRun // the runs starting below the limit (shared: read only)
	usableBase, usable []uint64  // each run's usable part below the limit
	maxUsable          uint64
	total, usableTotal uint64
	largest            FreeRun // the first run with the largest usable part

	missOnce sync.Once
	miss     *missGroups
}

func (m *Map) room(limit uint64) *room {
	if d := m.derived; d != nil {
		d.mu.Lock()
		defer d.mu.Unlock()
		if rm := d.rooms[limit]; rm != nil {
			return rm
		}
		rm := m.newRoom(limit)
		if d.rooms == nil {
			d.rooms = map[uint64]*room{}
		}
		if len(d.rooms) < 64 {
			d.rooms[limit] = rm
		}
		return rm
	}
	return m.newRoom(limit)
}

func (m *Map) newRoom(limit uint64) *room {
	all := m.freeRuns()
	// Runs are in address order: those at or above the limit are a suffix.
	n := 0
	for n < len(all) && all[n].Base < limit {
		n++
	}
	rm := &room{runs: all[:n:n], usableBase: make([]uint64, n), usable: make([]uint64, n)}
	for i, f := range rm.runs {
		rm.total += min(f.End(), limit) - f.Base
		b, u := m.usable(f, limit)
		rm.usableBase[i], rm.usable[i] = b, u
		rm.usableTotal += u
		if u > rm.largest.UsableSize || rm.largest.Size == 0 {
			rm.largest = FreeRun{Base: f.Base, Size: f.Size, UsableBase: b, UsableSize: u}
		}
		rm.maxUsable = max(rm.maxUsable, u)
	}
	return rm
}

func sizeOrNone(n, at uint64) string {
	if n == 0 {
		return "none: not one such block is left"
	}
	return fmt.Sprintf("%s at %#x", ib(n), at)
}

// explainMisses names the free runs that came closest, and the patterns that made
// most free space unusable.
func (m *Map) explainMisses(e *Explanation, rm *room, need, limit uint64) {
	s := &m.Space
	g := s.Granularity
	gr := rm.groups(m, limit)
	for _, f := range gr.atZero {
		at := fmt.Sprintf("%#x", f.Base)
		if f.Base == 0 {
			at = "0"
		}
		e.NearMisses = append(e.NearMisses, NearMiss{Run: f, Why: fmt.Sprintf("the %s at address %s is below the lowest allocatable address %#x: never allocatable", ib(f.Size), at, s.MinAddress)})
	}
	if len(gr.tails) > 0 {
		e.step(TailsStep{Count: len(gr.tails), Bytes: gr.tailBytes, Granularity: g, Common: gr.common, CommonCount: gr.commonCount, Example: gr.example})
		for i, f := range gr.tails {
			if i == 3 {
				break
			}
			e.NearMisses = append(e.NearMisses, NearMiss{Run: f, Why: fmt.Sprintf("%s, but it starts %s past a %s boundary and ends before the next one", ib(f.Size), ib(f.Base%g), ib(g))})
		}
	}
	for _, f := range gr.closest {
		b, u := m.usable(f, limit)
		e.NearMisses = append(e.NearMisses, NearMiss{Run: FreeRun{Base: f.Base, Size: f.Size, UsableBase: b, UsableSize: u},
			Why: fmt.Sprintf("%s usable from %#x, %s short of the %s needed", ib(u), b, ib(need-u), ib(need))})
	}
	if len(gr.closest) > 0 {
		f := gr.closest[0]
		b, u := m.usable(f, limit)
		e.step(ClosestMissStep{Run: FreeRun{Base: f.Base, Size: f.Size, UsableBase: b, UsableSize: u}, Need: need})
	}
}

// missGroups sorts the free runs below a limit by why a request that none of them
// can hold fails there: below the lowest allocatable address, a tail too short to
// hold one aligned block, or usable but too small (the closest of them: the three
// whose runs hold the most usable space, the first on a tie). None of it depends
// on the request's size, so a room keeps it for every request that fails.
type missGroups struct {
	atZero, tails []FreeRun
	tailBytes     uint64
	common        uint64 // the most common tail size (the largest on a tie)
	commonCount   int
	example       FreeRun // the first tail of the common size
	closest       []FreeRun
}

func (rm *room) groups(m *Map, limit uint64) *missGroups {
	rm.missOnce.Do(func() {
		s := &m.Space
		g := s.Granularity
		gr := &missGroups{}
		counts := map[uint64]int{}
		for i, f := range rm.runs {
			u := rm.usable[i]
			switch {
			case f.End() <= alignUp(s.MinAddress, g):
				gr.atZero = append(gr.atZero, f)
			case u == 0:
				f.Size = min(f.End(), limit) - f.Base // only the part the request may use
				gr.tails = append(gr.tails, f)
				gr.tailBytes += f.Size
				counts[f.Size]++
			default:
				// The three largest by the run's usable size, earlier first on a tie.
				k := len(gr.closest)
				for k > 0 && gr.closest[k-1].UsableSize < f.UsableSize {
					k--
				}
				if k < 3 {
					gr.closest = slices.Insert(gr.closest, k, f)
					gr.closest = gr.closest[:min(len(gr.closest), 3)]
				}
			}
		}
		for sz, c := range counts {
			if c > gr.commonCount || c == gr.commonCount && sz > gr.common {
				gr.common, gr.commonCount = sz, c
			}
		}
		if len(gr.tails) > 0 {
			gr.example = gr.tails[0]
			for _, f := range gr.tails {
				if f.Size == gr.common {
					gr.example = f
					break
				}
			}
		}
		rm.miss = gr
	})
	return rm.miss
}

// remedies says what would have made a reservation of need bytes fit.
func (m *Map) remedies(e *Explanation, need, usableTotal uint64, largest FreeRun) {
	g := m.Space.Granularity
	n, first, smallest := m.releasable(need, m.limit(e.Request.Below))
	switch {
	case n > 0:
		e.Remedies = append(e.Remedies, fmt.Sprintf("releasing any one of %s reservations would leave room: each sits between free runs that, joined, hold a %s-aligned block of %s; the smallest is the %s %s reservation at %#x (the first at %#x)",
			humanize.Comma(int64(n)), ib(g), ib(need), ib(smallest.Size), strings.ToLower(smallest.Usage.String()), smallest.Base, first.Base))
	case usableTotal >= need:
		e.Remedies = append(e.Remedies, fmt.Sprintf("%s of usable free space exists in pieces; one contiguous %s block is needed: releasing the reservations that split the largest block (%s at %#x) or reserving large blocks early would make room", ib(usableTotal), ib(need), ib(largest.UsableSize), largest.UsableBase))
	default:
		e.Remedies = append(e.Remedies, fmt.Sprintf("at least %s more of contiguous, %s-aligned address space must be released", ib(need-largest.UsableSize), ib(g)))
	}
	waste, total := m.wastePatterns()
	if len(waste) > 0 && total > 0 {
		w := waste[0]
		e.Remedies = append(e.Remedies, fmt.Sprintf("%s; sub-allocating them from larger reservations (or a heap) instead of separate VirtualAlloc calls would give that space back", w.Describe()))
	}
	if m.Space.PointerSize == 4 && m.Space.MaxAddress < 0xfffeffff {
		e.Remedies = append(e.Remedies, "linking the executable /LARGEADDRESSAWARE would give the process 4 GB under 64-bit Windows (3 GB with /3GB on 32-bit Windows); building it for 64 bits removes the limit")
	}
}

// explainVector explains a std::vector growth.
func (m *Map) explainVector(e *Explanation, heaps *HeapSet) {
	r := e.Request
	elem := max(r.ElementSize, 1)
	oldCount := r.Size / elem
	if oldCount == 0 {
		oldCount = 1
	}
	var newCount uint64
	growth := strings.ToLower(r.Growth)
	switch growth {
	case "libstdc++", "libstdcxx", "gcc", "libc++", "clang", "2", "2x":
		newCount = oldCount * 2
		growth = "libstdc++ doubles the capacity"
	default:
		newCount = oldCount + oldCount/2
		if newCount == oldCount {
			newCount++
		}
		growth = "MSVC's std::vector grows the capacity by half"
	}
	newBytes := newCount * elem
	if r.NewSize != 0 {
		// The crash recorded the new buffer's size: take it as it was asked.
		newBytes, newCount = r.NewSize, r.NewSize/elem
		growth = "the crash recorded the new buffer's size"
	}
	e.step(VectorStep{OldBytes: oldCount * elem, OldCount: oldCount, ElementSize: elem, Growth: growth, NewCount: newCount, NewBytes: newBytes})
	m.explainHeapAlloc(e, newBytes, heaps)
}

// MaxRequest returns the largest request size that would still succeed by the given
// path, found by bisection over Explain's own verdicts (so it agrees with them), and
// whether any size succeeds at all. A verdict of Depends counts as not succeeding.
func (m *Map) MaxRequest(req Request) (uint64, bool) {
	heaps := m.Heaps
	ok := func(n uint64) bool {
		r := req
		r.Size = n
		return m.explain(r, heaps, true).Verdict == Succeed
	}
	if !ok(1) {
		return 0, false
	}
	lo, hi := uint64(1), m.Space.End // ok(lo), and nothing larger than the space fits
	for hi-lo > 1 {
		mid := lo + (hi-lo)/2
		if ok(mid) {
			lo = mid
		} else {
			hi = mid
		}
	}
	return lo, true
}

// releasable counts the allocations whose release would join the free space around
// them into a usable block of need bytes below limit, and returns the first and the
// smallest of them.
func (m *Map) releasable(need, limit uint64) (n int, first, smallest Allocation) {
	for _, a := range m.allocations() {
		if a.End() > limit || a.Usage == UsageImage || a.Usage == UsageStack || a.Usage == UsageTEB || a.Usage == UsagePEB {
			continue
		}
		lo, hi := a.Base, a.End()
		if i := m.findNear(a.First-1, lo-1); lo > 0 && i >= 0 && m.Regions[i].IsFree() && !m.Regions[i].Blocked {
			for i >= 0 && m.Regions[i].IsFree() && !m.Regions[i].Blocked {
				lo = m.Regions[i].Base
				i--
			}
		}
		if i := m.findNear(a.First+a.Count, hi); i >= 0 && m.Regions[i].IsFree() && !m.Regions[i].Blocked {
			for i < len(m.Regions) && m.Regions[i].IsFree() && !m.Regions[i].Blocked {
				hi = m.Regions[i].End()
				i++
			}
		}
		if _, u := m.usable(FreeRun{Base: lo, Size: hi - lo}, limit); u >= need {
			if n == 0 {
				first, smallest = a, a
			}
			if a.Size < smallest.Size {
				smallest = a
			}
			n++
		}
	}
	return n, first, smallest
}
