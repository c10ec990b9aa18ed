package ntheap

import "fmt"

// A Layout gives the offsets and sizes of the NT heap structures of one Windows
// build and bitness. Every offset is in bytes from the start of its structure. It
// is a plain struct so that a caller holding ntdll's PDB can fill it from the PDB's
// types (_HEAP, _HEAP_SEGMENT, ...) instead of using the built-in tables.
type Layout struct {
	// Name says which Windows versions the layout is for; Source where its offsets
	// come from.
	Name, Source string
	// PointerSize is 4 (x86) or 8 (x64).
	PointerSize int
	// Verified is false for rows no PDB-derived public table confirms; a heap read
	// with such a layout is checked against its own counters (see Summary.LayoutChecked).
	Verified bool

	Heap      HeapOffsets
	Segment   SegmentOffsets
	Counters  CounterOffsets
	UCR       UCROffsets
	Virtual   VirtualOffsets
	Lookup    LookupOffsets
	PEB       PEBOffsets
	TEBToPEB  uint64 // TEB.ProcessEnvironmentBlock
	EntrySize uint64 // sizeof(_HEAP_ENTRY): 8 (x86) or 16 (x64), also the block granularity
	// EntryHeader is where the 8 header bytes (Size, Flags, SmallTagIndex,
	// PreviousSize, SegmentOffset, UnusedBytes) start in a _HEAP_ENTRY: 0 on x86, 8
	// on x64 (after PreviousBlockPrivateData).
	EntryHeader uint64
	// FreeListLink is _HEAP_FREE_ENTRY.FreeList: the LIST_ENTRY after the header.
	FreeListLink uint64
}

// HeapOffsets are fields of _HEAP (the first _HEAP_SEGMENT is its start).
type HeapOffsets struct {
	Size                   uint64 // sizeof(_HEAP)
	Flags, ForceFlags      uint64
	EncodeFlagMask         uint64
	Encoding               uint64 // a _HEAP_ENTRY used as XOR key
	VirtualMemoryThreshold uint64 // ULONG, in granularity units
	Signature              uint64 // 0xEEFFEEFF
	SegmentReserve         uint64
	SegmentCommit          uint64
	TotalFreeSize          uint64 // SIZE_T, in granularity units
	UCRList                uint64 // LIST_ENTRY of _HEAP_UCR_DESCRIPTOR.ListEntry
	VirtualAllocdBlocks    uint64 // LIST_ENTRY of _HEAP_VIRTUAL_ALLOC_ENTRY.Entry
	SegmentList            uint64 // LIST_ENTRY of _HEAP_SEGMENT.SegmentListEntry
	BlocksIndex            uint64 // pointer to _HEAP_LIST_LOOKUP
	FreeLists              uint64 // LIST_ENTRY of _HEAP_FREE_ENTRY.FreeList
	FrontEndHeap           uint64 // pointer
	FrontEndHeapType       uint64 // UCHAR: 0 none, 1 lookaside, 2 LFH
	Counters               uint64 // _HEAP_COUNTERS
}

// SegmentOffsets are fields of _HEAP_SEGMENT.
type SegmentOffsets struct {
	Signature                 uint64 // SegmentSignature, 0xFFEEFFEE
	Flags                     uint64
	ListEntry                 uint64 // SegmentListEntry
	Heap                      uint64
	BaseAddress               uint64
	NumberOfPages             uint64
	FirstEntry                uint64
	LastValidEntry            uint64
	NumberOfUnCommittedPages  uint64
	NumberOfUnCommittedRanges uint64
	UCRSegmentList            uint64
}

// CounterOffsets are fields of _HEAP_COUNTERS, relative to HeapOffsets.Counters.
type CounterOffsets struct {
	TotalMemoryReserved      uint64 // SIZE_T
	TotalMemoryCommitted     uint64 // SIZE_T
	TotalMemoryLargeUCR      uint64 // SIZE_T
	TotalSizeInVirtualBlocks uint64 // SIZE_T
	TotalSegments            uint64 // ULONG
	TotalUCRs                uint64 // ULONG
}

// UCROffsets are fields of _HEAP_UCR_DESCRIPTOR.
type UCROffsets struct {
	ListEntry, SegmentEntry, Address, Size uint64
}

// VirtualOffsets are fields of _HEAP_VIRTUAL_ALLOC_ENTRY (Entry, its list link, is at 0).
type VirtualOffsets struct {
	Size                               uint64 // sizeof, the header before the user data
	CommitSize, ReserveSize, BusyBlock uint64
}

// LookupOffsets are fields of _HEAP_LIST_LOOKUP (BlocksIndex).
type LookupOffsets struct {
	ExtendedLookup, ArraySize, ItemCount, BaseIndex, ListHead, ListsInUseUlong, ListHints uint64
}

// PEBOffsets are the heap fields of the PEB.
type PEBOffsets struct {
	ProcessHeap, HeapSegmentReserve, HeapSegmentCommit             uint64
	HeapDeCommitTotalFreeThreshold, HeapDeCommitFreeBlockThreshold uint64
	NumberOfHeaps, MaximumNumberOfHeaps, ProcessHeaps              uint64
}

// Sources of the tables. Volatility 2's vtypes are generated from the PDBs of the
// Windows kernel, which carries the same Rtl heap types as ntdll.
const (
	srcVol = "Volatility 2 (volatilityfoundation/volatility @ 328a178e), volatility/plugins/overlays/windows/"
)

// Fields that did not move from Windows 7 to Windows 10 22H2 (checked in every
// Volatility vtypes file of the table below).
var (
	segment32 = SegmentOffsets{Signature: 0x8, Flags: 0xc, ListEntry: 0x10, Heap: 0x18, BaseAddress: 0x1c, NumberOfPages: 0x20,
		FirstEntry: 0x24, LastValidEntry: 0x28, NumberOfUnCommittedPages: 0x2c, NumberOfUnCommittedRanges: 0x30, UCRSegmentList: 0x38}
	segment64 = SegmentOffsets{Signature: 0x10, Flags: 0x14, ListEntry: 0x18, Heap: 0x28, BaseAddress: 0x30, NumberOfPages: 0x38,
		FirstEntry: 0x40, LastValidEntry: 0x48, NumberOfUnCommittedPages: 0x50, NumberOfUnCommittedRanges: 0x54, UCRSegmentList: 0x60}
	counters32 = CounterOffsets{0x0, 0x4, 0x8, 0xc, 0x10, 0x14}
	counters64 = CounterOffsets{0x0, 0x8, 0x10, 0x18, 0x20, 0x24}
	ucr32      = UCROffsets{0x0, 0x8, 0x10, 0x14}
	ucr64      = UCROffsets{0x0, 0x10, 0x20, 0x28}
	virtual32  = VirtualOffsets{Size: 0x20, CommitSize: 0x10, ReserveSize: 0x14, BusyBlock: 0x18}
	virtual64  = VirtualOffsets{Size: 0x40, CommitSize: 0x20, ReserveSize: 0x28, BusyBlock: 0x30}
	lookup32   = LookupOffsets{0x0, 0x4, 0xc, 0x14, 0x18, 0x1c, 0x20}
	lookup64   = LookupOffsets{0x0, 0x8, 0x10, 0x18, 0x20, 0x28, 0x30}
	peb32      = PEBOffsets{0x18, 0x78, 0x7c, 0x80, 0x84, 0x88, 0x8c, 0x90}
	peb64      = PEBOffsets{0x30, 0xc8, 0xd0, 0xd8, 0xe0, 0xe8, 0xec, 0xf0}
)

func layout32(name, source string, verified bool, h HeapOffsets) Layout {
	return Layout{Name: name, Source: source, PointerSize: 4, Verified: verified, Heap: h, Segment: segment32, Counters: counters32,
		UCR: ucr32, Virtual: virtual32, Lookup: lookup32, PEB: peb32, TEBToPEB: 0x30, EntrySize: 8, EntryHeader: 0, FreeListLink: 0x8}
}

func layout64(name, source string, verified bool, h HeapOffsets) Layout {
	return Layout{Name: name, Source: source, PointerSize: 8, Verified: verified, Heap: h, Segment: segment64, Counters: counters64,
		UCR: ucr64, Virtual: virtual64, Lookup: lookup64, PEB: peb64, TEBToPEB: 0x60, EntrySize: 16, EntryHeader: 8, FreeListLink: 0x10}
}

// _HEAP rows. Win8 moved everything after Encoding up by one pointer (PointerKey
// went); 1607 added StackTraceInitVar before FrontEndHeap, 1809 CommitLimitData.
var (
	heapWin7x86 = HeapOffsets{Size: 0x138, Flags: 0x40, ForceFlags: 0x44, EncodeFlagMask: 0x4c, Encoding: 0x50, VirtualMemoryThreshold: 0x60,
		Signature: 0x64, SegmentReserve: 0x68, SegmentCommit: 0x6c, TotalFreeSize: 0x78, UCRList: 0x90, VirtualAllocdBlocks: 0xa0,
		SegmentList: 0xa8, BlocksIndex: 0xb8, FreeLists: 0xc4, FrontEndHeap: 0xd4, FrontEndHeapType: 0xda, Counters: 0xdc}
	heapWin7x64 = HeapOffsets{Size: 0x208, Flags: 0x70, ForceFlags: 0x74, EncodeFlagMask: 0x7c, Encoding: 0x80, VirtualMemoryThreshold: 0x9c,
		Signature: 0xa0, SegmentReserve: 0xa8, SegmentCommit: 0xb0, TotalFreeSize: 0xc8, UCRList: 0xf8, VirtualAllocdBlocks: 0x118,
		SegmentList: 0x128, BlocksIndex: 0x140, FreeLists: 0x158, FrontEndHeap: 0x178, FrontEndHeapType: 0x182, Counters: 0x188}

	heapWin8x86 = HeapOffsets{Size: 0x248, Flags: 0x40, ForceFlags: 0x44, EncodeFlagMask: 0x4c, Encoding: 0x50, VirtualMemoryThreshold: 0x5c,
		Signature: 0x60, SegmentReserve: 0x64, SegmentCommit: 0x68, TotalFreeSize: 0x74, UCRList: 0x8c, VirtualAllocdBlocks: 0x9c,
		SegmentList: 0xa4, BlocksIndex: 0xb4, FreeLists: 0xc0, FrontEndHeap: 0xd0, FrontEndHeapType: 0xd6, Counters: 0x1e0}
	heapWin8x64 = HeapOffsets{Size: 0x298, Flags: 0x70, ForceFlags: 0x74, EncodeFlagMask: 0x7c, Encoding: 0x80, VirtualMemoryThreshold: 0x94,
		Signature: 0x98, SegmentReserve: 0xa0, SegmentCommit: 0xa8, TotalFreeSize: 0xc0, UCRList: 0xf0, VirtualAllocdBlocks: 0x110,
		SegmentList: 0x120, BlocksIndex: 0x138, FreeLists: 0x150, FrontEndHeap: 0x170, FrontEndHeapType: 0x17a, Counters: 0x210}
)

func with(h HeapOffsets, size, feh, fet, counters uint64) HeapOffsets {
	h.Size, h.FrontEndHeap, h.FrontEndHeapType, h.Counters = size, feh, fet, counters
	return h
}

var (
	heapRS1x86 = with(heapWin8x86, 0x248, 0xd4, 0xda, 0x1e4)
	heapRS1x64 = with(heapWin8x64, 0x2a0, 0x178, 0x182, 0x218)
	heapRS5x86 = with(heapWin8x86, 0x258, 0xe4, 0xea, 0x1f4)
	heapRS5x64 = with(heapWin8x64, 0x2c0, 0x198, 0x1a2, 0x238)
)

// A TableRow keys a layout by Windows version and build range.
type TableRow struct {
	Major, Minor       uint32
	MinBuild, MaxBuild uint32 // inclusive
	Layout             Layout
}

// Table is the built-in layouts, each row citing the generated vtypes file its
// offsets were read from. Windows 11 has no such public table here: its rows reuse
// the 1809 layout (see docs/heaps.md) and are marked unverified.
var Table = []TableRow{
	{6, 1, 7600, 7601, layout32("Windows 7 SP1 x86", srcVol+"win7_sp1_x86_vtypes.py", true, heapWin7x86)},
	{6, 1, 7600, 7601, layout64("Windows 7 SP1 x64", srcVol+"win7_sp1_x64_vtypes.py", true, heapWin7x64)},
	{6, 2, 9200, 9200, layout32("Windows 8 x86", srcVol+"win8_sp0_x86_vtypes.py", true, heapWin8x86)},
	{6, 2, 9200, 9200, layout64("Windows 8 x64", srcVol+"win8_sp0_x64_vtypes.py", true, heapWin8x64)},
	{6, 3, 9600, 9600, layout32("Windows 8.1 x86", srcVol+"win81_u1_x86_vtypes.py, win8_sp1_x86_vtypes.py", true, heapWin8x86)},
	{6, 3, 9600, 9600, layout64("Windows 8.1 x64", srcVol+"win81_u1_x64_vtypes.py, win8_sp1_x64_vtypes.py", true, heapWin8x64)},
	{10, 0, 10240, 10586, layout32("Windows 10 1507-1511 x86", srcVol+"win10_x86_10240_17770_vtypes.py (10240), win10_x86_44B89EEA_vtypes.py (10586)", true, heapWin8x86)},
	{10, 0, 10240, 10586, layout64("Windows 10 1507-1511 x64", srcVol+"win10_x64_10240_17770_vtypes.py (10240), win10_x64_1AC738FB_vtypes.py (10586)", true, heapWin8x64)},
	{10, 0, 14393, 17134, layout32("Windows 10 1607-1803 x86", srcVol+"win10_x86_9619274A_vtypes.py (14393), win10_x86_15063/16299/17134_vtypes.py", true, heapRS1x86)},
	{10, 0, 14393, 17134, layout64("Windows 10 1607-1803 x64", srcVol+"win10_x64_DD08DD42_vtypes.py (14393), win10_x64_15063/16299/17134_vtypes.py", true, heapRS1x64)},
	{10, 0, 17763, 19045, layout32("Windows 10 1809-22H2 x86", srcVol+"win10_x86_17763/18362/19041_vtypes.py", true, heapRS5x86)},
	{10, 0, 17763, 19045, layout64("Windows 10 1809-22H2 x64", srcVol+"win10_x64_17763/18362/19041_vtypes.py", true, heapRS5x64)},
	{10, 0, 22000, 22631, layout32("Windows 11 21H2-23H2 x86 (1809 layout, unverified)", "assumed: Windows 10 1809 rows; ../shared/docs/nt-heap.md (x64dbg, WinDbg)", false, heapRS5x86)},
	{10, 0, 22000, 22631, layout64("Windows 11 21H2-23H2 x64 (1809 layout, unverified)", "assumed: Windows 10 1809 rows; ../shared/docs/nt-heap.md (x64dbg, WinDbg)", false, heapRS5x64)},
	{10, 0, 26100, 0xffffffff, layout32("Windows 11 24H2+ x86 (1809 layout, unverified)", "assumed: Windows 10 1809 rows; x64dbg PR #3478 reads the same _HEAP head", false, heapRS5x86)},
	{10, 0, 26100, 0xffffffff, layout64("Windows 11 24H2+ x64 (1809 layout, unverified)", "assumed: Windows 10 1809 rows; x64dbg PR #3478 reads the same _HEAP head", false, heapRS5x64)},
}

// OSVersion is the dump's Windows version (MINIDUMP_SYSTEM_INFO).
type OSVersion struct {
	Major, Minor, Build uint32
}

func (v OSVersion) String() string { return fmt.Sprintf("%d.%d.%d", v.Major, v.Minor, v.Build) }

// LayoutFor returns the built-in layout for a Windows version and pointer size, and
// whether the table has a row for that build. Builds between rows take the row
// below them (a later build of the same Windows 10 or 11 release keeps its layout).
func LayoutFor(v OSVersion, ptrSize int) (Layout, bool) {
	var best *TableRow
	for i := range Table {
		r := &Table[i]
		if r.Layout.PointerSize != ptrSize || r.Major != v.Major || r.Minor != v.Minor {
			continue
		}
		if v.Build >= r.MinBuild && v.Build <= r.MaxBuild {
			return r.Layout, true
		}
		if v.Build > r.MaxBuild && (best == nil || r.MaxBuild > best.MaxBuild) {
			best = r
		}
	}
	if best != nil {
		return best.Layout, false
	}
	return Layout{}, false
}

// layoutsFor lists the candidate layouts of a pointer size, the version's own first:
// a heap whose header disagrees with the version's row is tried against the others.
func layoutsFor(v OSVersion, ptrSize int) []Layout {
	var out []Layout
	if l, ok := LayoutFor(v, ptrSize); ok || l.PointerSize != 0 {
		out = append(out, l)
	}
	seen := map[HeapOffsets]bool{}
	for _, l := range out {
		seen[l.Heap] = true
	}
	for _, r := range Table {
		if r.Layout.PointerSize == ptrSize && !seen[r.Layout.Heap] {
			seen[r.Layout.Heap] = true
			out = append(out, r.Layout)
		}
	}
	return out
}

// maxStructSize bounds every offset and size of a caller's Layout: the structures
// are a few hundred bytes; anything larger would make the reader allocate and read
// what the layout says.
const maxStructSize = 0x4000

// validate checks a caller-supplied layout before it is used to size reads.
func (l *Layout) validate() error {
	if l.PointerSize != 4 && l.PointerSize != 8 {
		return fmt.Errorf("ntheap: layout %q: pointer size %d", l.Name, l.PointerSize)
	}
	if l.EntrySize != uint64(2*l.PointerSize) || l.EntryHeader+8 > l.EntrySize {
		return fmt.Errorf("ntheap: layout %q: entry size %d, header at %d", l.Name, l.EntrySize, l.EntryHeader)
	}
	h := l.Heap
	for _, o := range []uint64{h.Size, h.Flags, h.ForceFlags, h.EncodeFlagMask, h.Encoding, h.VirtualMemoryThreshold, h.Signature,
		h.SegmentReserve, h.SegmentCommit, h.TotalFreeSize, h.UCRList, h.VirtualAllocdBlocks, h.SegmentList, h.BlocksIndex,
		h.FreeLists, h.FrontEndHeap, h.FrontEndHeapType, h.Counters, l.Segment.UCRSegmentList, l.Lookup.ListHints, l.Virtual.Size,
		l.UCR.Size, l.PEB.ProcessHeaps, l.TEBToPEB, l.FreeListLink} {
		if o > maxStructSize {
			return fmt.Errorf("ntheap: layout %q: offset %#x is implausible", l.Name, o)
		}
	}
	if h.Counters+l.Counters.TotalUCRs+4 > h.Size || h.Encoding+l.EntrySize > h.Size {
		return fmt.Errorf("ntheap: layout %q: fields past sizeof(_HEAP) %#x", l.Name, h.Size)
	}
	return nil
}
