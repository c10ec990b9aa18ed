package analysis

import "fmt"

// Heap block geometry (see docs/windows-memory.md): every block carries a header of
// one allocation unit (8 bytes on x86, 16 on x64) and is rounded to whole units;
// requests above VirtualMemoryThreshold bypass the segments and become "virtual
// blocks" with a larger header of their own.
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
	name := "the process heap"
	switch {
	case e.Request.Via == ViaMalloc || e.Request.Via == ViaVector:
		name = "the C runtime's heap"
		if heaps != nil && heaps.CRT != 0 {
			h = heaps.Get(heaps.CRT)
			e.say("malloc and operator new allocate from the C runtime's heap, %#x (%s)", heaps.CRT, heaps.CRTHow)
		} else {
			e.say("malloc and operator new allocate from the C runtime's heap, which this dump does not identify; it is treated as a growable heap, as every CRT creates it")
			e.Unknown = append(e.Unknown, "which heap the C runtime allocates from (see `dumpmap heaps` for the methods tried)")
		}
	case e.Request.Heap != 0:
		name = fmt.Sprintf("heap %#x", e.Request.Heap)
		h = heaps.Get(e.Request.Heap)
		if h == nil {
			e.Unknown = append(e.Unknown, fmt.Sprintf("heap %#x is not among the heaps the dump shows", e.Request.Heap))
		}
	default:
		if heaps != nil && heaps.Process != 0 {
			h = heaps.Get(heaps.Process)
			name = fmt.Sprintf("the process heap %#x", heaps.Process)
		} else {
			e.Unknown = append(e.Unknown, "where the process heap is (the PEB is not captured)")
		}
	}
	e.Heap = h
	growable := true
	if h != nil && h.Growable != nil {
		growable = *h.Growable
	}
	if h != nil && h.VirtualMemoryThreshold != 0 {
		threshold = h.VirtualMemoryThreshold
	}
	block := alignUp(size+unit, unit)
	if block > threshold {
		e.say("HeapAlloc(%s) on %s is above the heap's virtual-memory threshold (%s on this %d-bit process), so the heap does not use its segments: it asks VirtualAlloc for the block directly: %s plus its %d-byte header",
			ib(size), name, ib(threshold), m.Space.PointerSize*8, ib(size), vhdr)
		if !growable {
			e.Verdict = Fail
			e.say("%s was created with a maximum size and cannot grow, and such heaps refuse blocks above the threshold", name)
			return
		}
		m.explainReserve(e, size+vhdr, true)
		return
	}
	e.say("HeapAlloc(%s) on %s needs a block of %s: the request plus its %d-byte header, rounded to %d bytes", ib(size), name, ib(block), unit, unit)
	if h != nil {
		for _, s := range h.Segments {
			if s.LargestUncommitted >= block {
				e.Verdict = Succeed
				e.say("the heap's segment at %#x has %s reserved but not yet committed (the largest range %s): the heap commits pages there, needing no new address space",
					s.Base, ib(s.Uncommitted), ib(s.LargestUncommitted))
				e.Unknown = append(e.Unknown, "the system's commit charge for the pages the heap commits")
				return
			}
		}
		if len(h.Segments) > 0 {
			res, com, unc := h.Reserved()
			e.say("the heap's known segments reserve %s, of which %s is committed and %s is uncommitted room, not enough for the block", ib(res), ib(com), ib(unc))
		}
	}
	freeBlock := fmt.Sprintf("whether %s still has a free block of at least %s in its committed segments", name, ib(block))
	if !growable {
		e.Verdict = Depends
		e.Condition = freeBlock + ": the heap has a maximum size and cannot grow, and the dump has no record of its free blocks"
		e.say("%s was created with a maximum size, so it cannot reserve a new segment: the block must come from its free blocks", name)
		e.Unknown = append(e.Unknown, "the heap's free blocks (a heap walk needs the heap's memory, which dumpmap does not decode)")
		return
	}
	reserve := uint64(0)
	if h != nil {
		reserve = h.SegmentReserve
	}
	minSeg := alignUp(block+m.Space.PageSize, m.Space.PageSize)
	seg := "a new segment"
	if reserve > minSeg {
		seg = fmt.Sprintf("a new segment of %s (the heap's SegmentReserve), halving on failure down to", ib(reserve))
	} else {
		seg = "a new segment of at least"
	}
	e.say("if no free block in its segments is large enough, a growable heap reserves %s %s (the block plus a page) at a %s-aligned address",
		seg, ib(minSeg), ib(m.Space.Granularity))
	m.findRoom(e, minSeg, "a new segment")
	if e.Verdict == Succeed {
		e.Reasons[len(e.Reasons)-1] += ": the allocation succeeds whatever the heap's free lists hold"
		return
	}
	// No new segment can be reserved: only a free block already in the heap can serve.
	e.Verdict = Depends
	e.Condition = freeBlock + "; no new segment can be reserved, so only a block already free in the heap can serve the request"
	e.Unknown = append(e.Unknown, "the heap's free blocks: the dump does not record them (a heap walk needs the heap's memory, which dumpmap does not decode)")
	e.say("so the allocation succeeds only if %s already has a free block of %s; once it has none, it fails even though the address space has free space", name, ib(block))
}
