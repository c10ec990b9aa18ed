package ntheap

import (
	"reflect"
	"testing"
)

// TestLayoutTableConsistent: every row's offsets are in order, inside their
// structure, and the fields that must not overlap do not.
func TestLayoutTableConsistent(t *testing.T) {
	for _, r := range Table {
		l := r.Layout
		p := uint64(l.PointerSize)
		h := l.Heap
		// _HEAP fields in declaration order (Volatility vtypes), with their sizes.
		type f struct {
			name      string
			off, size uint64
		}
		fields := []f{
			{"Segment.UCRSegmentList", l.Segment.UCRSegmentList, 2 * p},
			{"Flags", h.Flags, 4}, {"ForceFlags", h.ForceFlags, 4}, {"EncodeFlagMask", h.EncodeFlagMask, 4},
			{"Encoding", h.Encoding, l.EntrySize}, {"VirtualMemoryThreshold", h.VirtualMemoryThreshold, 4},
			{"Signature", h.Signature, 4}, {"SegmentReserve", h.SegmentReserve, p}, {"SegmentCommit", h.SegmentCommit, p},
			{"TotalFreeSize", h.TotalFreeSize, p}, {"UCRList", h.UCRList, 2 * p}, {"VirtualAllocdBlocks", h.VirtualAllocdBlocks, 2 * p},
			{"SegmentList", h.SegmentList, 2 * p}, {"BlocksIndex", h.BlocksIndex, p}, {"FreeLists", h.FreeLists, 2 * p},
			{"FrontEndHeap", h.FrontEndHeap, p}, {"FrontEndHeapType", h.FrontEndHeapType, 1},
			{"Counters", h.Counters, l.Counters.TotalUCRs + 4},
		}
		for i := 1; i < len(fields); i++ {
			if fields[i].off < fields[i-1].off+fields[i-1].size {
				t.Errorf("%s: %s at %#x overlaps %s at %#x+%#x", l.Name, fields[i].name, fields[i].off, fields[i-1].name, fields[i-1].off, fields[i-1].size)
			}
		}
		if last := fields[len(fields)-1]; last.off+last.size > h.Size {
			t.Errorf("%s: Counters end past sizeof(_HEAP) %#x", l.Name, h.Size)
		}
		for _, o := range []uint64{h.Flags, h.Signature, h.Encoding, h.Counters} {
			if o%4 != 0 {
				t.Errorf("%s: misaligned offset %#x", l.Name, o)
			}
		}
		for _, o := range []uint64{h.SegmentReserve, h.TotalFreeSize, h.UCRList, h.SegmentList, h.FreeLists, h.BlocksIndex, h.FrontEndHeap} {
			if o%p != 0 {
				t.Errorf("%s: pointer field at %#x is not %d-aligned", l.Name, o, p)
			}
		}
		seg := []uint64{l.Segment.Signature, l.Segment.Flags, l.Segment.ListEntry, l.Segment.Heap, l.Segment.BaseAddress, l.Segment.NumberOfPages,
			l.Segment.FirstEntry, l.Segment.LastValidEntry, l.Segment.NumberOfUnCommittedPages, l.Segment.NumberOfUnCommittedRanges, l.Segment.UCRSegmentList}
		for i := 1; i < len(seg); i++ {
			if seg[i] <= seg[i-1] {
				t.Errorf("%s: _HEAP_SEGMENT offsets out of order at %d", l.Name, i)
			}
		}
		if l.Segment.Signature != 2*p || l.EntrySize != 2*p || l.EntryHeader != l.EntrySize-8 || l.FreeListLink != l.EntrySize {
			t.Errorf("%s: entry geometry %+v", l.Name, l)
		}
		if r.MinBuild > r.MaxBuild {
			t.Errorf("%s: build range %d-%d", l.Name, r.MinBuild, r.MaxBuild)
		}
		if l.Source == "" {
			t.Errorf("%s: no source", l.Name)
		}
	}
	// Rows of one bitness do not overlap.
	for i, a := range Table {
		for _, b := range Table[i+1:] {
			if a.Layout.PointerSize == b.Layout.PointerSize && a.Major == b.Major && a.Minor == b.Minor && a.MinBuild <= b.MaxBuild && b.MinBuild <= a.MaxBuild {
				t.Errorf("rows %s and %s overlap", a.Layout.Name, b.Layout.Name)
			}
		}
	}
}

// TestLayoutMatchesSharedDoc compares the rows with the offsets
// ../shared/docs/nt-heap.md gives (read from PDB-generated tables and checked
// against real heap headers there): its _HEAP table and the fields that move
// between Windows 10 builds.
func TestLayoutMatchesSharedDoc(t *testing.T) {
	type doc struct {
		vmt, sig, reserve, commit, totalFree, ucr, virtual, segList, blocksIndex, freeLists uint64
	}
	win7x86 := doc{0x60, 0x64, 0x68, 0x6c, 0x78, 0x90, 0xa0, 0xa8, 0xb8, 0xc4}
	win8x86 := doc{0x5c, 0x60, 0x64, 0x68, 0x74, 0x8c, 0x9c, 0xa4, 0xb4, 0xc0}
	win7x64 := doc{0x9c, 0xa0, 0xa8, 0xb0, 0xc8, 0xf8, 0x118, 0x128, 0x140, 0x158}
	win8x64 := doc{0x94, 0x98, 0xa0, 0xa8, 0xc0, 0xf0, 0x110, 0x120, 0x138, 0x150}
	// FrontEndHeap, FrontEndHeapType, Counters, sizeof(_HEAP).
	type moving struct{ feh, fet, counters, size uint64 }
	for _, c := range []struct {
		major, minor, build uint32
		ptr                 int
		d                   doc
		m                   moving
	}{
		{6, 1, 7601, 4, win7x86, moving{0xd4, 0xda, 0xdc, 0x138}},
		{6, 1, 7601, 8, win7x64, moving{0x178, 0x182, 0x188, 0x208}},
		{6, 3, 9600, 4, win8x86, moving{0xd0, 0xd6, 0x1e0, 0x248}},
		{6, 3, 9600, 8, win8x64, moving{0x170, 0x17a, 0x210, 0x298}},
		{10, 0, 10240, 4, win8x86, moving{0xd0, 0xd6, 0x1e0, 0x248}},
		{10, 0, 10240, 8, win8x64, moving{0x170, 0x17a, 0x210, 0x298}},
		{10, 0, 15063, 4, win8x86, moving{0xd4, 0xda, 0x1e4, 0x248}},
		{10, 0, 15063, 8, win8x64, moving{0x178, 0x182, 0x218, 0x2a0}},
		{10, 0, 17763, 4, win8x86, moving{0xe4, 0xea, 0x1f4, 0x258}},
		{10, 0, 19041, 8, win8x64, moving{0x198, 0x1a2, 0x238, 0x2c0}},
	} {
		l, ok := LayoutFor(OSVersion{c.major, c.minor, c.build}, c.ptr)
		if !ok {
			t.Errorf("no row for %d.%d.%d %d-bit", c.major, c.minor, c.build, c.ptr*8)
			continue
		}
		h := l.Heap
		got := doc{h.VirtualMemoryThreshold, h.Signature, h.SegmentReserve, h.SegmentCommit, h.TotalFreeSize, h.UCRList, h.VirtualAllocdBlocks, h.SegmentList, h.BlocksIndex, h.FreeLists}
		if got != c.d {
			t.Errorf("%s: %+v, nt-heap.md %+v", l.Name, got, c.d)
		}
		if gm := (moving{h.FrontEndHeap, h.FrontEndHeapType, h.Counters, h.Size}); gm != c.m {
			t.Errorf("%s: front end/counters/size %+v, nt-heap.md %+v", l.Name, gm, c.m)
		}
		// Fields the doc gives as the same on every version.
		ptr := uint64(c.ptr)
		if h.Flags != 0x40+0x30*(ptr/8) || h.ForceFlags != h.Flags+4 || h.EncodeFlagMask != h.Flags+0xc || h.Encoding != h.Flags+0x10 {
			t.Errorf("%s: Flags/ForceFlags/EncodeFlagMask/Encoding %#x %#x %#x %#x", l.Name, h.Flags, h.ForceFlags, h.EncodeFlagMask, h.Encoding)
		}
		wantPEB := PEBOffsets{0x18, 0x78, 0x7c, 0x80, 0x84, 0x88, 0x8c, 0x90}
		wantSeg := SegmentOffsets{0x8, 0xc, 0x10, 0x18, 0x1c, 0x20, 0x24, 0x28, 0x2c, 0x30, 0x38}
		wantUCR := UCROffsets{0, 8, 0x10, 0x14}
		wantVA := VirtualOffsets{0x20, 0x10, 0x14, 0x18}
		wantLookup := LookupOffsets{0, 4, 0xc, 0x14, 0x18, 0x1c, 0x20}
		wantCounters := CounterOffsets{0, 4, 8, 0xc, 0x10, 0x14}
		if c.ptr == 8 {
			wantPEB = PEBOffsets{0x30, 0xc8, 0xd0, 0xd8, 0xe0, 0xe8, 0xec, 0xf0}
			wantSeg = SegmentOffsets{0x10, 0x14, 0x18, 0x28, 0x30, 0x38, 0x40, 0x48, 0x50, 0x54, 0x60}
			wantUCR = UCROffsets{0, 0x10, 0x20, 0x28}
			wantVA = VirtualOffsets{0x40, 0x20, 0x28, 0x30}
			wantLookup = LookupOffsets{0, 8, 0x10, 0x18, 0x20, 0x28, 0x30}
			wantCounters = CounterOffsets{0, 8, 0x10, 0x18, 0x20, 0x24}
		}
		for _, cmp := range []struct {
			name      string
			got, want any
		}{{"PEB", l.PEB, wantPEB}, {"_HEAP_SEGMENT", l.Segment, wantSeg}, {"_HEAP_UCR_DESCRIPTOR", l.UCR, wantUCR},
			{"_HEAP_VIRTUAL_ALLOC_ENTRY", l.Virtual, wantVA}, {"_HEAP_LIST_LOOKUP", l.Lookup, wantLookup}, {"_HEAP_COUNTERS", l.Counters, wantCounters}} {
			if !reflect.DeepEqual(cmp.got, cmp.want) {
				t.Errorf("%s: %s %+v, nt-heap.md %+v", l.Name, cmp.name, cmp.got, cmp.want)
			}
		}
	}
}

func TestLayoutFor(t *testing.T) {
	for _, c := range []struct {
		v     OSVersion
		ptr   int
		name  string
		exact bool
	}{
		{OSVersion{6, 1, 7601}, 8, "Windows 7 SP1 x64", true},
		{OSVersion{10, 0, 19045}, 4, "Windows 10 1809-22H2 x86", true},
		{OSVersion{10, 0, 26100}, 8, "Windows 11 24H2+ x64 (1809 layout, unverified)", true},
		{OSVersion{10, 0, 17500}, 8, "Windows 10 1607-1803 x64", false}, // an Insider build between rows
		{OSVersion{6, 0, 6002}, 8, "", false},                           // Vista: no row
	} {
		l, ok := LayoutFor(c.v, c.ptr)
		if l.Name != c.name || ok != c.exact {
			t.Errorf("LayoutFor(%v, %d) = %q, %v; want %q, %v", c.v, c.ptr, l.Name, ok, c.name, c.exact)
		}
	}
}

func TestLayoutValidate(t *testing.T) {
	for _, r := range Table {
		if err := r.Layout.validate(); err != nil {
			t.Errorf("%s: %v", r.Layout.Name, err)
		}
	}
	bad := Table[0].Layout
	bad.Heap.Size = 1 << 40
	if _, err := Open(newFakeMem(), 0x10000, Options{PointerSize: 4, Layout: &bad}); err == nil {
		t.Error("a layout with a 1 TB _HEAP was accepted")
	}
	bad = Table[1].Layout
	bad.EntryHeader = 12
	if _, err := Open(newFakeMem(), 0x10000, Options{PointerSize: 8, Layout: &bad}); err == nil {
		t.Error("a layout with the entry header at +12 was accepted")
	}
}
