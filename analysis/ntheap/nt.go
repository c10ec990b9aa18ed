package ntheap

import (
	"fmt"
	"sort"
)

// readNT reads the _HEAP header, its segments with their uncommitted ranges, its
// virtual blocks and its lookup counts.
func (h *Heap) readNT() {
	l := h.Layout
	hdr := make([]byte, l.Heap.Size)
	if err := h.m.read(hdr, h.Addr, "_HEAP"); err != nil {
		// The signatures were read, so the start is there: read what is.
		h.problem(h.Addr, "_HEAP", "the header is not completely captured: %v", unwrapRead(err))
		for i := 0; i < len(hdr); i += 8 {
			_ = h.m.read(hdr[i:min(i+8, len(hdr))], h.Addr+uint64(i), "_HEAP")
		}
	}
	ptr := h.PointerSize
	g := h.Granularity()
	h.Flags = uint32(le(hdr, l.Heap.Flags, 4))
	h.ForceFlags = uint32(le(hdr, l.Heap.ForceFlags, 4))
	h.EncodeFlagMask = uint32(le(hdr, l.Heap.EncodeFlagMask, 4))
	copy(h.encoding[:], hdr[min(l.Heap.Encoding+l.EntryHeader, uint64(len(hdr))):])
	h.VirtualMemoryThreshold = le(hdr, l.Heap.VirtualMemoryThreshold, 4) * g
	h.SegmentReserve = le(hdr, l.Heap.SegmentReserve, ptr)
	h.SegmentCommit = le(hdr, l.Heap.SegmentCommit, ptr)
	h.TotalFree, h.HasTotalFree = le(hdr, l.Heap.TotalFreeSize, ptr)*g, true
	h.setFrontEnd(hdr)
	h.Counters, h.HasCounters = countersAt(hdr, l), true

	h.readSegments()
	h.readVirtualBlocks()
	h.readLookup(le(hdr, l.Heap.BlocksIndex, ptr))
	h.checkLayout(hdr)
}

func countersAt(hdr []byte, l Layout) Counters {
	c, ptr := l.Heap.Counters, l.PointerSize
	return Counters{
		TotalMemoryReserved:      le(hdr, c+l.Counters.TotalMemoryReserved, ptr),
		TotalMemoryCommitted:     le(hdr, c+l.Counters.TotalMemoryCommitted, ptr),
		TotalMemoryLargeUCR:      le(hdr, c+l.Counters.TotalMemoryLargeUCR, ptr),
		TotalSizeInVirtualBlocks: le(hdr, c+l.Counters.TotalSizeInVirtualBlocks, ptr),
		TotalSegments:            uint32(le(hdr, c+l.Counters.TotalSegments, 4)),
		TotalUCRs:                uint32(le(hdr, c+l.Counters.TotalUCRs, 4)),
	}
}

// countersAgree says whether the counters match what the segment list holds.
func (h *Heap) countersAgree(c Counters) bool {
	if len(h.Segments) == 0 || int(c.TotalSegments) != len(h.Segments) {
		return false
	}
	var res uint64
	for _, s := range h.Segments {
		res += s.Reserved
	}
	return c.TotalMemoryReserved == res
}

// checkLayout confirms the layout by the heap's own counters. The fields before
// FrontEndHeap have not moved since Windows 8, so a header read with the wrong
// build's row still walks; only FrontEndHeap and Counters move. When the row's
// counters disagree with the segment list, the other rows of the same signature
// offset are tried.
func (h *Heap) checkLayout(hdr []byte) {
	if h.countersAgree(h.Counters) {
		h.LayoutChecked = true
		return
	}
	if h.segmentsIncomplete {
		// Only a partial check: the counters cover at least what was read.
		var res uint64
		for _, s := range h.Segments {
			res += s.Reserved
		}
		if int(h.Counters.TotalSegments) < len(h.Segments) || h.Counters.TotalMemoryReserved < res {
			h.problem(h.Addr+h.Layout.Heap.Counters, "_HEAP.Counters", "TotalSegments %d and TotalMemoryReserved %#x are less than the %d segments read (%#x reserved): the counters are not trusted",
				h.Counters.TotalSegments, h.Counters.TotalMemoryReserved, len(h.Segments), res)
			return
		}
		h.problem(h.Addr+h.Layout.Heap.Counters, "_HEAP.Counters", "not checked: the segment list is incomplete (%d of %d segments read, %#x of %#x bytes)",
			len(h.Segments), h.Counters.TotalSegments, res, h.Counters.TotalMemoryReserved)
		return
	}
	if h.opts.Layout == nil {
		for _, l := range layoutsFor(h.opts.Version, h.PointerSize) {
			if l.Heap.Signature != h.Layout.Heap.Signature || l.Heap == h.Layout.Heap {
				continue
			}
			b := hdr
			if uint64(len(b)) < l.Heap.Size {
				b = make([]byte, l.Heap.Size)
				if h.m.read(b, h.Addr, "_HEAP") != nil {
					continue
				}
			}
			if c := countersAt(b, l); h.countersAgree(c) {
				h.problem(h.Addr, "_HEAP", "the counters of the %s layout disagree with the segment list; those of %s agree, so that layout is used", h.Layout.Name, l.Name)
				h.Layout, h.Counters, h.LayoutChecked = l, c, true
				h.setFrontEnd(b)
				return
			}
		}
	}
	var res uint64
	for _, s := range h.Segments {
		res += s.Reserved
	}
	h.problem(h.Addr+h.Layout.Heap.Counters, "_HEAP.Counters", "TotalSegments %d and TotalMemoryReserved %#x disagree with the %d segments read (%#x reserved): the counters are not trusted",
		h.Counters.TotalSegments, h.Counters.TotalMemoryReserved, len(h.Segments), res)
}

func (h *Heap) setFrontEnd(hdr []byte) {
	l := h.Layout
	h.FrontEndAddr = le(hdr, l.Heap.FrontEndHeap, h.PointerSize)
	switch le(hdr, l.Heap.FrontEndHeapType, 1) {
	case 0:
		h.FrontEnd = FrontEndNone
	case 1:
		h.FrontEnd = FrontEndLookaside
	case 2:
		h.FrontEnd = FrontEndLFH
	default:
		h.FrontEnd = FrontEndOther
	}
}

func (h *Heap) readSegments() {
	l := h.Layout
	m := h.m
	head := h.Addr + l.Heap.SegmentList
	seen := map[uint64]bool{}
	err := m.walkList(head, h.opts.MaxSegments, "segment", func(link uint64) bool {
		addr := link - l.Segment.ListEntry
		if seen[addr] {
			h.problem(addr, "_HEAP_SEGMENT", "listed twice")
			return false
		}
		seen[addr] = true
		s, ok := h.readSegment(addr)
		if ok {
			h.Segments = append(h.Segments, s)
		}
		return true
	})
	if err != nil {
		h.segmentsIncomplete = true
		h.problem(head, "_HEAP.SegmentList", "%v", unwrapRead(err))
	}
	sort.Slice(h.Segments, func(i, j int) bool { return h.Segments[i].Base < h.Segments[j].Base })
}

func (h *Heap) readSegment(addr uint64) (Segment, bool) {
	l := h.Layout
	ptr := h.PointerSize
	b := make([]byte, l.Segment.UCRSegmentList+2*uint64(ptr))
	if err := h.m.read(b, addr, "_HEAP_SEGMENT"); err != nil {
		h.problem(addr, "_HEAP_SEGMENT", "%v", unwrapRead(err))
		return Segment{}, false
	}
	if sig := uint32(le(b, l.Segment.Signature, 4)); sig != SegmentSignature {
		h.problem(addr, "_HEAP_SEGMENT", "SegmentSignature is %#x, not %#x", sig, uint32(SegmentSignature))
		return Segment{}, false
	}
	if back := le(b, l.Segment.Heap, ptr); back != h.Addr {
		h.problem(addr, "_HEAP_SEGMENT", "its Heap is %#x, not this heap", back)
		return Segment{}, false
	}
	s := Segment{
		Addr:              addr,
		Base:              le(b, l.Segment.BaseAddress, ptr),
		Reserved:          le(b, l.Segment.NumberOfPages, 4) * pageSize,
		FirstEntry:        le(b, l.Segment.FirstEntry, ptr),
		LastValidEntry:    le(b, l.Segment.LastValidEntry, ptr),
		UncommittedBytes:  le(b, l.Segment.NumberOfUnCommittedPages, 4),
		UncommittedRanges: uint32(le(b, l.Segment.NumberOfUnCommittedRanges, 4)),
	}
	s.UncommittedBytes *= pageSize
	end := s.Base + s.Reserved
	if s.Base > addr || end < s.Base || s.FirstEntry < addr || s.FirstEntry > s.LastValidEntry || s.LastValidEntry > end {
		h.problem(addr, "_HEAP_SEGMENT", "inconsistent bounds: base %#x, %#x bytes, entries %#x-%#x", s.Base, s.Reserved, s.FirstEntry, s.LastValidEntry)
		return Segment{}, false
	}
	// The segment's uncommitted ranges.
	max := int(s.UncommittedRanges) + 16
	if max > h.opts.MaxListEntries {
		max = h.opts.MaxListEntries
	}
	head := addr + l.Segment.UCRSegmentList
	err := h.m.walkList(head, max, "uncommitted range", func(link uint64) bool {
		d := link - l.UCR.SegmentEntry
		var ub [16]byte
		buf := ub[:2*ptr]
		if err := h.m.read(buf, d+l.UCR.Address, "_HEAP_UCR_DESCRIPTOR"); err != nil {
			h.problem(d, "_HEAP_UCR_DESCRIPTOR", "%v", unwrapRead(err))
			return false
		}
		r := Range{le(buf, 0, ptr), le(buf, uint64(ptr), ptr)}
		if r.Addr < s.Base || r.End() > end || r.End() < r.Addr {
			h.problem(d, "_HEAP_UCR_DESCRIPTOR", "range %#x+%#x is outside its segment %#x-%#x", r.Addr, r.Size, s.Base, end)
			return false
		}
		s.UCRs = append(s.UCRs, r)
		return true
	})
	if err != nil {
		h.problem(head, "_HEAP_SEGMENT.UCRSegmentList", "%v", unwrapRead(err))
	}
	sort.Slice(s.UCRs, func(i, j int) bool { return s.UCRs[i].Addr < s.UCRs[j].Addr })
	return s, true
}

func (h *Heap) readVirtualBlocks() {
	l := h.Layout
	ptr := h.PointerSize
	head := h.Addr + l.Heap.VirtualAllocdBlocks
	err := h.m.walkList(head, h.opts.MaxListEntries, "virtual block", func(link uint64) bool {
		var b [16]byte
		buf := b[:2*ptr]
		if err := h.m.read(buf, link+l.Virtual.CommitSize, "_HEAP_VIRTUAL_ALLOC_ENTRY"); err != nil {
			h.problem(link, "_HEAP_VIRTUAL_ALLOC_ENTRY", "%v", unwrapRead(err))
			return false
		}
		h.VirtualBlocks = append(h.VirtualBlocks, VirtualBlock{Addr: link, CommitSize: le(buf, 0, ptr), ReserveSize: le(buf, uint64(ptr), ptr)})
		return true
	})
	if err != nil {
		h.problem(head, "_HEAP.VirtualAllocdBlocks", "%v", unwrapRead(err))
	}
}

// readLookup sums ItemCount over the BlocksIndex chain (_HEAP_LIST_LOOKUP,
// ExtendedLookup links the next): the number of free blocks the heap indexes.
func (h *Heap) readLookup(addr uint64) {
	l := h.Layout.Lookup
	total := 0
	for n := 0; addr != 0; n++ {
		if n >= 16 {
			h.problem(addr, "_HEAP_LIST_LOOKUP", "more than 16 chained lookups (a cycle or damage)")
			return
		}
		b := make([]byte, l.ListHints+uint64(h.PointerSize))
		if err := h.m.read(b, addr, "_HEAP_LIST_LOOKUP"); err != nil {
			h.problem(addr, "_HEAP_LIST_LOOKUP", "%v", unwrapRead(err))
			return
		}
		total += int(le(b, l.ItemCount, 4))
		addr = le(b, l.ExtendedLookup, h.PointerSize)
	}
	h.FreeListBlocks = total
}

// readSegmentHeap reads the little of a segment heap this package knows without
// ntdll's symbols: that it is one and its GlobalFlags (the ULONG after the
// signature, per Yason, "Windows 10 Segment Heap Internals", Black Hat USA 2016).
func (h *Heap) readSegmentHeap() {
	off := 2*uint64(h.PointerSize) + 4
	if v, err := h.m.u32(h.Addr+off, "_SEGMENT_HEAP.GlobalFlags"); err == nil {
		h.SegmentHeapGlobalFlags = v
	}
	h.problem(h.Addr, "_SEGMENT_HEAP", "a segment heap: its layout changes between builds and its blocks are encoded with keys in ntdll's data (RtlpHpHeapGlobals): not read")
}

// describe formats a heap's identity for messages.
func (h *Heap) describe() string {
	return fmt.Sprintf("%s heap %#x", h.Kind, h.Addr)
}
