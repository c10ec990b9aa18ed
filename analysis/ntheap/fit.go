package ntheap

import (
	"fmt"
	"sort"
)

// FitInput is what Fit needs to know of a heap: plain values, so that a caller can
// build one by hand (in tests) or combine the decision with the region map.
type FitInput struct {
	Kind        Kind
	PointerSize int
	Growable    bool
	// VirtualMemoryThreshold in bytes: larger blocks become virtual blocks (NT:
	// block > threshold; Wine: block >= threshold).
	VirtualMemoryThreshold uint64
	SegmentReserve         uint64 // NT: the next segment's reservation; Wine: grow_size
	SegmentCommit          uint64
	FrontEnd               FrontEnd
	// Free are the free blocks the walk found; FreeComplete says the walk saw the
	// whole heap (else a free block may have been missed: WalkStops say where).
	Free         []FreeBlock
	FreeComplete bool
	WalkStops    []Stop
	// Segments are the segments with their uncommitted ranges.
	Segments []Segment
}

// FitInput returns the heap's values for Fit (walking the heap once, cached).
func (h *Heap) FitInput() FitInput {
	in := FitInput{Kind: h.Kind, PointerSize: h.PointerSize, Growable: h.Growable(), VirtualMemoryThreshold: h.VirtualMemoryThreshold,
		SegmentReserve: h.SegmentReserve, SegmentCommit: h.SegmentCommit, FrontEnd: h.FrontEnd, Segments: h.Segments}
	if h.Kind == KindNT || h.Kind == KindWine {
		c := h.walked()
		in.Free, in.FreeComplete, in.WalkStops = c.free, c.res.Complete && !c.freeTruncated, c.res.Stops
	}
	return in
}

// Outcome is how a heap would serve a request.
type Outcome uint8

const (
	// OutcomeFreeBlock: a free block of the heap serves it (Decision.Free).
	OutcomeFreeBlock Outcome = iota + 1
	// OutcomeCommit: a segment commits pages of its reserved room (Decision.Commit).
	OutcomeCommit
	// OutcomeNewSegment: the heap must reserve a new segment (Decision.NewSegment):
	// whether that fits is the address space's question, which the caller answers.
	OutcomeNewSegment
	// OutcomeVirtualAlloc: the block is above the virtual-memory threshold and
	// asks VirtualAlloc for Decision.VirtualAlloc bytes.
	OutcomeVirtualAlloc
	// OutcomeFail: no free block, no room, and the heap cannot grow.
	OutcomeFail
	// OutcomeDepends: no free block seen, no room, the heap cannot grow, but the
	// front end or damage leaves it open (Decision.Open says which).
	OutcomeDepends
	// OutcomeUnknown: the heap's kind is not one Fit models (segment heap, unknown).
	OutcomeUnknown
)

var outcomeNames = [...]string{"", "free block", "commit", "new segment", "virtual alloc", "fail", "depends", "unknown"}

func (o Outcome) String() string {
	if int(o) < len(outcomeNames) && o != 0 {
		return outcomeNames[o]
	}
	return fmt.Sprintf("Outcome(%d)", uint8(o))
}

// Request is an allocation asked of the heap (HeapAlloc(heap, Flags, Size)).
type Request struct {
	Size  uint64
	Flags uint32 // HeapAlloc flags; they do not change the decision
}

// CommitRoom is uncommitted room of a segment that can take the block.
type CommitRoom struct {
	Segment     int
	SegmentBase uint64
	Range       Range  // the uncommitted range
	Bytes       uint64 // what the heap commits: the block rounded to pages
}

// NewSegment is the reservation a growable heap tries when nothing else serves a
// block: Reserve first, then (NT) halving on failure down to Min.
type NewSegment struct {
	Reserve, Min uint64
	// Granularity is the alignment of the reservation (64 KB).
	Granularity uint64
}

// Decision is Fit's answer.
type Decision struct {
	Outcome Outcome
	// Block is the block the request needs: the size plus the header, rounded to
	// the granularity (bytes).
	Block        uint64
	Free         *FreeBlock
	Commit       *CommitRoom
	NewSegment   *NewSegment
	VirtualAlloc uint64
	// Open lists what could make a negative answer wrong: the front end may hold
	// a free slot, or the walk stopped before seeing every free block. When
	// Outcome is NewSegment and the new segment does not fit, the caller's verdict
	// is "depends" (on these) rather than "fail" if Open is not empty.
	Open []string
	// Steps explain the decision in order.
	Steps []string
}

func alignUp(v, a uint64) uint64 {
	if a == 0 {
		return v
	}
	return (v + a - 1) / a * a
}

// lfhMaxBlock is the largest block the LFH serves: 16 KB (Microsoft,
// "Low-fragmentation Heap": "the LFH ... for allocations smaller than 16 KB").
const lfhMaxBlock = 16 << 10

// Fit decides how the heap described by in would serve req, following the
// allocation order of the heap manager: the free blocks (best fit: the smallest
// that is large enough, as the NT back end's size-indexed ListHints give, and as
// Wine's size-ordered free lists give), then uncommitted room in a segment, then a
// new segment (growable heaps only). Blocks above the virtual-memory threshold go
// to VirtualAlloc directly; a heap with a maximum size refuses them (HeapCreate
// documentation: such heaps serve blocks "slightly less than 512 KB" on x86 and
// 1024 KB on x64 at most).
func Fit(in FitInput, req Request) Decision {
	var d Decision
	say := func(format string, args ...any) { d.Steps = append(d.Steps, fmt.Sprintf(format, args...)) }
	if in.Kind != KindNT && in.Kind != KindWine {
		d.Outcome = OutcomeUnknown
		say("a %s heap: its allocator is not modelled", in.Kind)
		return d
	}
	g := uint64(2 * in.PointerSize)
	if in.Kind == KindNT {
		// NT: the 8/16-byte _HEAP_ENTRY plus the request, in granularity units.
		d.Block = alignUp(req.Size+g, g)
	} else {
		// Wine 8.0 heap_get_block_size: an 8-byte header, at least BLOCK_ALIGN of
		// data, rounded, and at least HEAP_MIN_BLOCK_SIZE.
		d.Block = alignUp(max(req.Size, g)+8, g)
		// HEAP_MIN_BLOCK_SIZE: 24 (x86), 48 (x64).
		if in.PointerSize == 4 {
			d.Block = max(d.Block, 24)
		} else {
			d.Block = max(d.Block, 48)
		}
	}
	if d.Block < req.Size {
		d.Outcome = OutcomeFail
		say("a request of %#x bytes overflows the block size", req.Size)
		return d
	}
	say("the request needs a block of %d bytes (header included)", d.Block)
	virtual := d.Block > in.VirtualMemoryThreshold
	if in.Kind == KindWine {
		virtual = d.Block >= in.VirtualMemoryThreshold
	}
	if in.VirtualMemoryThreshold > 0 && virtual {
		if !in.Growable {
			d.Outcome = OutcomeFail
			say("the block is above the heap's virtual-memory threshold (%d bytes) and the heap has a maximum size: such heaps refuse it", in.VirtualMemoryThreshold)
			return d
		}
		hdr := uint64(0x20)
		if in.PointerSize == 8 {
			hdr = 0x40
		}
		if req.Size+hdr+pageSize < req.Size {
			d.Outcome = OutcomeFail
			say("a request of %#x bytes overflows the address space", req.Size)
			return d
		}
		d.Outcome, d.VirtualAlloc = OutcomeVirtualAlloc, alignUp(req.Size+hdr, pageSize)
		say("the block is above the virtual-memory threshold (%d bytes): the heap asks VirtualAlloc for %d bytes (the request and a %d-byte header, in pages)", in.VirtualMemoryThreshold, d.VirtualAlloc, hdr)
		return d
	}

	// 1. The free blocks: the smallest that holds the block.
	var best *FreeBlock
	i := sort.Search(len(in.Free), func(i int) bool { return in.Free[i].Size >= d.Block })
	if i < len(in.Free) {
		best = &in.Free[i]
	}
	if in.Kind == KindWine {
		// A Wine free block at the end of a sub-heap also owns the uncommitted
		// tail after it (Extent): look at every block's Extent.
		for k := range in.Free {
			f := &in.Free[k]
			if max(f.Extent, f.Size) >= d.Block && (best == nil || max(f.Extent, f.Size) < max(best.Extent, best.Size)) {
				best = f
			}
		}
	}
	if best != nil {
		fb := *best
		d.Free = &fb
		if fb.Size >= d.Block {
			d.Outcome = OutcomeFreeBlock
			say("the free block at %#x (%d bytes) serves it", fb.Addr, fb.Size)
		} else {
			d.Outcome = OutcomeCommit
			d.Commit = &CommitRoom{Segment: fb.Segment, Range: Range{fb.Addr + fb.Size, fb.Extent - fb.Size}, Bytes: alignUp(d.Block-fb.Size, 0x10000)}
			if fb.Segment >= 0 && fb.Segment < len(in.Segments) {
				d.Commit.SegmentBase = in.Segments[fb.Segment].Base
			}
			say("the free block at %#x (%d bytes committed, %d with the uncommitted tail of its sub-heap) serves it once the heap commits %d more bytes", fb.Addr, fb.Size, fb.Extent, d.Commit.Bytes)
		}
		if in.FrontEnd == FrontEndLFH && d.Block <= lfhMaxBlock {
			say("blocks of this size may be served by the LFH front end instead, from a subsegment it carves out of the back end")
		}
		return d
	}
	var largest uint64
	for _, f := range in.Free {
		largest = max(largest, f.Size)
	}
	say("no free block of the %d found is large enough (the largest is %d bytes)", len(in.Free), largest)
	if !in.FreeComplete {
		for _, s := range in.WalkStops {
			d.Open = append(d.Open, fmt.Sprintf("the walk stopped %s: a free block beyond it was not seen", s.String()))
		}
		if len(d.Open) == 0 {
			d.Open = append(d.Open, "the walk of the heap is incomplete: a free block may have been missed")
		}
	}
	if in.FrontEnd == FrontEndLFH && d.Block <= lfhMaxBlock {
		d.Open = append(d.Open, "the LFH front end may hold a free slot of this size in one of its subsegments (not decoded)")
	}

	// 2. Uncommitted room in a segment (NT: a UCR of at least the block in pages).
	if in.Kind == KindNT {
		need := alignUp(d.Block, pageSize)
		for si, s := range in.Segments {
			for _, r := range s.UCRs {
				if r.Size >= need {
					d.Outcome = OutcomeCommit
					d.Commit = &CommitRoom{Segment: si, SegmentBase: s.Base, Range: r, Bytes: need}
					say("the segment at %#x has an uncommitted range %#x-%#x (%d bytes): the heap commits %d bytes there", s.Base, r.Addr, r.End(), r.Size, need)
					return d
				}
			}
		}
		say("no segment has an uncommitted range of %d bytes", need)
	}

	// 3. A new segment.
	if !in.Growable {
		if len(d.Open) > 0 {
			d.Outcome = OutcomeDepends
			say("the heap has a maximum size and cannot grow: it depends on what the walk could not see")
			return d
		}
		d.Outcome = OutcomeFail
		say("the heap has a maximum size and cannot grow")
		return d
	}
	d.Outcome = OutcomeNewSegment
	if in.Kind == KindNT {
		// ReactOS RtlpExtendHeap (../shared/docs/windows-memory.md): SegmentReserve
		// if the block and a page fit in it, else the block and a page; halving on
		// failure down to the block and a page.
		min := alignUp(d.Block+pageSize, pageSize)
		res := in.SegmentReserve
		if res < min {
			res = min
		}
		d.NewSegment = &NewSegment{Reserve: res, Min: min, Granularity: 0x10000}
		say("the heap reserves a new segment of %d bytes (SegmentReserve), halving on failure down to %d", res, min)
		return d
	}
	// Wine 8.0 find_free_block: max(grow_size, total) where total is the SUBHEAP,
	// the block and a free entry; on failure grow_size halves while it is above
	// both total and 4 MB.
	l := wineLayoutFor(in.PointerSize)
	total := l.shSize + d.Block + 2*g
	gs := in.SegmentReserve
	res := max(gs, total)
	min := res
	for gs > total && gs > 4<<20 {
		gs /= 2
		min = max(gs, total)
	}
	d.NewSegment = &NewSegment{Reserve: res, Min: min, Granularity: 0x10000}
	say("Wine reserves a new sub-heap of %d bytes (grow_size), halving on failure down to %d", res, min)
	return d
}
