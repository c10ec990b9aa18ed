package ntheap

import (
	"strings"
	"testing"
)

// A synthetic NT heap, built from a layout's offsets the way ntdll lays a heap
// out: the _HEAP at base is the first segment; blocks from FirstEntry, each header
// XOR-encoded with _HEAP.Encoding and carrying the checksum byte
// (../shared/docs/nt-heap.md); an uncommitted range at the end of the first
// segment; a second segment; virtual blocks; free blocks on _HEAP.FreeLists;
// BlocksIndex counting them; optionally an LFH front end.
type synthBlock struct {
	size   uint64 // bytes, header included
	busy   bool
	unused uint8
}

type synthSpec struct {
	l       Layout
	base    uint64
	blocks  []synthBlock // segment 0, filling its committed part
	ucr     uint64       // uncommitted bytes after segment 0's blocks
	seg2    []synthBlock // a second segment (nil: none)
	virtual []uint64     // virtual block sizes
	lfh     bool
	plain   bool // headers not encoded (EncodeFlagMask 0)
	flags   uint32
}

type synthHeap struct {
	m         *fakeMem
	spec      synthSpec
	key       [8]byte
	entries   [][]uint64 // per segment, block addresses
	free      uint64     // bytes
	freeAddrs []uint64
	reserved  uint64
	committed uint64
	segs      []uint64
}

const (
	synthAux  = 0x00f00000 // where the UCR descriptors, lookup and LFH header go
	synthSeg2 = 0x00800000
	synthVirt = 0x00c00000
)

func (s *synthHeap) putEntry(addr, size, prev uint64, flags, unused uint8) {
	l := s.spec.l
	g := l.EntrySize
	units := size / g
	b := []byte{byte(units), byte(units >> 8), flags, 0, byte(prev / g), byte(prev / g >> 8), 0, unused}
	b[3] = b[0] ^ b[1] ^ b[2]
	if !s.spec.plain {
		for i := range b {
			b[i] ^= s.key[i]
		}
	}
	s.m.write(addr+l.EntryHeader, b)
}

// link appends node (a LIST_ENTRY address) to the list whose head is at head.
func (s *synthHeap) link(head, node uint64) {
	p := s.spec.l.PointerSize
	last, _ := newMem(s.m, p).ptrAt(head+uint64(p), "")
	s.m.ptr(node, head, p)
	s.m.ptr(node+uint64(p), last, p)
	s.m.ptr(last, node, p)
	s.m.ptr(head+uint64(p), node, p)
}

func (s *synthHeap) initList(head uint64) {
	p := s.spec.l.PointerSize
	s.m.ptr(head, head, p)
	s.m.ptr(head+uint64(p), head, p)
}

var auxNext uint64

func buildHeap(spec synthSpec) *synthHeap {
	l := spec.l
	p := l.PointerSize
	g := l.EntrySize
	s := &synthHeap{m: newFakeMem(), spec: spec, key: [8]byte{0x3c, 0xa5, 0x5a, 0x11, 0x77, 0x19, 0x00, 0x00}}
	m := s.m
	base := spec.base
	aux := uint64(synthAux)
	m.commit(aux, 0x10000)
	hdrEnd := alignUp(base+l.Heap.Size, g)
	// Header.
	m.commit(base, 0x1000)
	for _, head := range []uint64{l.Heap.UCRList, l.Heap.VirtualAllocdBlocks, l.Heap.SegmentList, l.Heap.FreeLists} {
		s.initList(base + head)
	}
	writeSeg := func(seg, first uint64, blocks []synthBlock, ucr uint64) {
		m.u32(seg+l.Segment.Signature, SegmentSignature)
		m.ptr(seg+l.Segment.Heap, base, p)
		m.ptr(seg+l.Segment.BaseAddress, seg, p)
		addr := first
		var prev uint64
		var list []uint64
		for i, b := range blocks {
			flags := uint8(0)
			if b.busy {
				flags = EntryBusy
			} else {
				s.free += b.size
				s.freeAddrs = append(s.freeAddrs, addr)
				s.link(base+l.Heap.FreeLists, addr+l.FreeListLink)
			}
			if i == len(blocks)-1 && ucr == 0 {
				flags |= EntryLast
			}
			s.putEntry(addr, b.size, prev, flags, b.unused)
			list = append(list, addr)
			prev = b.size
			addr += b.size
		}
		s.entries = append(s.entries, list)
		end := addr + ucr
		m.ptr(seg+l.Segment.FirstEntry, first, p)
		m.ptr(seg+l.Segment.LastValidEntry, end, p)
		m.u32(seg+l.Segment.NumberOfPages, uint32((end-seg)/pageSize))
		m.u32(seg+l.Segment.NumberOfUnCommittedPages, uint32(ucr/pageSize))
		s.initList(seg + l.Segment.UCRSegmentList)
		if ucr > 0 {
			m.u32(seg+l.Segment.NumberOfUnCommittedRanges, 1)
			d := aux
			aux += 0x100
			m.ptr(d+l.UCR.Address, addr, p)
			m.ptr(d+l.UCR.Size, ucr, p)
			s.link(base+l.Heap.UCRList, d+l.UCR.ListEntry)
			s.link(seg+l.Segment.UCRSegmentList, d+l.UCR.SegmentEntry)
		}
		s.link(base+l.Heap.SegmentList, seg+l.Segment.ListEntry)
		s.reserved += end - seg
		s.committed += end - seg - ucr
		s.segs = append(s.segs, seg)
	}
	// Segments end on a page boundary: a busy block pads the last page.
	pad := func(first uint64, blocks []synthBlock) ([]synthBlock, uint64) {
		blocks = append([]synthBlock(nil), blocks...)
		end := first
		for _, b := range blocks {
			end += b.size
		}
		if fill := alignUp(end, pageSize) - end; fill > 0 {
			blocks = append(blocks, synthBlock{fill, true, 0})
			end += fill
		}
		return blocks, end - first
	}
	blocks, total := pad(hdrEnd, spec.blocks)
	m.commit(base, hdrEnd-base+total)
	writeSeg(base, hdrEnd, blocks, spec.ucr)
	if spec.seg2 != nil {
		first := alignUp(synthSeg2+l.Segment.UCRSegmentList+2*uint64(p), g)
		blocks, t2 := pad(first, spec.seg2)
		m.commit(synthSeg2, first-synthSeg2+t2)
		writeSeg(synthSeg2, first, blocks, 0)
	}
	var vbytes uint64
	for i, v := range spec.virtual {
		a := uint64(synthVirt) + uint64(i)*0x100000
		m.commit(a, 0x1000)
		m.ptr(a+l.Virtual.CommitSize, v, p)
		m.ptr(a+l.Virtual.ReserveSize, v, p)
		s.link(base+l.Heap.VirtualAllocdBlocks, a)
		vbytes += v
	}
	// The heap's fields.
	flags := spec.flags
	if flags == 0 {
		flags = FlagGrowable
	}
	m.u32(base+l.Heap.Flags, flags)
	if !spec.plain {
		m.u32(base+l.Heap.EncodeFlagMask, encodeHeaderFlag)
		m.write(base+l.Heap.Encoding+l.EntryHeader, s.key[:])
	}
	m.u32(base+l.Heap.Signature, HeapSignature)
	m.u32(base+l.Heap.VirtualMemoryThreshold, 0xfe00)
	m.ptr(base+l.Heap.SegmentReserve, 0x100000, p)
	m.ptr(base+l.Heap.SegmentCommit, 0x2000, p)
	m.ptr(base+l.Heap.TotalFreeSize, s.free/g, p)
	lookup := aux
	aux += 0x100
	m.u32(lookup+l.Lookup.ArraySize, 0x80)
	m.u32(lookup+l.Lookup.ItemCount, uint32(len(s.freeAddrs)))
	m.ptr(base+l.Heap.BlocksIndex, lookup, p)
	if spec.lfh {
		lfh := aux
		aux += 0x100
		m.ptr(base+l.Heap.FrontEndHeap, lfh, p)
		m.u8(base+l.Heap.FrontEndHeapType, 2)
	}
	c := base + l.Heap.Counters
	m.ptr(c+l.Counters.TotalMemoryReserved, s.reserved, p)
	m.ptr(c+l.Counters.TotalMemoryCommitted, s.committed, p)
	m.ptr(c+l.Counters.TotalSizeInVirtualBlocks, vbytes, p)
	m.u32(c+l.Counters.TotalSegments, uint32(len(s.segs)))
	ucrs := uint32(0)
	if spec.ucr > 0 {
		ucrs = 1
	}
	m.u32(c+l.Counters.TotalUCRs, ucrs)
	return s
}

func standardSpec(l Layout) synthSpec {
	g := l.EntrySize
	return synthSpec{
		l: l, base: 0x00500000,
		blocks: []synthBlock{{4 * g, true, 3}, {10 * g, false, 0}, {2 * g, true, 0}, {0x300 * g, true, 7}, {30 * g, false, 0}}, // fill to a page boundary below

		ucr:     0x8000,
		seg2:    []synthBlock{{8 * g, true, 1}, {0x1f0 * g, false, 0}},
		virtual: []uint64{0x200000, 0x180000},
		lfh:     true,
	}
}

// TestSyntheticHeaps builds a heap from every row of the layout table and reads
// it back: each version and bitness the package supports.
func TestSyntheticHeaps(t *testing.T) {
	for _, row := range Table {
		l := row.Layout
		t.Run(l.Name, func(t *testing.T) {
			spec := standardSpec(l)
			sh := buildHeap(spec)
			h, err := Open(sh.m, spec.base, Options{Version: OSVersion{row.Major, row.Minor, row.MinBuild}, PointerSize: l.PointerSize})
			if err != nil {
				t.Fatal(err)
			}
			if h.Kind != KindNT || h.Layout.Name != l.Name || !h.LayoutChecked || len(h.Problems) != 0 {
				t.Fatalf("kind %s layout %q checked %v problems %v (%s)", h.Kind, h.Layout.Name, h.LayoutChecked, h.Problems, h.Why)
			}
			s := h.Summary()
			if !s.WalkComplete || *s.WalkFreeBytes != sh.free || *s.FreeBytes != sh.free || *s.FreeBlocks != len(sh.freeAddrs) {
				t.Errorf("walk %v free %d/%d bytes %d; built %d blocks %d bytes (stops %v)", s.WalkComplete, *s.FreeBlocks, *s.WalkFreeBytes, *s.FreeBytes, len(sh.freeAddrs), sh.free, s.WalkStops)
			}
			if *s.Reserved != sh.reserved || *s.Committed != sh.committed || *s.SegmentCount != 2 || *s.UCRCount != 1 || *s.UCRBytes != spec.ucr {
				t.Errorf("bookkeeping %+v", s)
			}
			if s.VirtualBlocks != 2 || *s.VirtualBytes != 0x380000 || s.FrontEnd != FrontEndLFH || s.FrontEndAddr == 0 {
				t.Errorf("virtual %d/%d front end %s %#x", s.VirtualBlocks, *s.VirtualBytes, s.FrontEnd, s.FrontEndAddr)
			}
			if s.FreeListLength != len(sh.freeAddrs) || s.IndexedFreeBlocks != len(sh.freeAddrs) {
				t.Errorf("free list %d, BlocksIndex %d, built %d", s.FreeListLength, s.IndexedFreeBlocks, len(sh.freeAddrs))
			}
			want := uint64(0x1f0 * l.EntrySize)
			if *s.LargestFreeBlock != want {
				t.Errorf("largest free %#x, want %#x", *s.LargestFreeBlock, want)
			}
			// The walk visits the blocks in order, with their sizes and previous sizes.
			var addrs []uint64
			var prev uint64
			h.Walk(func(b Block) bool {
				if b.Type == BlockBusy || b.Type == BlockFree {
					addrs = append(addrs, b.Addr)
					if b.Segment == 0 && prev != 0 && b.PrevSize != prev {
						t.Errorf("block %#x: previous size %#x, want %#x", b.Addr, b.PrevSize, prev)
					}
					prev = b.Size
				}
				return true
			})
			var all []uint64
			for _, e := range sh.entries {
				all = append(all, e...)
			}
			if len(addrs) != len(all) {
				t.Fatalf("walked %d blocks, built %d", len(addrs), len(all))
			}
			for i := range all {
				if addrs[i] != all[i] {
					t.Errorf("block %d at %#x, want %#x", i, addrs[i], all[i])
				}
			}
		})
	}
}

// TestSyntheticDamage: a corrupt entry, a list cycle and a missing page give a
// partial walk that says where and why it stopped, never a loop.
func TestSyntheticDamage(t *testing.T) {
	for _, ptr := range []int{4, 8} {
		row := Table[len(Table)-1]
		for _, r := range Table {
			if r.Layout.PointerSize == ptr && r.Major == 10 && r.MinBuild == 17763 {
				row = r
			}
		}
		l := row.Layout
		opts := Options{Version: OSVersion{row.Major, row.Minor, row.MinBuild}, PointerSize: ptr}
		t.Run(l.Name, func(t *testing.T) {
			spec := standardSpec(l)

			// A corrupt entry: one byte of the fourth header flipped.
			sh := buildHeap(spec)
			bad := sh.entries[0][3]
			var b [1]byte
			sh.m.ReadAt(b[:], bad+l.EntryHeader)
			sh.m.u8(bad+l.EntryHeader, b[0]^0x40)
			h, err := Open(sh.m, spec.base, opts)
			if err != nil {
				t.Fatal(err)
			}
			res := h.Walk(nil)
			if res.Complete || len(res.Stops) != 1 || res.Stops[0].Addr != bad || !strings.Contains(res.Stops[0].Reason, "checksum") {
				t.Errorf("corrupt entry: complete %v stops %v", res.Complete, res.Stops)
			}
			// The second segment is still walked.
			if res.FreeBlocks != 2 { // block 1 of segment 0, block 1 of segment 1
				t.Errorf("free blocks %d after the corrupt entry", res.FreeBlocks)
			}
			// A request no seen block serves depends on what the walk missed.
			d := Fit(h.FitInput(), Request{Size: 0x3000 * uint64(ptr)})
			if d.Outcome != OutcomeCommit && d.Outcome != OutcomeNewSegment && d.Outcome != OutcomeDepends {
				t.Errorf("fit after damage: %v", d.Outcome)
			}
			if len(d.Open) == 0 {
				t.Errorf("fit after damage says nothing is open: %v", d.Steps)
			}

			// A cycle in the free list: the last free entry's Flink points back to
			// the first free entry instead of the head.
			sh = buildHeap(spec)
			lastFree := sh.freeAddrs[len(sh.freeAddrs)-1] + l.FreeListLink
			sh.m.ptr(lastFree, sh.freeAddrs[0]+l.FreeListLink, ptr)
			h, _ = Open(sh.m, spec.base, opts)
			if n, err := h.FreeListLength(); n != -1 || err == nil {
				t.Errorf("cyclic free list: length %d err %v", n, err)
			}
			// A cycle that keeps every Blink consistent (A <-> B, never back to
			// the head) is caught by the cycle check.
			sh = buildHeap(spec)
			a, bb := sh.freeAddrs[0]+l.FreeListLink, sh.freeAddrs[1]+l.FreeListLink
			head := spec.base + l.Heap.FreeLists
			sh.m.ptr(head, a, ptr)
			sh.m.ptr(a, bb, ptr)
			sh.m.ptr(a+uint64(ptr), head, ptr)
			sh.m.ptr(bb, a, ptr)
			sh.m.ptr(bb+uint64(ptr), a, ptr)
			h, _ = Open(sh.m, spec.base, opts)
			if n, err := h.FreeListLength(); n != -1 || err == nil {
				t.Errorf("A<->B cycle: length %d err %v", n, err)
			}
			// A cycle in the segment list.
			sh = buildHeap(spec)
			seg2link := uint64(synthSeg2) + l.Segment.ListEntry
			sh.m.ptr(seg2link, seg2link, ptr)
			h, _ = Open(sh.m, spec.base, opts)
			if len(h.Problems) == 0 || h.Walk(nil).Complete {
				t.Errorf("segment list cycle: problems %v", h.Problems)
			}

			// A page of blocks not captured.
			sh = buildHeap(spec)
			gap := sh.entries[0][4] &^ 0xfff
			if gap == spec.base {
				t.Fatalf("block 4 at %#x is in the header page", sh.entries[0][4])
			}
			sh.m.drop(gap, 0x1000)
			h, _ = Open(sh.m, spec.base, opts)
			res = h.Walk(nil)
			if res.Complete || len(res.Stops) == 0 || !strings.Contains(res.Stops[0].Reason, "not captured") {
				t.Errorf("missing page: %v", res.Stops)
			}
		})
	}
}

// TestSyntheticPlainHeaders: a heap whose EncodeFlagMask is 0 keeps its headers
// in clear (no checksum to check).
func TestSyntheticPlainHeaders(t *testing.T) {
	l := Table[0].Layout
	spec := standardSpec(l)
	spec.plain = true
	sh := buildHeap(spec)
	h, err := Open(sh.m, spec.base, Options{Version: OSVersion{6, 1, 7601}, PointerSize: 4})
	if err != nil {
		t.Fatal(err)
	}
	if res := h.Walk(nil); !res.Complete || res.FreeBytes != sh.free {
		t.Errorf("plain headers: %+v", res)
	}
}

// TestLayoutProbe: a heap of a Windows 10 1607 layout read with a dump that says
// 1809 (or a build the table does not know) is still read: the counters of the
// 1809 row disagree with the segments, those of the 1607 row agree.
func TestLayoutProbe(t *testing.T) {
	var rs1 Layout
	for _, r := range Table {
		if r.Layout.PointerSize == 8 && r.MinBuild == 14393 {
			rs1 = r.Layout
		}
	}
	spec := standardSpec(rs1)
	sh := buildHeap(spec)
	h, err := Open(sh.m, spec.base, Options{Version: OSVersion{10, 0, 19045}, PointerSize: 8})
	if err != nil {
		t.Fatal(err)
	}
	if h.Layout.Name != rs1.Name || !h.LayoutChecked || h.FrontEnd != FrontEndLFH {
		t.Errorf("layout %q checked %v front end %s; problems %v", h.Layout.Name, h.LayoutChecked, h.FrontEnd, h.Problems)
	}
}
