package analysis

import (
	"fmt"
	"strings"

	"github.com/dumpmap/dumpmap/analysis/ntheap"
)

// Heap block geometry (see docs/windows-memory.md): every block carries a header of
// one allocation unit (8 bytes on x86, 16 on x64) and is rounded to whole units;
// requests above VirtualMemoryThreshold bypass the segments and become "virtual
// blocks" with a larger header of their own.
//
// crash.FindRequest knows the unit too, to turn STATUS_NO_MEMORY's block size
// into a request (it cannot import this package).
func (m *Map) heapGeometry() (unit, threshold, virtualHeader uint64) {
	if m.Space.PointerSize == 4 {
		return 8, 0xfe00 * 8, 0x20
	}
	return 16, 0xff00 * 16, 0x40
}

// explainHeapAlloc explains HeapAlloc(heap, 0, size) on the process heap (ViaHeap),
// the heap the request names, or the C runtime's heap (ViaMalloc).
func (m *Map) explainHeapAlloc(e *Explanation, size uint64, heaps *HeapSet) {
	unit, threshold, vhdr := m.heapGeometry()
	var h *Heap
	name := HeapRef{Role: "process"}
	switch {
	case e.Request.Via == ViaMalloc || e.Request.Via == ViaVector:
		name = HeapRef{Role: "crt"}
		if heaps != nil && heaps.CRT != 0 {
			h = heaps.Get(heaps.CRT)
			name.Handle = heaps.CRT
			e.step(CRTHeapStep{Heap: Addr(heaps.CRT), How: heaps.CRTHow})
		} else {
			e.step(CRTHeapStep{})
			e.Unknown = append(e.Unknown, "which heap the C runtime allocates from (see `dumpmap heaps` for the methods tried)")
		}
	case e.Request.Heap != 0:
		name = HeapRef{Role: "named", Handle: e.Request.Heap}
		h = heaps.Get(e.Request.Heap)
		if h == nil {
			e.Unknown = append(e.Unknown, fmt.Sprintf("heap %#x is not among the heaps the dump shows", e.Request.Heap))
		}
	default:
		if heaps != nil && heaps.Process != 0 {
			h = heaps.Get(heaps.Process)
			name.Handle = heaps.Process
		} else {
			e.Unknown = append(e.Unknown, "where the process heap is (the PEB is not captured)")
		}
	}
	e.Heap = h
	if h != nil && h.Read != nil && m.explainWalkedHeap(e, size, h, name) {
		return
	}
	// The process heap and the C runtime's are growable by construction; a heap
	// the program created may have a maximum, which only its header tells.
	growable, growKnown := true, name.Role != "named"
	if h != nil && h.Growable != nil {
		growable, growKnown = *h.Growable, true
	}
	// unknownGrowth turns a verdict that needs the heap to grow into Depends
	// when whether it can is not known.
	unknownGrowth := func() {
		if growKnown || e.Verdict != Succeed {
			return
		}
		e.Verdict = Depends
		e.Condition = fmt.Sprintf("whether %s can grow: the dump does not hold its header, and a heap created with a maximum size (HeapCreate's dwMaximumSize) cannot", name)
		e.Unknown = append(e.Unknown, fmt.Sprintf("whether %s was created with a maximum size", name))
	}
	if h != nil && h.VirtualMemoryThreshold != 0 {
		threshold = h.VirtualMemoryThreshold
	}
	block := alignUp(size+unit, unit)
	if block > threshold {
		e.step(HeapVirtualStep{Size: size, Heap: name, Threshold: threshold, Bits: m.Space.PointerSize * 8, Header: vhdr})
		if !growable {
			e.Verdict = Fail
			e.step(HeapFixedStep{Heap: name, AboveThreshold: true})
			return
		}
		m.explainReserve(e, size+vhdr, true)
		unknownGrowth()
		return
	}
	e.step(HeapBlockStep{Size: size, Heap: name, Block: block, Header: unit, Unit: unit})
	if h != nil {
		for _, s := range h.Segments {
			if s.LargestUncommitted >= block {
				e.Verdict = Succeed
				e.step(SegmentRoomStep{Base: Addr(s.Base), Uncommitted: s.Uncommitted, Largest: s.LargestUncommitted})
				m.checkCommit(e, alignUp(block, m.Space.PageSize))
				return
			}
		}
		if len(h.Segments) > 0 {
			res, com, unc := h.Reserved()
			e.step(SegmentsStep{Reserved: res, Committed: com, Uncommitted: unc})
		}
	}
	freeBlock := fmt.Sprintf("whether %s still has a free block of at least %s in its committed segments", name, ib(block))
	if !growable {
		e.Verdict = Depends
		e.Condition = freeBlock + ": the heap has a maximum size and cannot grow, and the dump has no record of its free blocks"
		e.step(HeapFixedStep{Heap: name})
		e.Unknown = append(e.Unknown, "the heap's free blocks (a heap walk needs the heap's memory, which dumpmap does not decode)")
		return
	}
	reserve := uint64(0)
	if h != nil {
		reserve = h.SegmentReserve
	}
	minSeg := alignUp(block+m.Space.PageSize, m.Space.PageSize)
	ns := NewSegmentStep{Minimum: minSeg, Granularity: m.Space.Granularity}
	if reserve > minSeg {
		ns.Reserve = reserve
	}
	e.step(ns)
	m.findRoom(e, minSeg, "a new segment")
	if e.Verdict == Succeed {
		// The segment fits: say so in the fit step itself.
		if growKnown {
			fit := e.Steps[len(e.Steps)-1].(FitStep)
			fit.AnyFreeList = true
			e.Steps[len(e.Steps)-1], e.Reasons[len(e.Reasons)-1] = fit, fit.Text()
		}
		unknownGrowth()
		return
	}
	// No new segment can be reserved: only a free block already in the heap can serve.
	e.Verdict = Depends
	e.Condition = freeBlock + "; no new segment can be reserved, so only a block already free in the heap can serve the request"
	e.Unknown = append(e.Unknown, "the heap's free blocks: the dump does not record them (a heap walk needs the heap's memory, which dumpmap does not decode)")
	e.step(OnlyFreeBlockStep{Heap: name, Block: block})
}

// explainWalkedHeap decides a heap allocation from the heap's own free blocks and
// uncommitted ranges, walked in dump memory (package ntheap): definite wherever
// the walk saw the whole heap. It returns false when the heap's kind is not one
// the walk models, or the block goes to VirtualAlloc (which explainHeapAlloc
// explains from the threshold).
func (m *Map) explainWalkedHeap(e *Explanation, size uint64, h *Heap, name HeapRef) bool {
	in := h.Read.FitInput()
	d := ntheap.Fit(in, ntheap.Request{Size: size})
	switch d.Outcome {
	case ntheap.OutcomeUnknown, ntheap.OutcomeVirtualAlloc:
		return false
	}
	unit := uint64(2 * h.Read.PointerSize)
	hdr := unit
	if h.Read.Kind == ntheap.KindWine {
		hdr = 8
	}
	e.step(HeapBlockStep{Size: size, Heap: name, Block: d.Block, Header: hdr, Unit: unit})
	fs := HeapFreeStep{Heap: name, Layout: h.Read.Kind.String(), Block: d.Block, FreeBlocks: len(in.Free), Complete: in.FreeComplete}
	for _, f := range in.Free {
		fs.FreeBytes += f.Size
		if f.Size > fs.Largest {
			fs.Largest, fs.LargestAt = f.Size, Addr(f.Addr)
		}
	}
	if d.Free != nil {
		fs.Serves = &HeapBlock{Addr: Addr(d.Free.Addr), Size: d.Free.Size, Extent: d.Free.Extent}
	}
	e.step(fs)
	switch d.Outcome {
	case ntheap.OutcomeFreeBlock:
		e.Verdict = Succeed
		return true
	case ntheap.OutcomeCommit:
		e.Verdict = Succeed
		c := d.Commit
		e.step(HeapCommitStep{Segment: Addr(c.SegmentBase), Start: Addr(c.Range.Addr), End: Addr(c.Range.End()), Bytes: c.Bytes})
		e.Unknown = append(e.Unknown, "the system's commit charge for the pages the heap commits")
		return true
	case ntheap.OutcomeFail:
		e.Verdict = Fail
		e.step(HeapRoomStep{Heap: name, Block: d.Block, Growable: false})
		e.step(HeapFixedStep{Heap: name})
		return true
	case ntheap.OutcomeDepends:
		e.step(HeapRoomStep{Heap: name, Block: d.Block, Growable: in.Growable})
		e.Verdict = Depends
		e.Condition = strings.Join(d.Open, "; ")
		e.Unknown = append(e.Unknown, d.Open...)
		return true
	}
	// A new segment: whether it fits is the address space's question.
	e.step(HeapRoomStep{Heap: name, Block: d.Block, Growable: true})
	ns := d.NewSegment
	step := NewSegmentStep{Minimum: ns.Min, Granularity: m.Space.Granularity}
	if ns.Reserve > ns.Min {
		step.Reserve = ns.Reserve
	}
	e.step(step)
	m.findRoom(e, ns.Min, "a new segment")
	if e.Verdict == Succeed || len(d.Open) == 0 {
		return true
	}
	e.Verdict = Depends
	e.Condition = "whether " + name.String() + " has a free block the walk did not see: " + strings.Join(d.Open, "; ")
	e.Unknown = append(e.Unknown, d.Open...)
	return true
}

// maxAnyHeaps bounds the heaps an AnyHeap request is decided for.
const maxAnyHeaps = 64

// explainAnyHeap decides a HeapAlloc whose heap the dump does not name (a
// Chromium OOM reports after its allocator returned) for every heap the map
// found: one verdict when all heaps agree, else Depends on which heap it was,
// with the steps of the first heap where it fails.
func (m *Map) explainAnyHeap(e *Explanation, heaps *HeapSet) {
	r := e.Request
	var st AnyHeapStep
	st.Size = r.Size
	var firstFail *Explanation
	var fails, succeeds []string
	if heaps != nil {
		for i := range heaps.Heaps {
			if i >= maxAnyHeaps {
				st.More = len(heaps.Heaps) - i
				break
			}
			h := &heaps.Heaps[i]
			sub := m.explain(Request{Size: r.Size, Via: ViaHeap, Heap: h.Handle, Below: r.Below}, heaps, true)
			st.Heaps = append(st.Heaps, HeapOutcome{Heap: Addr(h.Handle), Verdict: sub.Verdict})
			switch sub.Verdict {
			case Fail:
				fails = append(fails, fmt.Sprintf("%#x", h.Handle))
				if firstFail == nil {
					firstFail = sub
				}
			case Succeed:
				succeeds = append(succeeds, fmt.Sprintf("%#x", h.Handle))
			}
		}
	}
	e.step(st)
	e.Unknown = append(e.Unknown, "which heap the allocation asked: the dump does not say")
	switch {
	case len(st.Heaps) == 0:
		e.Verdict = Depends
		e.Condition = "which heap was asked: the dump shows none"
	case len(fails) == len(st.Heaps):
		e.Verdict = Fail
	case len(succeeds) == len(st.Heaps):
		e.Verdict = Succeed
	default:
		e.Verdict = Depends
		e.Condition = "which heap was asked: it fails in " + listOr(fails) + ", and would not in the others"
	}
	if firstFail != nil {
		for _, s := range firstFail.Steps {
			e.step(s)
		}
		e.Unknown = append(e.Unknown, firstFail.Unknown...)
	}
}

// listOr joins up to a few items for a sentence.
func listOr(items []string) string {
	if len(items) > 4 {
		return strings.Join(items[:4], ", ") + fmt.Sprintf(" and %d more", len(items)-4)
	}
	switch len(items) {
	case 0:
		return "none"
	case 1:
		return items[0]
	}
	return strings.Join(items[:len(items)-1], ", ") + " and " + items[len(items)-1]
}
