package ntheap

import (
	"errors"
	"fmt"
)

// Signatures of heap headers (../shared/docs/nt-heap.md, Volatility vtypes).
const (
	SegmentSignature     = 0xFFEEFFEE // _HEAP_SEGMENT.SegmentSignature, +0x8 (x86) / +0x10 (x64)
	HeapSignature        = 0xEEFFEEFF // _HEAP.Signature, at the layout's offset
	SegmentHeapSignature = 0xDDEEDDEE // _SEGMENT_HEAP.Signature, where NT heaps have SegmentSignature
)

// _HEAP.Flags bits used here (winnt.h).
const (
	FlagGrowable = 0x2 // HEAP_GROWABLE
)

// Kind is the layout of a heap header.
type Kind uint8

const (
	KindUnknown Kind = iota // no heap header this package recognises
	KindNT                  // an NT heap (_HEAP, backend + optional LFH front end)
	KindSegment             // a segment heap (_SEGMENT_HEAP, Windows 10+)
	KindWine                // Wine's heap (dlls/ntdll/heap.c), which imitates only a few _HEAP fields
)

var kindNames = [...]string{"unknown", "nt", "segment", "wine"}

// String returns the JSON name of the layout: "nt", "segment", "wine" or "unknown".
func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return fmt.Sprintf("Kind(%d)", uint8(k))
}

// FrontEnd is the heap's front-end allocator.
type FrontEnd uint8

const (
	FrontEndUnknown   FrontEnd = iota // not read
	FrontEndNone                      // FrontEndHeapType 0: the back end serves every block
	FrontEndLookaside                 // 1: lookaside lists (Windows XP/2003 era)
	FrontEndLFH                       // 2: the low-fragmentation heap
	FrontEndOther                     // another value: damage, or a layout this package does not know
)

var frontEndNames = [...]string{"unknown", "none", "lookaside", "LFH", "other"}

func (f FrontEnd) String() string {
	if int(f) < len(frontEndNames) {
		return frontEndNames[f]
	}
	return fmt.Sprintf("FrontEnd(%d)", uint8(f))
}

// Options control how a heap is read.
type Options struct {
	// Version is the dump's Windows version; it selects the layout.
	Version OSVersion
	// PointerSize is 4 or 8: the bitness of the heap (a WOW64 dump holds both).
	PointerSize int
	// Layout, when set, is used instead of the built-in table (e.g. filled from
	// ntdll's PDB).
	Layout *Layout
	// MaxSegments, MaxListEntries and MaxBlocks bound the walks (0: defaults).
	MaxSegments    int
	MaxListEntries int
	MaxBlocks      int
}

const (
	defaultMaxSegments    = 4096
	defaultMaxListEntries = 1 << 20
	defaultMaxBlocks      = 1 << 26
	pageSize              = 4096
)

func (o *Options) norm() {
	if o.MaxSegments <= 0 {
		o.MaxSegments = defaultMaxSegments
	}
	if o.MaxListEntries <= 0 {
		o.MaxListEntries = defaultMaxListEntries
	}
	if o.MaxBlocks <= 0 {
		o.MaxBlocks = defaultMaxBlocks
	}
}

// Segment is a heap segment: one reservation the heap carves blocks from (Wine:
// a sub-heap).
type Segment struct {
	Addr           uint64 // the _HEAP_SEGMENT header (the heap itself for the first)
	Base           uint64 // BaseAddress
	Reserved       uint64 // NumberOfPages x 4096
	FirstEntry     uint64
	LastValidEntry uint64 // the end of the segment's block area
	// UncommittedBytes (NumberOfUnCommittedPages x 4096) and UncommittedRanges are
	// the segment's own counts.
	UncommittedBytes  uint64
	UncommittedRanges uint32
	// UCRs are the uncommitted ranges read from the segment's UCR list.
	UCRs []Range
}

// Range is an address range [Addr, Addr+Size).
type Range struct{ Addr, Size uint64 }

// End returns the first address past the range.
func (r Range) End() uint64 { return r.Addr + r.Size }

// VirtualBlock is a block the heap allocated with VirtualAlloc because it was above
// VirtualMemoryThreshold (Wine: a "large block").
type VirtualBlock struct {
	Addr        uint64 // the _HEAP_VIRTUAL_ALLOC_ENTRY
	CommitSize  uint64
	ReserveSize uint64
}

// A Problem is damage or an unreadable part found while reading a heap.
type Problem struct {
	Addr   uint64
	What   string
	Reason string
}

func (p Problem) String() string { return fmt.Sprintf("%s at %#x: %s", p.What, p.Addr, p.Reason) }

// Heap is one heap read from dump memory.
type Heap struct {
	Addr        uint64
	Kind        Kind
	PointerSize int
	// Layout is the NT layout used (zero for other kinds); LayoutChecked says the
	// heap's own counters agreed with what its lists hold under that layout.
	Layout        Layout
	LayoutChecked bool
	// Why says what identified the kind (or why none was).
	Why string

	Flags, ForceFlags uint32
	// Bookkeeping fields of the header, in bytes (Has* false: not available).
	VirtualMemoryThreshold uint64
	SegmentReserve         uint64
	SegmentCommit          uint64
	TotalFree              uint64 // TotalFreeSize x granularity
	HasTotalFree           bool
	Counters               Counters
	HasCounters            bool
	EncodeFlagMask         uint32
	encoding               [8]byte
	FrontEnd               FrontEnd
	FrontEndAddr           uint64
	// FreeListBlocks is the sum of ItemCount over BlocksIndex (the number of free
	// back-end blocks the heap's lookup structure counts); -1 when not read.
	FreeListBlocks int

	Segments      []Segment
	VirtualBlocks []VirtualBlock
	Problems      []Problem

	// SegmentHeapGlobalFlags is _SEGMENT_HEAP.GlobalFlags (segment heaps only).
	SegmentHeapGlobalFlags uint32

	m                  *mem
	opts               Options
	segmentsIncomplete bool
	wine               *wineHeap
	walk               *walkCache
}

// Counters are _HEAP_COUNTERS, in bytes and counts.
type Counters struct {
	TotalMemoryReserved      uint64
	TotalMemoryCommitted     uint64
	TotalMemoryLargeUCR      uint64
	TotalSizeInVirtualBlocks uint64
	TotalSegments            uint32
	TotalUCRs                uint32
}

// Granularity returns the block unit: 8 bytes on x86, 16 on x64.
func (h *Heap) Granularity() uint64 { return uint64(2 * h.PointerSize) }

// Growable reports HEAP_GROWABLE in the heap's flags.
func (h *Heap) Growable() bool { return h.Flags&FlagGrowable != 0 }

func (h *Heap) problem(addr uint64, what, format string, args ...any) {
	if len(h.Problems) < 256 {
		h.Problems = append(h.Problems, Problem{addr, what, fmt.Sprintf(format, args...)})
	}
}

// ErrNotHeap is returned (wrapped) by Open when no heap header is found at the address.
var ErrNotHeap = errors.New("ntheap: not a heap header")

// Open reads the heap whose header is at addr. It recognises NT heaps, segment
// heaps and Wine heaps (Heap.Kind); for an address that holds none of them it
// returns the classification (Kind unknown, Why saying what was there) and an error
// wrapping ErrNotHeap. The reads are bounded by opts; damage stops the affected
// part and is recorded in Heap.Problems.
func Open(r Reader, addr uint64, opts Options) (*Heap, error) {
	opts.norm()
	if opts.PointerSize != 4 && opts.PointerSize != 8 {
		return nil, fmt.Errorf("ntheap: pointer size %d (want 4 or 8)", opts.PointerSize)
	}
	if opts.Layout != nil {
		if err := opts.Layout.validate(); err != nil {
			return nil, err
		}
	}
	h := &Heap{Addr: addr, PointerSize: opts.PointerSize, m: newMem(r, opts.PointerSize), opts: opts, FreeListBlocks: -1}
	c := classify(h.m, addr, opts)
	h.Kind, h.Why = c.kind, c.why
	switch c.kind {
	case KindNT:
		h.Layout = c.layout
		h.readNT()
	case KindWine:
		h.readWine()
	case KindSegment:
		h.readSegmentHeap()
	default:
		return h, fmt.Errorf("%w at %#x: %s", ErrNotHeap, addr, c.why)
	}
	return h, nil
}
