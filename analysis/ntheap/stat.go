package ntheap

import "fmt"

// SizeClass is one row of a Histogram: blocks of Min <= size < Max bytes (Max 0:
// no upper bound).
type SizeClass struct {
	Min, Max               uint64
	BusyBlocks, FreeBlocks int
	BusyBytes, FreeBytes   uint64
}

// Histogram counts busy and free blocks by size range (header included). The
// ranges grow by 4x from 64 bytes, like the buckets of !heap -stat.
type Histogram []SizeClass

var histogramBounds = []uint64{64, 256, 1 << 10, 4 << 10, 16 << 10, 64 << 10, 256 << 10, 1 << 20}

func newHistogram() Histogram {
	h := make(Histogram, len(histogramBounds)+1)
	lo := uint64(0)
	for i, b := range histogramBounds {
		h[i].Min, h[i].Max = lo, b
		lo = b
	}
	h[len(histogramBounds)].Min = lo
	return h
}

func (h Histogram) add(size uint64, busy bool) {
	i := 0
	for i < len(histogramBounds) && size >= histogramBounds[i] {
		i++
	}
	if busy {
		h[i].BusyBlocks++
		h[i].BusyBytes += size
	} else {
		h[i].FreeBlocks++
		h[i].FreeBytes += size
	}
}

// Summary is one heap as `!heap -s` shows it and as the JSON contract of
// `dumpmap heaps` carries it. The bookkeeping values come from the heap's own
// header (Counters, TotalFreeSize, segment headers) and exist even when the blocks
// were not captured; the walk values come from walking the blocks and are nil when
// the walk could not run at all.
type Summary struct {
	Handle      uint64
	Kind        Kind
	PointerSize int
	LayoutName  string // the NT layout row used ("" for other kinds)
	Why         string
	Flags       uint32
	ForceFlags  uint32
	Growable    bool

	// Bookkeeping (nil: not available for this kind or not captured).
	Reserved      *uint64 // Counters.TotalMemoryReserved (Wine: the sub-heaps' sizes)
	Committed     *uint64 // Counters.TotalMemoryCommitted (Wine: the sub-heaps' committed parts)
	FreeBytes     *uint64 // TotalFreeSize x granularity (Wine: none; see WalkFreeBytes)
	UCRCount      *uint32 // Counters.TotalUCRs (Wine: one per sub-heap)
	UCRBytes      *uint64 // the segments' NumberOfUnCommittedPages x 4096
	LargeUCRBytes *uint64 // Counters.TotalMemoryLargeUCR
	SegmentCount  *uint32 // Counters.TotalSegments (Wine: sub-heaps)
	VirtualBytes  *uint64 // Counters.TotalSizeInVirtualBlocks
	// VirtualBlocks is the number of entries of the virtual-block list.
	VirtualBlocks int
	// Virt is !heap -s's "Virt" column: reserved less the large uncommitted ranges
	// (third-party WinDbg output, not documented by Microsoft; see docs/heaps.md).
	Virt *uint64
	// FreeListLength is the length of the back end's free list (-1: not walked).
	FreeListLength int
	// IndexedFreeBlocks is BlocksIndex's ItemCount total (-1: not read).
	IndexedFreeBlocks int
	FrontEnd          FrontEnd
	FrontEndAddr      uint64

	VirtualMemoryThreshold uint64
	SegmentReserve         uint64
	SegmentCommit          uint64

	// Walk values.
	WalkComplete     bool
	WalkStops        []Stop
	FreeBlocks       *int
	WalkFreeBytes    *uint64
	LargestFreeBlock *uint64 // bytes, header included
	BusyBlocks       *int
	BusyBytes        *uint64

	Problems []Problem
}

func ptrTo[T any](v T) *T { return &v }

// Summary returns the heap's summary, walking it once (the walk is cached).
func (h *Heap) Summary() Summary {
	s := Summary{Handle: h.Addr, Kind: h.Kind, PointerSize: h.PointerSize, Why: h.Why, Flags: h.Flags, ForceFlags: h.ForceFlags,
		Growable: h.Growable(), FreeListLength: -1, IndexedFreeBlocks: h.FreeListBlocks, FrontEnd: h.FrontEnd, FrontEndAddr: h.FrontEndAddr,
		VirtualMemoryThreshold: h.VirtualMemoryThreshold, SegmentReserve: h.SegmentReserve, SegmentCommit: h.SegmentCommit,
		VirtualBlocks: len(h.VirtualBlocks)}
	if h.Kind == KindNT {
		s.LayoutName = h.Layout.Name
	}
	var ucrBytes uint64
	for _, seg := range h.Segments {
		ucrBytes += seg.UncommittedBytes
	}
	switch h.Kind {
	case KindNT:
		if h.HasCounters {
			c := h.Counters
			s.Reserved, s.Committed = ptrTo(c.TotalMemoryReserved), ptrTo(c.TotalMemoryCommitted)
			s.UCRCount, s.SegmentCount = ptrTo(c.TotalUCRs), ptrTo(c.TotalSegments)
			s.LargeUCRBytes, s.VirtualBytes = ptrTo(c.TotalMemoryLargeUCR), ptrTo(c.TotalSizeInVirtualBlocks)
			if c.TotalMemoryReserved >= c.TotalMemoryLargeUCR {
				s.Virt = ptrTo(c.TotalMemoryReserved - c.TotalMemoryLargeUCR)
			}
		}
		if h.HasTotalFree {
			s.FreeBytes = ptrTo(h.TotalFree)
		}
		if len(h.Segments) > 0 {
			s.UCRBytes = ptrTo(ucrBytes)
		}
	case KindWine:
		var res, com uint64
		for _, seg := range h.Segments {
			res += seg.Reserved
			com += seg.Reserved - seg.UncommittedBytes
		}
		var vb uint64
		for _, v := range h.VirtualBlocks {
			vb += v.CommitSize
		}
		s.Reserved, s.Committed, s.UCRBytes = ptrTo(res), ptrTo(com), ptrTo(ucrBytes)
		s.UCRCount, s.SegmentCount = ptrTo(uint32(len(h.Segments))), ptrTo(uint32(len(h.Segments)))
		s.VirtualBytes, s.Virt = ptrTo(vb), ptrTo(res)
	}
	if h.Kind == KindNT || h.Kind == KindWine {
		if n, err := h.FreeListLength(); err == nil {
			s.FreeListLength = n
		}
		c := h.walked()
		s.WalkComplete, s.WalkStops = c.res.Complete, c.res.Stops
		if c.res.Headers > 0 {
			s.FreeBlocks, s.WalkFreeBytes, s.LargestFreeBlock = ptrTo(c.res.FreeBlocks), ptrTo(c.res.FreeBytes), ptrTo(c.res.LargestFree)
			s.BusyBlocks, s.BusyBytes = ptrTo(c.res.BusyBlocks+c.res.VirtualBlocks), ptrTo(c.res.BusyBytes+c.res.VirtualBytes)
		}
	}
	s.Problems = append(s.Problems, h.Problems...)
	return s
}

// Stat is the detailed summary of one heap (!heap -s HANDLE): memory in segments,
// free space, the two fragmentation figures and the blocks by size range.
type Stat struct {
	Summary
	// ExternalFragmentation is 1 - largest free block / total free bytes (from the
	// walk); VirtualAddressFragmentation is 1 - committed / reserved (bookkeeping).
	// These are WinDbg's definitions as its users derive them from its output
	// (exchangetuts.com/external-fragmentation-and-virtual-address-fragmentation-in-windbg,
	// a Stack Overflow answer); Microsoft documents neither. Nil when an input is
	// missing or zero.
	ExternalFragmentation       *float64
	VirtualAddressFragmentation *float64
	Segments                    []Segment
	VirtualBlocks               []VirtualBlock
	Histogram                   Histogram
}

// Stat returns the detailed summary, walking the heap once (cached).
func (h *Heap) Stat() Stat {
	st := Stat{Summary: h.Summary(), Segments: h.Segments, VirtualBlocks: h.VirtualBlocks}
	if h.Kind == KindNT || h.Kind == KindWine {
		c := h.walked()
		st.Histogram = append(Histogram(nil), c.hist...)
		if c.res.FreeBytes > 0 {
			st.ExternalFragmentation = ptrTo(1 - float64(c.res.LargestFree)/float64(c.res.FreeBytes))
		}
	}
	if st.Reserved != nil && st.Committed != nil && *st.Reserved > 0 {
		st.VirtualAddressFragmentation = ptrTo(1 - float64(*st.Committed)/float64(*st.Reserved))
	}
	return st
}

// String formats a summary as one `!heap -s` line: handle, flags, reserved,
// committed, virtual and free KB, free-list length, UCRs, virtual blocks, front end.
func (s Summary) String() string {
	kb := func(p *uint64) string {
		if p == nil {
			return "-"
		}
		return fmt.Sprint(*p / 1024)
	}
	n32 := func(p *uint32) string {
		if p == nil {
			return "-"
		}
		return fmt.Sprint(*p)
	}
	free := s.FreeBytes
	if free == nil {
		free = s.WalkFreeBytes
	}
	fl := "-"
	if s.FreeListLength >= 0 {
		fl = fmt.Sprint(s.FreeListLength)
	}
	return fmt.Sprintf("%#x %08x %s %s %s %s %s %s %d %s (%s)", s.Handle, s.Flags, kb(s.Reserved), kb(s.Committed), kb(s.Virt), kb(free),
		fl, n32(s.UCRCount), s.VirtualBlocks, s.FrontEnd, s.Kind)
}
