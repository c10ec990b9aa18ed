package ntheap

import (
	"testing"
)

const rizinDump = "rizin-testbins/crash-0a4b90615b8dd830e86ef1c4e5e80ea9"

// TestRizinWin7x64Heaps checks the two complete x64 NT heaps of the Windows 7
// WOW64 dump against numbers read by hand from a hexdump of the dump's memory and
// against each heap's own bookkeeping.
//
// Hand decoding (heap 0x10000, Encoding at +0x88 = 79 f9 34 64 7f ed 00 00,
// EncodeFlagMask 0x100000): the entry at 0x10a80 has header bytes 2d f9 30 34 d7
// ed 00 00, XOR the key = 54 00 04 50 a8 00 00 00: Size 0x54 units = 0x540 bytes,
// Flags 0x04 (free), checksum 0x50 = 0x54^0x00^0x04, PreviousSize 0xa8 units. The
// entry at 0x10fc0: 7d f9 35 61 2b ed 00 03 -> 04 00 01 05 54 00 00 03: 0x40
// bytes, busy, checksum 0x05, PreviousSize 0x540, 3 unused bytes. Then the UCR
// 0x11000-0x20000. TotalFreeSize (+0xc8) = 0x54 units = 0x540 bytes; Counters
// (+0x188): reserved 0x10000, committed 0x1000, 1 segment, 1 UCR.
func TestRizinWin7x64Heaps(t *testing.T) {
	d := openDump(t, corpusFile(t, rizinDump))
	if d.version != (OSVersion{6, 1, 7601}) || d.ptr != 8 {
		t.Fatalf("dump is %v, %d-bit; want Windows 7 SP1 x64", d.version, d.ptr*8)
	}
	type blk struct {
		addr, size uint64
		typ        BlockType
		unused     uint64
	}
	for _, tc := range []struct {
		addr                                uint64
		flags, force                        uint32
		reserved, committed, free, ucrBytes uint64
		segments, ucrs                      uint32
		firstEntry, lastValid               uint64
		blocks                              []blk
		largestFree                         uint64
		vmt, segReserve, segCommit          uint64
	}{
		{0x10000, 0x40008060, 0x40000060, 0x10000, 0x1000, 0x540, 0xf000, 1, 1, 0x10a80, 0x20000,
			[]blk{{0x10a80, 0x540, BlockFree, 0}, {0x10fc0, 0x40, BlockBusy, 3}, {0x11000, 0xf000, BlockUncommitted, 0}}, 0x540,
			0xff00 * 16, 0x100000, 0x2000},
		// 0x20000: fully committed; its UCR descriptor describes an empty range at
		// the segment's end (Address 0x30000, Size 0).
		{0x20000, 0x40008060, 0x40000060, 0x10000, 0x10000, 0xf540, 0, 1, 1, 0x20a80, 0x30000,
			[]blk{{0x20a80, 0xf540, BlockFree, 0}, {0x2ffc0, 0x40, BlockBusy, 3}, {0x30000, 0, BlockUncommitted, 0}}, 0xf540,
			0xff00 * 16, 0x100000, 0x2000},
	} {
		h := d.open(t, tc.addr, 8)
		if h.Kind != KindNT || h.Layout.Name != "Windows 7 SP1 x64" || !h.LayoutChecked {
			t.Fatalf("%#x: kind %s layout %q checked %v (%s)", tc.addr, h.Kind, h.Layout.Name, h.LayoutChecked, h.Why)
		}
		if h.Flags != tc.flags || h.ForceFlags != tc.force || h.VirtualMemoryThreshold != tc.vmt || h.SegmentReserve != tc.segReserve || h.SegmentCommit != tc.segCommit {
			t.Errorf("%#x: flags %#x/%#x vmt %#x reserve %#x commit %#x", tc.addr, h.Flags, h.ForceFlags, h.VirtualMemoryThreshold, h.SegmentReserve, h.SegmentCommit)
		}
		s := h.Summary()
		if *s.Reserved != tc.reserved || *s.Committed != tc.committed || *s.FreeBytes != tc.free || *s.UCRBytes != tc.ucrBytes ||
			*s.SegmentCount != tc.segments || *s.UCRCount != tc.ucrs || s.FrontEnd != FrontEndNone || s.VirtualBlocks != 0 {
			t.Errorf("%#x: summary %+v", tc.addr, s)
		}
		if len(h.Segments) != 1 || h.Segments[0].FirstEntry != tc.firstEntry || h.Segments[0].LastValidEntry != tc.lastValid {
			t.Errorf("%#x: segments %+v", tc.addr, h.Segments)
		}
		var got []blk
		h.Walk(func(b Block) bool {
			got = append(got, blk{b.Addr, b.Size, b.Type, b.Unused})
			return true
		})
		if len(got) != len(tc.blocks) {
			t.Fatalf("%#x: walked %+v, want %+v", tc.addr, got, tc.blocks)
		}
		for i := range got {
			if got[i] != tc.blocks[i] {
				t.Errorf("%#x: block %d = %+v, want %+v", tc.addr, i, got[i], tc.blocks[i])
			}
		}
		if !s.WalkComplete || *s.FreeBlocks != 1 || *s.LargestFreeBlock != tc.largestFree || *s.BusyBlocks != 1 {
			t.Errorf("%#x: walk %v free %d largest %d busy %d", tc.addr, s.WalkComplete, *s.FreeBlocks, *s.LargestFreeBlock, *s.BusyBlocks)
		}
		// The heap's own bookkeeping agrees with the walk.
		if *s.WalkFreeBytes != *s.FreeBytes {
			t.Errorf("%#x: walked free bytes %#x != TotalFreeSize x 16 = %#x", tc.addr, *s.WalkFreeBytes, *s.FreeBytes)
		}
		if h.Segments[0].Reserved != *s.Reserved || *s.Reserved-h.Segments[0].UncommittedBytes != *s.Committed {
			t.Errorf("%#x: pages %#x - uncommitted %#x vs counters %#x/%#x", tc.addr, h.Segments[0].Reserved, h.Segments[0].UncommittedBytes, *s.Reserved, *s.Committed)
		}
		if s.IndexedFreeBlocks != 1 || s.FreeListLength != 1 {
			t.Errorf("%#x: BlocksIndex items %d, free list length %d; want 1 and 1", tc.addr, s.IndexedFreeBlocks, s.FreeListLength)
		}
		if len(h.Problems) != 0 {
			t.Errorf("%#x: problems %v", tc.addr, h.Problems)
		}
	}
}

// TestRizinDiscovery: the dump's TEB is not captured and its MemoryInfoList is
// fuzzed, so only the scan of the captured ranges finds heaps: the two complete
// x64 heaps, and not the later heaps, whose bytes the fuzzer shifted by 4 (their
// signatures sit at +0x14 and +0xc instead of +0x10 and +0x8).
func TestRizinDiscovery(t *testing.T) {
	d := openDump(t, corpusFile(t, rizinDump))
	ranges, _ := d.f.Memory64List()
	cands := func(yield func(uint64) bool) {
		for _, r := range ranges {
			if !yield(r.Start) {
				return
			}
		}
	}
	disc := Discover(DiscoverInput{Memory: d.mem, Version: d.version, PointerSize: 8, WOW64: true, TEBs: d.tebs, Candidates: cands})
	if len(disc.Heaps) != 2 || disc.Heaps[0].Addr != 0x10000 || disc.Heaps[1].Addr != 0x20000 {
		t.Fatalf("heaps %+v", disc.Heaps)
	}
	for _, h := range disc.Heaps {
		if h.Kind != KindNT || h.PointerSize != 8 || len(h.FoundBy) != 1 || h.FoundBy[0].Method != MethodSignatureScan {
			t.Errorf("heap %+v", h)
		}
	}
	notCaptured := 0
	for _, a := range disc.Attempts {
		if a.Method == MethodTEB && a.Result == ResultNotCaptured {
			notCaptured++
		}
	}
	if notCaptured != 2 { // the 64-bit TEB and the 32-bit one at +0x2000
		t.Errorf("TEB attempts: %v", disc.Attempts)
	}
	// The shifted heaps: a heap header is there, 4 bytes off, and must not be
	// reported at the region base.
	for _, c := range []struct {
		addr uint64
		ptr  int
	}{{0x580000, 8}, {0x760000, 4}, {0x9f0000, 4}} {
		if k, why := Classify(d.mem, c.addr, Options{Version: d.version, PointerSize: c.ptr}); k != KindUnknown {
			t.Errorf("%#x classified as %s (%s)", c.addr, k, why)
		}
	}
}

// TestNotepadWin7x86Header: the 32-bit notepad dump captured the process heap's
// header page but not its blocks. Values read by hand from the hexdump of
// 0x8b0000 (Windows 7 SP1 x86 offsets): Flags 0x40000062, ForceFlags 0x40000060,
// EncodeFlagMask 0x100000, VirtualMemoryThreshold 0xfe00 units, SegmentReserve
// 0x100000, SegmentCommit 0x2000, TotalFreeSize 0x227 units (0x1138 bytes);
// Counters at +0xdc: reserved 0x100000, committed 0x8000, large UCR 0xf8000, 1
// segment, 1 UCR; the segment: 0x100 pages, FirstEntry 0x8b0588, LastValidEntry
// 0x9b0000, 0xf8 uncommitted pages in 1 range. PEB 0x7efde000: ProcessHeap
// 0x8b0000, HeapSegmentReserve 0x100000, HeapSegmentCommit 0x2000, NumberOfHeaps 1
// of 16, ProcessHeaps 0x77b64760 (not captured).
func TestNotepadWin7x86Header(t *testing.T) {
	d := openDump(t, corpusFile(t, "syzygy/notepad-larger-32bit.dmp"))
	disc := Discover(DiscoverInput{Memory: d.mem, Version: d.version, PointerSize: 4, TEBs: d.tebs})
	if len(disc.PEBs) != 1 {
		t.Fatalf("PEBs %+v attempts %v", disc.PEBs, disc.Attempts)
	}
	p := disc.PEBs[0]
	want := PEBInfo{Addr: 0x7efde000, PointerSize: 4, ProcessHeap: 0x8b0000, NumberOfHeaps: 1, MaximumNumberOfHeaps: 16, ProcessHeaps: 0x77b64760,
		HeapSegmentReserve: 0x100000, HeapSegmentCommit: 0x2000, HeapDeCommitTotalFreeThreshold: 0x10000, HeapDeCommitFreeBlockThreshold: 0x1000}
	if p != want {
		t.Errorf("PEB %+v\nwant %+v", p, want)
	}
	if len(disc.Heaps) != 1 || disc.Heaps[0].Addr != 0x8b0000 || !disc.Heaps[0].ProcessHeap || disc.Heaps[0].FoundBy[0].Method != MethodPEBProcessHeap {
		t.Fatalf("heaps %+v", disc.Heaps)
	}
	var arrayAttempt bool
	for _, a := range disc.Attempts {
		if a.Method == MethodPEBProcessHeaps && a.Result == ResultNotCaptured && a.Addr == 0x77b64760 {
			arrayAttempt = true
		}
	}
	if !arrayAttempt {
		t.Errorf("no not-captured attempt for ProcessHeaps: %v", disc.Attempts)
	}

	h := d.open(t, 0x8b0000, 4)
	if h.Layout.Name != "Windows 7 SP1 x86" || !h.LayoutChecked {
		t.Fatalf("layout %q checked %v: %v", h.Layout.Name, h.LayoutChecked, h.Problems)
	}
	s := h.Summary()
	if s.Flags != 0x40000062 || s.ForceFlags != 0x40000060 || h.EncodeFlagMask != 0x100000 || s.VirtualMemoryThreshold != 0xfe00*8 ||
		s.SegmentReserve != 0x100000 || s.SegmentCommit != 0x2000 {
		t.Errorf("header %+v", s)
	}
	if *s.Reserved != 0x100000 || *s.Committed != 0x8000 || *s.LargeUCRBytes != 0xf8000 || *s.SegmentCount != 1 || *s.UCRCount != 1 ||
		*s.FreeBytes != 0x227*8 || *s.UCRBytes != 0xf8000 || *s.Virt != 0x8000 {
		t.Errorf("bookkeeping %+v", s)
	}
	seg := h.Segments[0]
	if seg.Reserved != 0x100000 || seg.FirstEntry != 0x8b0588 || seg.LastValidEntry != 0x9b0000 || seg.UncommittedRanges != 1 {
		t.Errorf("segment %+v", seg)
	}
	// The heap's own numbers agree: pages = reserved, reserved - uncommitted = committed.
	if seg.Reserved != *s.Reserved || seg.Reserved-seg.UncommittedBytes != *s.Committed {
		t.Errorf("segment pages disagree with the counters")
	}
	// The blocks are not captured: the walk could not run, so its values are nil.
	if s.WalkComplete || s.FreeBlocks != nil || s.LargestFreeBlock != nil || len(s.WalkStops) == 0 || s.WalkStops[0].Addr != 0x8b0588 {
		t.Errorf("walk: complete %v free %v stops %v", s.WalkComplete, s.FreeBlocks, s.WalkStops)
	}
}

// TestMozillaWin10x86Heap: a Firefox crash dump of Windows 10 2004 (build 19041,
// x86) captured the process heap's header and its second segment's header but
// not the rest of the segment list. Values read by hand from a hexdump of
// 0x4fa0000 with the 1809-22H2 x86 offsets (Volatility win10_x86_19041_vtypes):
// Flags 2 (growable), EncodeFlagMask 0x100000, VirtualMemoryThreshold 0xfe00
// units, SegmentReserve 0x800000, SegmentCommit 0x2000, TotalFreeSize 0x2027c
// units, FrontEndHeap (+0xe4) 0x5450000 with FrontEndHeapType 2 (LFH) at +0xea; Counters
// at +0x1f4: reserved 0x771000, committed 0x463000, large UCR 0x24a000, 4
// segments, 8 UCRs. Segment 1 (the heap): 0x3f pages, entries 0x4fa04a8-0x4fdf000;
// segment 2 at 0x7180000: 0xff pages, 0xb uncommitted; its Flink 0x15600010 is
// not captured.
func TestMozillaWin10x86Heap(t *testing.T) {
	d := openDump(t, corpusFile(t, "mozilla-pgo/windows-x86.dmp"))
	disc := Discover(DiscoverInput{Memory: d.mem, Version: d.version, PointerSize: 4, TEBs: d.tebs})
	if f := disc.Get(0x4fa0000, 4); f == nil || !f.ProcessHeap || f.Kind != KindNT {
		t.Fatalf("process heap not found: %+v %v", disc.Heaps, disc.Attempts)
	}
	h := d.open(t, 0x4fa0000, 4)
	if h.Layout.Name != "Windows 10 1809-22H2 x86" || h.FrontEnd != FrontEndLFH || h.FrontEndAddr != 0x5450000 {
		t.Errorf("layout %q front end %s %#x", h.Layout.Name, h.FrontEnd, h.FrontEndAddr)
	}
	want := Counters{TotalMemoryReserved: 0x771000, TotalMemoryCommitted: 0x463000, TotalMemoryLargeUCR: 0x24a000, TotalSegments: 4, TotalUCRs: 8}
	if h.Counters != want {
		t.Errorf("counters %+v, want %+v", h.Counters, want)
	}
	if h.Flags != 2 || h.EncodeFlagMask != 0x100000 || h.VirtualMemoryThreshold != 0xfe00*8 || h.SegmentReserve != 0x800000 ||
		h.SegmentCommit != 0x2000 || h.TotalFree != 0x2027c*8 {
		t.Errorf("header: flags %#x mask %#x vmt %#x reserve %#x commit %#x free %#x", h.Flags, h.EncodeFlagMask, h.VirtualMemoryThreshold, h.SegmentReserve, h.SegmentCommit, h.TotalFree)
	}
	if len(h.Segments) != 2 || h.Segments[0].Reserved != 0x3f000 || h.Segments[0].FirstEntry != 0x4fa04a8 ||
		h.Segments[1].Addr != 0x7180000 || h.Segments[1].Reserved != 0xff000 || h.Segments[1].UncommittedBytes != 0xb000 {
		t.Errorf("segments %+v", h.Segments)
	}
	// The counters cannot be checked against an incomplete segment list, and
	// the walk says it is incomplete.
	if h.LayoutChecked || h.Walk(nil).Complete {
		t.Errorf("checked %v with an incomplete segment list", h.LayoutChecked)
	}
	var sawList bool
	for _, p := range h.Problems {
		sawList = sawList || (p.What == "_HEAP.SegmentList" && p.Addr == 0x4fa00a4)
	}
	if !sawList {
		t.Errorf("problems %v", h.Problems)
	}
}
