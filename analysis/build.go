package analysis

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"unsafe"

	"github.com/dumpmap/dumpmap/analysis/process"
	"github.com/dumpmap/dumpmap/internal/keysort"
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
	// NoHeaps leaves the heaps out: no heap is looked for and no region is marked
	// Heap (batch triage, which needs only the free space, saves the work).
	NoHeaps bool
	// Context bounds the symbol lookups the heap identification may make (PDBs
	// from HTTP symbol servers); nil means no bound.
	Context context.Context
}

// An AddrRange is a half-open range of addresses [Start, End).
type AddrRange struct{ Start, End uint64 }

// NewMap rebuilds the address space of process p. With a MemoryInfoList the map is
// complete; without one it is built from the Linux /proc/self/maps stream, or else
// from the captured memory, modules and thread stacks and marked Partial. The
// process's heaps are then found (FindHeaps' methods, with the symbols and images
// p's options name) and laid over the regions, so every reader of the map sees the
// same Heap usage. Damage in the streams it reads is recorded in Damage (and p's);
// NewMap fails only when the dump holds nothing to build a map from.
func NewMap(p *process.Process, opt Options) (*Map, error) {
	m := &Map{whys: &whyCache{m: map[uint64]string{}}, derived: &derived{}}
	f := p.File()
	si, _ := p.SystemInfo()
	smi, _ := p.SystemMemoryInfo()
	// One pass over the MemoryInfoList lays its entries out and measures how far the
	// walk reaches, which the limits of the address space depend on; clipping to those
	// limits comes after. The pass needs only to know whether addresses are 32-bit (to
	// undo sign extension) and where free runs split, so it runs while the other
	// streams are read: on a dump of 200,000 regions and 2,000 modules that hides the
	// module list's cost on a second core.
	var endLayout func() *layout
	names := new(atomic.Pointer[imageNamer])
	if f.HasStream(minidump.StreamMemoryInfoList) {
		narrow := si != nil && si.Arch.PointerSize() == 4 // WOW64 needs a 64-bit SystemInfo
		// The granularity and the lowest address come from SystemInfo and
		// SystemMemoryInfo (only WOW64, known from the modules, can move the lowest
		// address; finish then splits again), so free runs are split as they close.
		pre := addressSpace(dumpFacts{si: si, smi: smi})
		endLayout = beginLayout(m, narrow, pre.Granularity, alignUp(pre.MinAddress, pre.Granularity), f, names)
	}
	mods := p.ModuleList()
	// The layout names the images it writes from here on.
	namer := newImageNamer(mods)
	if !sweepImages {
		names.Store(namer)
	}
	mem := p.Memory()
	m.mem = mem
	vm, _ := p.VMCounters()
	m.Commit = commitInfo(vm, smi)
	unloaded, _ := p.UnloadedModules()
	threads, _ := p.Threads()
	wow := p.WOW64().Is
	laa, laaWhy := p.LargeAddressAware()
	var lay *layout
	if endLayout != nil {
		lay = endLayout()
	}
	d := dumpFacts{si: si, smi: smi, wow64: wow, laa: laa, laaWhy: laaWhy}
	if lay != nil {
		m.Damage = append(m.Damage, lay.damage...)
		m.Notes = append(m.Notes, lay.notes...)
		d.walk = &lay.walk
	}
	m.Space = addressSpace(d)
	if opt.Native && wow && p.DumpPointerSize() == 8 {
		m.Space.PointerSize = 8
		m.Space.WOW64 = false
		native := addressSpace(dumpFacts{si: si, smi: smi})
		m.Space.MinAddress, m.Space.MaxAddress, m.Space.End, m.Space.LimitsFrom = native.MinAddress, native.MaxAddress, native.End, native.LimitsFrom
		m.note(NoteNativeView, "WOW64 process shown in its native 64-bit view")
	}
	if si == nil {
		m.note(NoteNoSystemInfo, "no SystemInfo stream: assumed a 64-bit Windows process")
	}
	if opt.Below != 0 && opt.Below-1 < m.Space.MaxAddress {
		if opt.Below <= m.Space.MinAddress {
			return nil, fmt.Errorf("the limit %#x is below the lowest user address %#x", opt.Below, m.Space.MinAddress)
		}
		m.Space.MaxAddress, m.Space.End = opt.Below-1, opt.Below
		m.Space.LimitsFrom = fmt.Sprintf("the given limit: only addresses below %#x", opt.Below)
		m.note(NoteBelow, fmt.Sprintf("the map ends at %#x as asked; what lies above is not shown", opt.Below))
	}

	switch {
	case lay != nil && lay.walk.entries > 0:
		m.Source = SourceMemoryInfoList
		lay.finish()
	case f.HasStream(minidump.StreamLinuxMaps):
		text, err := f.Text(minidump.StreamLinuxMaps)
		if err != nil && !errors.Is(err, minidump.ErrNoStream) {
			m.Damage = append(m.Damage, err)
		}
		m.Source = SourceLinuxMaps
		if err := m.fromLinuxMaps(text); err != nil {
			m.note(NoteLinuxMapsUnusable, "LinuxMaps stream unusable: "+err.Error())
			m.Source = SourceCaptured
			m.Partial = true
			if err := m.fromCaptured(mem, mods, threads); err != nil {
				return nil, err
			}
		}
	default:
		m.Source = SourceCaptured
		m.Partial = true
		if err := m.fromCaptured(mem, mods, threads); err != nil {
			return nil, err
		}
	}
	if m.Source != SourceMemoryInfoList {
		m.splitFree()
	}
	if len(opt.Unavailable) > 0 {
		m.markUnavailable(opt.Unavailable)
	}
	// The layout's positions hold (where its Image regions are, how many of
	// its regions it counted): finish moves only free runs and what lies past
	// the end, where no position is used; Unavailable ranges and another split
	// of the runs move them.
	positionsHold := m.Source == SourceMemoryInfoList && len(opt.Unavailable) == 0 && !lay.resplit
	var images []int
	if positionsHold {
		images = lay.images
	}
	// The summary the layout counted holds while finish left its regions alone;
	// classify and the heaps keep it true as they change usages (retag). Where it
	// does not hold (Unavailable ranges, a WOW64 process's runs split again, the
	// end of the space inside the list), the summary counts every region.
	if positionsHold && lay.inc != nil && lay.firstChanged >= lay.counted && !noLayoutSummary {
		m.derived.inc, m.derived.counted = lay.inc, lay.counted
	}
	m.classify(namer, unloaded, threads, mem, p.DumpPointerSize(), wow, images, positionsHold)
	if opt.NoHeaps {
		m.Heaps = &HeapSet{}
	} else {
		ctx := opt.Context
		if ctx == nil {
			ctx = context.Background()
		}
		// The heaps are found on the classified map and laid over it in this one
		// step: nothing reads the map before it is complete.
		m.Heaps = m.findHeaps(ctx, p)
	}
	return m, nil
}

// layout turns the MemoryInfoList entries into the region list in one streaming pass
// over the file in address order, which merges adjacent free entries, splits each
// free run into its Unusable and Free parts as soon as the next entry closes it, fills
// gaps with Unknown, trims overlaps and measures the walk (newLayout). The end of the
// address space depends on that walk, so finish, once the limits are known, only
// clips at the end and re-splits the one free run that crosses it. Only entries that
// are not in address order make it read the whole list and sort it.
type layout struct {
	m             *Map
	out           []Region
	narrow        bool
	cur, prevBase uint64
	inFree        bool // out's last region is a free run still open
	top           bool // cur wrapped: the layout reaches 2^64
	// gran and minA (the lowest allocatable address, aligned) split free runs during
	// the pass; gran 0 leaves every run whole for finish (the reference path of tests).
	gran, minA uint64
	walk       walkStats
	// names, once the modules are read, names the Image regions as they are
	// laid out (nameNext is its place in the modules); images lists where in out
	// the others are, so that classify names them without reading every region.
	names    *atomic.Pointer[imageNamer]
	nameNext int
	images   []int
	// inc counts the summary of out[:counted] as the regions become final (a busy
	// region when it is appended, a free run's pieces when the run is split): they
	// are in the cache then, and the summary is left to count only the regions
	// after counted and the usages classification changes (derived.inc). nil: not
	// counted. incStop: nothing more is counted (a run reaching 2^64, which finish
	// splits); ending: the run end closes is the last, which finish may split again.
	inc                                           *summaryAcc
	counted                                       int
	incStop                                       bool
	ending                                        bool
	firstChanged                                  int // finish changed or dropped nothing before this region
	signExtended, overlaps, gaps, merged, outside int
	unsorted, sorting, resplit                    bool
	// notes and damage collect what newLayout has to say: it runs beside NewMap's
	// other reads and must not touch m.
	notes  []Note
	damage []error
}

// newLayout lays the MemoryInfoList of f out (beginLayout and its end, one after
// the other).
func newLayout(m *Map, narrow bool, gran, minA uint64, f *minidump.File) *layout {
	return beginLayout(m, narrow, gran, minA, f, nil)()
}

// beginLayout starts laying the MemoryInfoList of f out on another goroutine and
// returns the function that completes it: called on the caller's goroutine once
// that has done its other reads, it lays out the second half of a long list there
// (addSplit), waits for the first and returns the layout. The work is thus split in
// exactly two streams for two cores: a third runnable goroutine would wait in the
// scheduler's queue, not share a core, and whichever stream it delayed would delay
// the map.
func beginLayout(m *Map, narrow bool, gran, minA uint64, f *minidump.File, names *atomic.Pointer[imageNamer]) func() *layout {
	l := &layout{m: m, narrow: narrow, gran: gran, minA: minA, names: names, inc: newSummaryAcc()}
	n, err := f.MemoryInfoCount()
	if err == nil {
		// Room for the splits of the free runs: a region per entry and a quarter
		// more (real dumps have 15-20% more regions than entries; a list that needs
		// more grows the slice). Room that is never written costs no memory, but the
		// whole capacity counts towards the heap size that starts a collection.
		l.out = makeRegions(n + n/4 + 8)
	}
	full := l.out
	intact := err == nil && f.Stream(minidump.StreamMemoryInfoList).Damage == nil
	if intact && n >= splitMin && runtime.GOMAXPROCS(0) >= 2 {
		join := l.addSplit(f, n)
		return func() *layout {
			if !join() {
				l = &layout{m: m, narrow: narrow, gran: gran, minA: minA, out: full, inc: newSummaryAcc()}
				l.scan(f)
			}
			return l.end(f)
		}
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		l.scan(f)
		l.nameRecorded()
	}()
	return func() *layout {
		<-done
		return l.end(f)
	}
}

// scan lays the whole list out in one pass.
func (l *layout) scan(f *minidump.File) {
	_, err := f.ScanMemoryInfo(func(batch []minidump.MemoryInfo) bool {
		for i := range batch {
			if !l.add(&batch[i]) {
				return false
			}
		}
		return true
	})
	if err != nil && !errors.Is(err, minidump.ErrNoStream) {
		l.damage = append(l.damage, process.Flatten(err)...)
	}
}

// end completes a layout whose pass is over: a list found out of address order is
// read whole, sorted and laid out again, and the last free run is closed.
func (l *layout) end(f *minidump.File) *layout {
	if l.unsorted {
		narrow := l.narrow
		list, _ := f.MemoryInfo()
		ext := 0
		for i := range list {
			if narrow && list[i].BaseAddress>>32 == 0xffffffff {
				ext++
			}
			list[i].BaseAddress, list[i].AllocationBase = l.fix(list[i].BaseAddress), l.fix(list[i].AllocationBase)
		}
		keysort.Stable(list, func(e *minidump.MemoryInfo) uint64 { return e.BaseAddress })
		notes := append(l.notes, Note{NoteUnsorted, "MemoryInfoList entries were not in address order"})
		l = &layout{m: l.m, narrow: narrow, gran: l.gran, minA: l.minA, out: make([]Region, 0, len(list)+len(list)/2+8), sorting: true, signExtended: ext, notes: notes, damage: l.damage, inc: newSummaryAcc()}
		for i := range list {
			l.add(&list[i])
		}
	}
	l.ending = true
	l.closeRun()
	return l
}

// makeRegions returns an empty region slice with room for n regions, backed by
// huge pages where the system allows (adviseHuge).
func makeRegions(n int) []Region { return makeLarge[Region](n) }

// makeLarge returns an empty slice with room for n elements, backed by huge pages
// where the system allows when it is large (adviseHuge): the lists a map derives
// from its regions are megabytes written once, in pages the process never had.
//
// A huge page backs only a 2 MiB-aligned stretch of 2 MiB that lies wholly in
// the advised range; the rest of a slice at an arbitrary address is faulted in
// 4 KiB pages, which on a map of 200,000 regions was a tenth of the layout's
// time. So a large slice is allocated with room to start at a 2 MiB boundary and
// to end on one: the few megabytes of address space more are never touched.
func makeLarge[T any](n int) []T {
	var zero T
	size, page := unsafe.Sizeof(zero), uintptr(hugePage)
	if page == 0 || size == 0 || uintptr(n)*size < hugeMin {
		return make([]T, 0, n)
	}
	slack := int(2 * page / size)
	buf := make([]T, 0, n+slack+1)
	base := uintptr(unsafe.Pointer(unsafe.SliceData(buf)))
	aligned := (base + page - 1) &^ (page - 1)
	skip := int((aligned - base + size - 1) / size) // whole elements up to the boundary
	out := buf[skip : skip : skip+n]
	end := (aligned + uintptr(n)*size + page - 1) &^ (page - 1)
	adviseHuge(aligned, end-aligned)
	return out
}

// noLayoutSummary makes NewMap leave the layout's count of the summary unused
// (tests compare both ways).
var noLayoutSummary = false

// splitMin is the length from which a MemoryInfoList is laid out in two halves at
// once: below it, starting a goroutine costs more than it saves. (A variable so
// that the tests can split short lists.)
var splitMin = 1 << 15

// splitAfter reports whether the layout may be cut after entry e: a busy, non-empty
// region that does not wrap. After such an entry no free run is open, and in a list
// in address order the layout has reached exactly the entry's end, so the second
// half can start from there without knowing the first.
func splitAfter(e *minidump.MemoryInfo) bool {
	return e.State != minidump.MemFree && e.RegionSize > 0 && e.BaseAddress+e.RegionSize > e.BaseAddress
}

// addSplit lays the n entries of an intact list out in two halves: it starts l
// on the entries up to the first split point (splitAfter) at or after the middle,
// on another goroutine, and returns join, which lays out the rest on the caller's
// goroutine with a second layout, starting from the state l must reach there, waits
// for l and appends the second's regions to l's. join reports false, with l to be
// discarded, when the halves do not join as a single pass would have laid them out
// (entries out of order or overlapping across the cut, no split point): the caller
// then lays the list out in one pass.
//
// A MemoryInfoList of 200,000 entries takes about 8 ms to lay out on one core;
// the other core is idle once the module list is read.
//
// Both halves write into l.out's array, the second from the top part, which is
// then moved down behind the first: another array would count towards the heap
// size that starts the first garbage collection, which a run of dumpmap on a dump
// of this size otherwise never needs (and a collection has to scan every region).
func (l *layout) addSplit(f *minidump.File, n int) (join func() bool) {
	// The caller does NewMap's other reads before the second half, the module
	// list above all (about 19 entries' worth of work a module, measured): the
	// first half takes the larger share. A module counts as 12 entries, so that
	// the first half tends to end first: it then moves the second half's regions
	// while the second is still being laid out (moveSecond).
	mid := n / 2
	if ms := f.Stream(minidump.StreamModuleList); ms != nil {
		mid = min((n+int(min(ms.Size/108, 1<<20))*12)/2, n*3/4)
	}
	full := l.out[:0]
	top := max(cap(full)-((n-mid)+(n-mid)/4+8), cap(full)/2)
	l.out = full[:0:top]
	split1 := -1
	var err1 error
	done := make(chan struct{})
	// The second half publishes how many of its regions are final and when it
	// has ended; the first, once ended, moves those behind its own while the
	// second is still being laid out (moved), so that the join moves only what is
	// left.
	progress := &secondProgress{wake: make(chan struct{}, 1)}
	moved := 0
	go func() {
		defer close(done)
		i := 0
		_, err1 = f.ScanMemoryInfo(func(batch []minidump.MemoryInfo) bool {
			for k := range batch {
				e := &batch[k]
				if !l.add(e) {
					return false
				}
				if i >= mid && splitAfter(e) {
					split1 = i
					return false
				}
				i++
			}
			return true
		})
		// The images laid out before the modules were read, named while this
		// goroutine would otherwise wait for the second half.
		l.nameRecorded()
		if err1 != nil || split1 < 0 || unsafe.SliceData(l.out) != unsafe.SliceData(full) {
			return // no join, or one that appends
		}
		moved = l.moveSecond(full, top, progress)
	}()
	return func() bool {
		l2 := &layout{m: l.m, narrow: l.narrow, gran: l.gran, minA: l.minA, out: full[top:top], names: l.names, inc: newSummaryAcc()}
		split2 := -1
		var seedCur, seedBase uint64
		i := mid
		_, err2 := f.ScanMemoryInfoFrom(mid, func(batch []minidump.MemoryInfo) bool {
			for k := range batch {
				e := &batch[k]
				if split2 < 0 {
					if splitAfter(e) {
						split2 = i
						seedBase = l2.fix(e.BaseAddress)
						seedCur = seedBase + e.RegionSize
						l2.cur, l2.prevBase, l2.walk.walkEnd = seedCur, seedBase, seedCur
					}
					i++
					continue
				}
				// Room for the most one entry can append, looked at before each:
				// asking it of a whole batch moved second halves that would have
				// fitted (one within 4,096 regions of its part's end).
				if cap(l2.out)-len(l2.out) < maxRegionsPerEntry {
					l2.ensureRoom(full, top, progress, maxRegionsPerEntry)
				}
				if !l2.add(e) {
					return false
				}
			}
			l2.publish(full, top, progress, false)
			return true
		})
		l2.publish(full, top, progress, true)
		<-done
		if err1 != nil || err2 != nil || split1 < 0 || split1 != split2 || l.unsorted || l2.unsorted ||
			l.inFree || l.top || l.cur != seedCur || l.prevBase != seedBase || l.walk.walkEnd != seedCur {
			return false
		}
		l.join(l2, full, top, moved)
		return true
	}
}

// secondProgress is how the second half of a split layout tells the first how far
// it is: how many of its regions are final (n; -1 when they left full[top:]) and
// whether it has ended. The first half, once ended, moves the final regions as
// they come and sleeps in between: it waited in a loop of yields before, which
// kept its core busy, and on a machine whose other core was taken that core was
// the second half's.
type secondProgress struct {
	n       atomic.Int64
	done    atomic.Bool
	waiting atomic.Bool // the first half sleeps on wake
	wake    chan struct{}
	woke    int64 // the second half's: n when it last woke the first
	// mu is held by the first half while it moves regions and by the second
	// while it moves its regions out of full[top:] (ensureRoom): dst is where
	// the first half moves them to and moved how many it has.
	mu         sync.Mutex
	dst, moved int
}

// maxRegionsPerEntry is the most regions add appends for one entry: a free run
// closed in three pieces (two more), a gap, the entry's own.
const maxRegionsPerEntry = 4

// ensureRoom makes sure the second half of a split layout can append need
// regions without append moving them: a move by append would read full[top:]
// while the first half writes there (the regions it moves behind its own can
// land past top, over ones moved before). So when full[top:] is about to run
// out, the second half's regions get an array of their own, under the lock,
// those the first half moved taken from where they are now; it then publishes
// -1 and the join appends them. Once out of full the second half grows as any
// slice does.
func (l *layout) ensureRoom(full []Region, top int, s *secondProgress, need int) {
	if cap(l.out)-len(l.out) >= need || top >= cap(full) || unsafe.SliceData(l.out) != &full[:top+1][top] {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	grown := make([]Region, len(l.out), max(2*cap(l.out), len(l.out)+need))
	copy(grown, full[s.dst:s.dst+s.moved])
	copy(grown[s.moved:], l.out[s.moved:])
	l.out = grown
	s.n.Store(-1)
}

// wakeEvery is how many final regions the second half lets pile up before it
// wakes the first to move them (half a megabyte: a wake costs the second half
// a few microseconds, moving them the first about fifty). A variable so that the
// tests can wake it at every publication.
var wakeEvery int64 = 8192

// publish tells the first half how many of the second half's regions are final:
// all of them at the end, else all but an open free run (closeRun and merging
// change it); -1 when they are no longer in full[top:] (the slice outgrew its
// part and was moved).
func (l *layout) publish(full []Region, top int, s *secondProgress, end bool) {
	n := len(l.out)
	if !end && l.inFree {
		n--
	}
	if n > 0 && (top >= cap(full) || unsafe.SliceData(l.out) != &full[:top+1][top]) {
		n = -1
	}
	s.n.Store(int64(n))
	if end {
		s.done.Store(true)
	}
	if s.waiting.Load() && (end || n < 0 || int64(n)-s.woke >= wakeEvery) {
		s.woke = int64(n)
		s.waiting.Store(false)
		select {
		case s.wake <- struct{}{}:
		default: // a wake is pending already
		}
	}
}

// moveSecond moves the second half's final regions from full[top:] behind the
// first half's as the second publishes them, while it is still being laid out,
// and returns how many it moved (0 when they left full[top:]). The moves go down
// (k1 < top) and forward, so a destination never covers a source not yet moved,
// and they stay below the second half's writes. In between it sleeps until the
// second half wakes it: it says it waits (waiting) and looks again before it
// sleeps, and the second looks at waiting after it publishes, so no wake is
// missed; a spare one costs a look.
func (l *layout) moveSecond(full []Region, top int, s *secondProgress) int {
	k1, moved := len(l.out), 0
	s.mu.Lock()
	s.dst = k1
	s.mu.Unlock()
	for !s.done.Load() {
		s.mu.Lock()
		p := int(s.n.Load())
		if p < 0 {
			s.mu.Unlock()
			return 0
		}
		if p > moved {
			copy(full[k1+moved:k1+p], full[top+moved:top+p])
			moved = p
			s.moved = p
		}
		s.mu.Unlock()
		s.waiting.Store(true)
		if n := s.n.Load(); s.done.Load() || n < 0 || n-int64(moved) >= wakeEvery {
			s.waiting.Store(false)
			continue
		}
		<-s.wake
	}
	// What is left, the second half's goroutine moves: those regions are in its
	// cache (measured: 0.35 ms for 95,000 regions there, 0.5-0.6 ms here).
	return moved
}

// join appends the regions and counts of l2, the second half of a split layout
// that wrote from full[top:] (of which the first moved the first `moved` behind
// its own), to l's.
func (l *layout) join(l2 *layout, full []Region, top, moved int) {
	k1, k2 := len(l.out), len(l2.out)
	if unsafe.SliceData(l.out) == unsafe.SliceData(full) && (k2 == 0 || unsafe.SliceData(l2.out) == &full[:top+1][top]) {
		// The halves stayed in their parts of the array; the first moved some of
		// the second already.
		moved = min(moved, k2)
		copy(full[k1+moved:k1+k2], l2.out[moved:])
		l.out = full[:k1+k2]
	} else {
		l.out = append(l.out, l2.out...)
	}
	if l.inc != nil && l2.inc != nil && l.counted == k1 && !l.incStop {
		l.inc.merge(l2.inc)
		l.counted, l.incStop = k1+l2.counted, l2.incStop
	} else {
		l.inc = nil
	}
	l.cur, l.prevBase, l.inFree, l.top = l2.cur, l2.prevBase, l2.inFree, l2.top
	w, w2 := &l.walk, &l2.walk
	w.entries += w2.entries
	w.walkEnd = w2.walkEnd // l2's fold began where l's ended
	w.walkEnd32 = max(w.walkEnd32, w2.walkEnd32)
	w.busyEnd32 = max(w.busyEnd32, w2.busyEnd32)
	w.busyEnd = max(w.busyEnd, w2.busyEnd)
	l.signExtended += l2.signExtended
	l.overlaps += l2.overlaps
	l.gaps += l2.gaps
	l.merged += l2.merged
	for _, i := range l2.images {
		l.images = append(l.images, k1+i)
	}
}

// push appends a zero region and returns it, to be filled field by field: a
// composite literal is built on the stack and copied in 16-byte moves, each of
// which waits for the narrower stores it spans (no store forwarding), on the
// path every region of a map takes.
func (l *layout) push() *Region {
	l.out = append(l.out, Region{})
	return &l.out[len(l.out)-1]
}

// pushFree appends a free region of usage u (Free or Unusable).
func (l *layout) pushFree(base, size uint64, u Usage) {
	r := l.push()
	r.Base, r.Size, r.State, r.Protect, r.Usage = base, size, minidump.MemFree, minidump.PageNoAccess, u
}

// closeRun splits the open free run, now that no further free entry can extend it.
// A run that reaches 2^64 is left whole: it crosses the end of any address space,
// and finish splits it there.
func (l *layout) closeRun() {
	if !l.inFree {
		return
	}
	l.inFree = false
	n := len(l.out) - 1
	lo, hi := l.out[n].Base, l.out[n].End()
	if hi == 0 {
		l.incStop = true // finish splits it, at the end of the space
		return
	}
	if l.gran == 0 {
		l.countRun(FreeRun{Base: lo, Size: hi - lo, UsableBase: lo, UsableSize: hi - lo})
		return
	}
	// splitFreeRun's pieces, written in place: the run's region becomes the first
	// piece and the others are appended (every region of a map passes here or
	// through add's append, so no piece is built twice).
	ulo := max(alignUp(lo, l.gran), l.minA)
	uhi := alignDown(hi, l.gran)
	r := &l.out[n]
	if ulo >= uhi {
		r.Usage = UsageUnusable
		l.countRun(FreeRun{Base: lo, Size: hi - lo})
		return
	}
	if lo < ulo {
		r.Size, r.Usage = ulo-lo, UsageUnusable
		l.pushFree(ulo, uhi-ulo, UsageFree)
	} else {
		r.Size = uhi - ulo
	}
	if uhi < hi {
		l.pushFree(uhi, hi-uhi, UsageUnusable)
	}
	l.countRun(FreeRun{Base: lo, Size: hi - lo, UsableBase: ulo, UsableSize: uhi - ulo})
}

// countRun adds a run just closed to the summary the layout counts, unless it is
// the last (end closes it, and finish may split it again).
func (l *layout) countRun(f FreeRun) {
	if l.inc != nil && !l.ending && !l.incStop {
		l.inc.addRun(f)
	}
}

// countFinal counts the regions that became final since the last call: all but an
// open free run.
func (l *layout) countFinal() {
	if l.inc == nil || l.incStop {
		return
	}
	n := len(l.out)
	if l.inFree {
		n--
	}
	for ; l.counted < n; l.counted++ {
		l.inc.countRegion(&l.out[l.counted])
	}
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
	if base < l.cur || l.top {
		l.overlaps++
		if l.top {
			return true // the layout already reaches 2^64
		}
		if end != 0 && end <= l.cur {
			return true
		}
		size -= l.cur - base
		base = l.cur
	}
	if base > l.cur {
		l.closeRun()
		l.gaps++
		l.out = append(l.out, unknownRegion(l.cur, base, "not described by the MemoryInfoList"))
	}
	l.cur = base + size
	l.top = l.cur == 0
	if e.State == minidump.MemFree {
		if n := len(l.out); l.inFree && n > 0 {
			// VirtualQuery coalesces free space; adjacent free entries are one run.
			l.out[n-1].Size += size
			l.merged++
		} else {
			l.pushFree(base, size, UsageFree)
			l.inFree = true
		}
		l.countFinal()
		return true
	}
	l.closeRun()
	r := l.push()
	r.Base, r.Size, r.AllocationBase = base, size, abase
	r.State, r.Type, r.Protect, r.AllocationProtect = e.State, e.Type, e.Protect, e.AllocationProtect
	r.Usage = usageOfType(e.Type)
	if e.Type == minidump.MemImage {
		l.image(len(l.out) - 1)
	}
	l.countFinal()
	return true
}

// image names the Image region at out[i] when the modules are known and one
// covers it, or records where it is for classify.
func (l *layout) image(i int) {
	if l.names != nil {
		if n := l.names.Load(); n != nil && n.name(&l.out[i], &l.nameNext) {
			return
		}
	}
	l.images = append(l.images, i)
}

// nameRecorded names the recorded images the modules cover, once they are known.
func (l *layout) nameRecorded() {
	if l.names == nil || len(l.images) == 0 {
		return
	}
	n := l.names.Load()
	if n == nil {
		return
	}
	next, keep := 0, l.images[:0]
	for _, i := range l.images {
		if !n.name(&l.out[i], &next) {
			keep = append(keep, i)
		}
	}
	l.images = keep
}

// finish clips the layout at the end of the address space, re-splits the free run
// that crosses it, fills the gap up to it and records what was corrected.
func (l *layout) finish() {
	m := l.m
	s := &m.Space
	regs := l.out
	if l.gran != s.Granularity || l.minA != alignUp(s.MinAddress, s.Granularity) {
		// The runs were split for other limits (a WOW64 process whose
		// SystemMemoryInfo gives another lowest address): split them again.
		regs = m.resplit(regs)
		l.resplit = true
	}
	end := s.End
	// In address order: everything from k on lies at or above the end.
	k := sort.Search(len(regs), func(i int) bool { return regs[i].Base >= end })
	above := k // regions from here on are dropped
	keep := -1 // when the crossing run is split again: how many of pieces replace regs[j:]
	j := k
	truncated := false // regs[k-1] cut at the end
	var pieces [3]Region
	if k > 0 && regs[k-1].State == minidump.MemFree {
		// The free run holding the last kept piece was split without knowing the end,
		// or left whole: gather its pieces on both sides of the end and split it again.
		j = k - 1
		for j > 0 && regs[j-1].State == minidump.MemFree && regs[j-1].End() == regs[j].Base {
			j--
		}
		e := k
		for e < len(regs) && regs[e].State == minidump.MemFree && regs[e].Base == regs[e-1].End() {
			e++
		}
		if hi := regs[e-1].End(); hi == 0 || hi > end || e > k {
			keep = m.splitRun(&pieces, regs[j].Base, min(hi-1, end-1)+1)
			above = e
		}
	} else if k > 0 {
		if r := &regs[k-1]; r.End() > end || r.End() == 0 {
			r.Size = end - r.Base
			truncated = true
		}
	}
	// Count what lies above as the entries were merged: a free run is one.
	for i := above; i < len(regs); i++ {
		if i > above && regs[i].State == minidump.MemFree && regs[i-1].State == minidump.MemFree && regs[i-1].End() == regs[i].Base {
			continue
		}
		l.outside++
	}
	if keep >= 0 {
		regs = append(regs[:j], pieces[:keep]...)
		l.firstChanged = j
	} else {
		regs = regs[:k]
		l.firstChanged = k
	}
	if truncated {
		l.firstChanged = k - 1
	}
	if l.resplit {
		l.firstChanged = 0
	}
	if cur := lastEnd(regs); cur < end {
		if cur > 0 || len(regs) == 0 {
			l.gaps++
		}
		regs = append(regs, unknownRegion(cur, end, "not described by the MemoryInfoList"))
	}
	m.Regions = regs
	if l.signExtended > 0 {
		m.note(NoteSignExtended, fmt.Sprintf("%d region addresses were sign-extended by a 32-bit writer and have been truncated to 32 bits", l.signExtended))
	}
	if l.outside > 0 {
		what := "lie above the end of the user address space"
		if strings.HasPrefix(m.Space.LimitsFrom, "the given limit") {
			what = "lie above the given limit and are not shown"
		}
		if m.Space.WOW64 && !l.narrow {
			what = "belong to the 64-bit side of the WOW64 process (above the 32-bit address space) and are not shown"
		}
		m.note(NoteOutside, fmt.Sprintf("%d regions %s", l.outside, what))
	}
	if l.overlaps > 0 {
		m.note(NoteOverlaps, fmt.Sprintf("%d MemoryInfoList entries overlapped earlier ones and were trimmed", l.overlaps))
	}
	if l.merged > 0 {
		m.note(NoteMerged, fmt.Sprintf("%d adjacent free entries were merged", l.merged))
	}
	if l.gaps > 0 {
		m.note(NoteGaps, fmt.Sprintf("%d gaps in the MemoryInfoList are shown as Unknown", l.gaps))
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

// resplit merges the free pieces of regs back into runs and splits them for m's space.
func (m *Map) resplit(regs []Region) []Region {
	out := make([]Region, 0, len(regs)+8)
	for i := 0; i < len(regs); {
		if regs[i].State != minidump.MemFree {
			out = append(out, regs[i])
			i++
			continue
		}
		lo, hi := regs[i].Base, regs[i].End()
		for i++; i < len(regs) && regs[i].State == minidump.MemFree && regs[i].Base == hi; i++ {
			hi = regs[i].End()
		}
		if hi == 0 || hi > m.Space.End {
			out = append(out, Region{Base: lo, Size: hi - lo, State: minidump.MemFree, Protect: minidump.PageNoAccess, Usage: UsageFree})
			continue // finish clips it
		}
		out = m.appendFree(out, lo, hi)
	}
	return out
}

// splitRun splits the free run [lo, hi) at the allocation-granularity boundaries and
// the allocatable range: the parts no reservation can use are Unusable. Free regions
// keep VirtualQuery's PAGE_NOACCESS protection. It returns how many pieces it wrote.
func (m *Map) splitRun(p *[3]Region, lo, hi uint64) int {
	s := &m.Space
	return splitFreeRun(p, lo, hi, s.Granularity, alignUp(s.MinAddress, s.Granularity), s.End)
}

// splitFreeRun is splitRun for a granularity gran, a lowest allocatable address minA
// (aligned) and an end of the space.
func splitFreeRun(p *[3]Region, lo, hi, gran, minA, end uint64) int {
	piece := func(a, b uint64, u Usage) Region {
		return Region{Base: a, Size: b - a, State: minidump.MemFree, Protect: minidump.PageNoAccess, Usage: u}
	}
	ulo := max(alignUp(lo, gran), minA)
	uhi := alignDown(min(hi, end), gran)
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
	first := slices.IndexFunc(m.Regions, func(r Region) bool { return r.State == minidump.MemFree && r.Usage == UsageFree })
	if first < 0 {
		return // a map built from captured memory has no free region: nothing to copy
	}
	out := make([]Region, first, len(m.Regions)+8)
	copy(out, m.Regions[:first])
	for _, r := range m.Regions[first:] {
		if r.State == minidump.MemFree && r.Usage == UsageFree {
			out = m.appendFree(out, r.Base, r.End())
			continue
		}
		out = append(out, r)
	}
	m.Regions = out
}

// The keys of unusableWhy's sentences that do not depend on the region.
const (
	whyLow = 1<<63 + iota
	whyHigh
	whyTop
	whyBlock
)

func (m *Map) unusableWhy(from, to uint64) string {
	s := &m.Space
	// Which sentence applies, and for the tails below a boundary, the tail's size:
	// a map of 200,000 regions has tens of thousands of Unusable tails but a few
	// hundred distinct sentences, which the map remembers (m.whys).
	var key uint64
	switch {
	case to <= s.MinAddress:
		key = whyLow
	case from > s.MaxAddress:
		key = whyHigh
	case from%s.Granularity != 0:
		key = to - from // less than the granularity: below the other keys
	case to > s.MaxAddress:
		key = whyTop
	default:
		key = whyBlock
	}
	if m.whys != nil {
		if w, ok := m.whys.get(key); ok {
			return w
		}
	}
	var w string
	switch key {
	case whyLow:
		w = fmt.Sprintf("below the lowest allocatable address %#x", s.MinAddress)
	case whyHigh:
		w = fmt.Sprintf("above the highest allocatable address %#x", s.MaxAddress)
	case whyTop:
		w = fmt.Sprintf("at the top of the address space, above %#x", alignDown(s.MaxAddress+1, s.Granularity))
	case whyBlock:
		w = fmt.Sprintf("less than one %s block", humanize.IBytes(s.Granularity))
	default:
		w = fmt.Sprintf("%s below the next %s boundary", humanize.IBytes(to-from), humanize.IBytes(s.Granularity))
	}
	if m.whys != nil {
		m.whys.put(key, w)
	}
	return w
}

// whyCache remembers the sentences unusableWhy wrote, for readers of the map that
// describe every region (the listings); it is safe for concurrent readers.
type whyCache struct {
	mu sync.Mutex
	m  map[uint64]string
}

func (c *whyCache) get(k uint64) (string, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	w, ok := c.m[k]
	return w, ok
}

func (c *whyCache) put(k uint64, w string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.m) < 4096 { // bounded: one per distinct tail size below 64 KB
		c.m[k] = w
	}
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
	m.note(NoteUnavailable, fmt.Sprintf("%d free ranges were marked unallocatable as asked", n))
}
