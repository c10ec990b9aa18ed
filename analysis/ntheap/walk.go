package ntheap

import (
	"errors"
	"fmt"
	"sort"
)

// BlockType says what a walked block is.
type BlockType uint8

const (
	BlockBusy        BlockType = iota // allocated
	BlockFree                         // free, in the back end's free lists
	BlockVirtual                      // a virtual block (allocated with VirtualAlloc)
	BlockUncommitted                  // an uncommitted range of a segment (no blocks)
)

var blockTypeNames = [...]string{"busy", "free", "virtual", "uncommitted"}

func (t BlockType) String() string {
	if int(t) < len(blockTypeNames) {
		return blockTypeNames[t]
	}
	return fmt.Sprintf("BlockType(%d)", uint8(t))
}

// _HEAP_ENTRY.Flags bits (../shared/docs/nt-heap.md).
const (
	EntryBusy         = 0x01
	EntryExtraPresent = 0x02
	EntryFillPattern  = 0x04
	EntryVirtual      = 0x08
	EntryLast         = 0x10
)

// encodeHeaderFlag in _HEAP.EncodeFlagMask says the entry headers are XORed with
// _HEAP.Encoding.
const encodeHeaderFlag = 0x100000

// Block is one walked block, in the order of the heap's memory (like !heap -a).
type Block struct {
	Addr     uint64 // the block's header (for an uncommitted range: its start)
	Size     uint64 // bytes, header included
	PrevSize uint64 // the previous block's size as this header records it
	Type     BlockType
	Flags    uint8  // the raw entry flags (NT) or block flags (Wine)
	Unused   uint64 // busy blocks: the bytes past the user data (UnusedBytes)
	// Extent is Size except for a Wine free block that runs into its sub-heap's
	// uncommitted tail: Size is then its committed part and Extent its whole size
	// (Wine commits the rest when it hands the block out).
	Extent  uint64
	Segment int // index in Heap.Segments; -1 for virtual blocks
}

// A Stop says where and why a walk ended before the end of the heap.
type Stop struct {
	Addr    uint64
	Segment int
	Reason  string
}

func (s *Stop) String() string { return fmt.Sprintf("at %#x: %s", s.Addr, s.Reason) }

// WalkResult sums a walk.
type WalkResult struct {
	// Complete is true when every segment was walked from its first entry to its
	// end and every block header was captured and valid.
	Complete bool
	// Stops lists where the walk of each incomplete segment ended.
	Stops []Stop

	BusyBlocks, FreeBlocks int
	BusyBytes, FreeBytes   uint64
	LargestFree            uint64 // bytes, header included
	LargestFreeAddr        uint64
	UncommittedRanges      int
	UncommittedBytes       uint64
	VirtualBlocks          int
	VirtualBytes           uint64
	// Headers is the number of block headers read: 0 means the walk could not
	// run at all (no block of the heap was captured).
	Headers int
}

// errStopped ends a walk whose callback returned false.
var errStopped = errors.New("stopped by the caller")

// Walk visits every block of the heap in address order, segment by segment, then
// the virtual blocks, calling fn for each (fn returns false to stop). It keeps
// nothing per block, so it can list a heap of any size. A header that is not
// captured, fails its checksum, or whose size leaves its segment ends that
// segment's walk with a Stop; the other segments are still walked.
func (h *Heap) Walk(fn func(Block) bool) WalkResult {
	var res WalkResult
	res.Complete = true
	if fn == nil {
		fn = func(Block) bool { return true }
	}
	emit := func(b Block) bool {
		if b.Type == BlockBusy || b.Type == BlockFree {
			res.Headers++
		}
		switch b.Type {
		case BlockBusy:
			res.BusyBlocks++
			res.BusyBytes += b.Size
		case BlockFree:
			res.FreeBlocks++
			res.FreeBytes += b.Size
			if b.Size > res.LargestFree {
				res.LargestFree, res.LargestFreeAddr = b.Size, b.Addr
			}
		case BlockUncommitted:
			res.UncommittedRanges++
			res.UncommittedBytes += b.Size
		case BlockVirtual:
			res.VirtualBlocks++
			res.VirtualBytes += b.Size
		}
		return fn(b)
	}
	switch h.Kind {
	case KindNT:
		budget := h.opts.MaxBlocks
		for i := range h.Segments {
			if err := h.walkNTSegment(i, &budget, emit); err != nil {
				res.Complete = false
				if errors.Is(err, errStopped) {
					res.Stops = append(res.Stops, Stop{Segment: i, Reason: errStopped.Error()})
					return res
				}
				var st *stopError
				if errors.As(err, &st) {
					res.Stops = append(res.Stops, st.Stop)
				}
			}
		}
		if len(h.Segments) == 0 {
			res.Complete = false
			res.Stops = append(res.Stops, Stop{Addr: h.Addr, Segment: -1, Reason: "no segment could be read"})
		}
		for _, v := range h.VirtualBlocks {
			if !emit(Block{Addr: v.Addr, Size: v.CommitSize, Type: BlockVirtual, Flags: EntryBusy | EntryVirtual, Segment: -1}) {
				res.Complete = false
				res.Stops = append(res.Stops, Stop{Addr: v.Addr, Segment: -1, Reason: errStopped.Error()})
				return res
			}
		}
		for _, p := range h.Problems {
			if p.What == "_HEAP.SegmentList" || p.What == "_HEAP_SEGMENT" || p.What == "_HEAP.VirtualAllocdBlocks" || p.What == "_HEAP_SEGMENT.UCRSegmentList" {
				res.Complete = false
				res.Stops = append(res.Stops, Stop{Addr: p.Addr, Segment: -1, Reason: p.What + ": " + p.Reason})
			}
		}
	case KindWine:
		h.walkWine(&res, emit)
	default:
		res.Complete = false
		res.Stops = append(res.Stops, Stop{Addr: h.Addr, Segment: -1, Reason: fmt.Sprintf("the blocks of a %s heap are not read", h.Kind)})
	}
	return res
}

type stopError struct{ Stop }

func (e *stopError) Error() string { return e.Stop.String() }

func stopAt(addr uint64, seg int, format string, args ...any) error {
	return &stopError{Stop{Addr: addr, Segment: seg, Reason: fmt.Sprintf(format, args...)}}
}

// entry is a decoded _HEAP_ENTRY header.
type entry struct {
	size, prev        uint64 // bytes
	flags, smallTag   uint8
	segOffset, unused uint8
}

// decodeEntry reads and decodes the header of the entry at addr, checking its
// checksum when the heap encodes headers.
func (h *Heap) decodeEntry(addr uint64) (entry, error) {
	var b [8]byte
	if err := h.m.cached(b[:], addr+h.Layout.EntryHeader, "_HEAP_ENTRY"); err != nil {
		return entry{}, err
	}
	encoded := h.EncodeFlagMask&encodeHeaderFlag != 0
	if encoded {
		for i := range b {
			b[i] ^= h.encoding[i]
		}
		if b[3] != b[0]^b[1]^b[2] {
			return entry{}, fmt.Errorf("checksum byte %#x is not %#x (the XOR of its first three bytes): a damaged header", b[3], b[0]^b[1]^b[2])
		}
	}
	g := h.Granularity()
	return entry{
		size:      uint64(b[0]) | uint64(b[1])<<8,
		flags:     b[2],
		smallTag:  b[3],
		prev:      (uint64(b[4]) | uint64(b[5])<<8) * g,
		segOffset: b[6],
		unused:    b[7],
	}, nil
}

// walkNTSegment walks one segment from FirstEntry to LastValidEntry, stepping over
// its uncommitted ranges.
func (h *Heap) walkNTSegment(i int, budget *int, emit func(Block) bool) error {
	s := &h.Segments[i]
	g := h.Granularity()
	cur := s.FirstEntry
	ucr := 0
	var prevSize uint64
	for cur < s.LastValidEntry {
		for ucr < len(s.UCRs) && s.UCRs[ucr].End() <= cur {
			ucr++
		}
		if ucr < len(s.UCRs) && cur >= s.UCRs[ucr].Addr {
			r := s.UCRs[ucr]
			if !emit(Block{Addr: r.Addr, Size: r.Size, Type: BlockUncommitted, Segment: i}) {
				return errStopped
			}
			cur, prevSize = r.End(), 0
			ucr++
			continue
		}
		limit := s.LastValidEntry
		if ucr < len(s.UCRs) {
			limit = s.UCRs[ucr].Addr
		}
		if *budget <= 0 {
			return stopAt(cur, i, "more than %d blocks (the walk's bound)", h.opts.MaxBlocks)
		}
		*budget--
		e, err := h.decodeEntry(cur)
		if err != nil {
			return stopAt(cur, i, "%v", unwrapRead(err))
		}
		size := e.size * g
		if size == 0 {
			return stopAt(cur, i, "a block of size 0: a damaged header")
		}
		if cur+size > limit || cur+size < cur {
			return stopAt(cur, i, "a block of %#x bytes runs past %#x, the end of the committed range", size, limit)
		}
		if prevSize != 0 && e.prev != prevSize && len(h.Problems) < 256 {
			h.problem(cur, "_HEAP_ENTRY", "PreviousSize %#x does not match the previous block's %#x bytes", e.prev, prevSize)
		}
		b := Block{Addr: cur, Size: size, Extent: size, PrevSize: e.prev, Flags: e.flags, Segment: i}
		if e.flags&EntryBusy != 0 {
			b.Type = BlockBusy
			b.Unused = uint64(e.unused)
		} else {
			b.Type = BlockFree
		}
		if !emit(b) {
			return errStopped
		}
		prevSize = size
		cur += size
	}
	// Uncommitted ranges at the end (an empty one at LastValidEntry included, as
	// Windows keeps such descriptors).
	for ; ucr < len(s.UCRs); ucr++ {
		if r := s.UCRs[ucr]; r.Addr >= cur {
			if !emit(Block{Addr: r.Addr, Size: r.Size, Type: BlockUncommitted, Segment: i}) {
				return errStopped
			}
		}
	}
	return nil
}

// walkCache is the result of the heap's own walk, kept for Summary, Stat and Fit.
type walkCache struct {
	res  WalkResult
	free []FreeBlock // by size, then address
	hist Histogram
	// freeTruncated: more free blocks than kept.
	freeTruncated bool
}

// maxFreeKept bounds the free blocks a heap keeps for Fit.
const maxFreeKept = 1 << 20

// FreeBlock is a free block the walk found.
type FreeBlock struct {
	Addr, Size uint64 // Size in bytes, header included
	// Extent is the block's whole size when part of it is not yet committed (Wine).
	Extent  uint64
	Segment int
}

func (h *Heap) walked() *walkCache {
	if h.walk != nil {
		return h.walk
	}
	c := &walkCache{}
	c.hist = newHistogram()
	c.res = h.Walk(func(b Block) bool {
		switch b.Type {
		case BlockFree:
			if len(c.free) < maxFreeKept {
				c.free = append(c.free, FreeBlock{b.Addr, b.Size, max(b.Extent, b.Size), b.Segment})
			} else {
				c.freeTruncated = true
			}
			c.hist.add(b.Size, false)
		case BlockBusy, BlockVirtual:
			c.hist.add(b.Size, true)
		}
		return true
	})
	sort.Slice(c.free, func(i, j int) bool {
		if c.free[i].Size != c.free[j].Size {
			return c.free[i].Size < c.free[j].Size
		}
		return c.free[i].Addr < c.free[j].Addr
	})
	h.walk = c
	return c
}

// FreeListLength counts the entries of the back end's free list (_HEAP.FreeLists),
// bounded; -1 and the reason when the list could not be walked to its end. Wine:
// the entries of its free lists, sentinels excluded.
func (h *Heap) FreeListLength() (int, error) {
	switch h.Kind {
	case KindNT:
		n := 0
		max := h.opts.MaxListEntries
		err := h.m.walkList(h.Addr+h.Layout.Heap.FreeLists, max, "free", func(link uint64) bool {
			n++
			return true
		})
		if err != nil {
			return -1, err
		}
		return n, nil
	case KindWine:
		return h.wineFreeListLength()
	}
	return -1, fmt.Errorf("a %s heap has no free list this package reads", h.Kind)
}
