package ntheap

import (
	"testing"
)

// TestFitSynthetic decides requests on a synthetic x64 heap whose free blocks
// (0xa0, 0x1e0 and 0x1f00 bytes), uncommitted range (0x8000 bytes),
// SegmentReserve (1 MB) and VirtualMemoryThreshold (0xfe00 units) are known.
func TestFitSynthetic(t *testing.T) {
	l, _ := LayoutFor(OSVersion{10, 0, 19045}, 8)
	spec := standardSpec(l)
	spec.lfh = false
	sh := buildHeap(spec)
	h, err := Open(sh.m, spec.base, Options{Version: OSVersion{10, 0, 19045}, PointerSize: 8})
	if err != nil {
		t.Fatal(err)
	}
	in := h.FitInput()
	for _, c := range []struct {
		size    uint64
		outcome Outcome
		block   uint64
		free    uint64 // the serving free block's size
		commit  uint64
		reserve uint64
		min     uint64
		virtual uint64
	}{
		{0x90, OutcomeFreeBlock, 0xa0, 0xa0, 0, 0, 0, 0},       // best fit: the 0xa0 block, not a larger one
		{0x100, OutcomeFreeBlock, 0x110, 0x1e0, 0, 0, 0, 0},    // the smallest block that holds 0x110
		{0x1ef0, OutcomeFreeBlock, 0x1f00, 0x1f00, 0, 0, 0, 0}, // exactly the largest
		{0x2000, OutcomeCommit, 0x2010, 0, 0x3000, 0, 0, 0},    // the UCR of 0x8000 takes 3 pages
		{0x9000, OutcomeNewSegment, 0x9010, 0, 0, 0x100000, 0xb000, 0},
		{0x100000, OutcomeVirtualAlloc, 0x100010, 0, 0, 0, 0, 0x101000},
	} {
		d := Fit(in, Request{Size: c.size})
		if d.Outcome != c.outcome || d.Block != c.block {
			t.Errorf("%#x: %s block %#x, want %s %#x (%v)", c.size, d.Outcome, d.Block, c.outcome, c.block, d.Steps)
			continue
		}
		switch c.outcome {
		case OutcomeFreeBlock:
			if d.Free == nil || d.Free.Size != c.free {
				t.Errorf("%#x: served by %+v, want the %#x-byte block", c.size, d.Free, c.free)
			}
		case OutcomeCommit:
			if d.Commit == nil || d.Commit.Bytes != c.commit || d.Commit.Range.Size != 0x8000 || d.Commit.SegmentBase != spec.base {
				t.Errorf("%#x: commit %+v", c.size, d.Commit)
			}
		case OutcomeNewSegment:
			if d.NewSegment == nil || d.NewSegment.Reserve != c.reserve || d.NewSegment.Min != c.min {
				t.Errorf("%#x: new segment %+v", c.size, d.NewSegment)
			}
		case OutcomeVirtualAlloc:
			if d.VirtualAlloc != c.virtual {
				t.Errorf("%#x: VirtualAlloc %#x", c.size, d.VirtualAlloc)
			}
		}
		if len(d.Open) != 0 {
			t.Errorf("%#x: open %v on a complete walk without LFH", c.size, d.Open)
		}
	}

	// A heap with a maximum size: no new segment, no virtual block.
	fixed := in
	fixed.Growable = false
	if d := Fit(fixed, Request{Size: 0x9000}); d.Outcome != OutcomeFail {
		t.Errorf("fixed heap, 0x9000: %s", d.Outcome)
	}
	if d := Fit(fixed, Request{Size: 0x100000}); d.Outcome != OutcomeFail {
		t.Errorf("fixed heap, 1 MB: %s", d.Outcome)
	}
	// With the LFH, a small request no back-end block serves stays open.
	lfh := fixed
	lfh.FrontEnd = FrontEndLFH
	lfh.Segments = nil // no uncommitted room either
	if d := Fit(lfh, Request{Size: 0x3000}); d.Outcome != OutcomeDepends || len(d.Open) != 1 {
		t.Errorf("fixed LFH heap, 0x3000: %s %v", d.Outcome, d.Open)
	}
	if d := Fit(lfh, Request{Size: 0x5000}); d.Outcome != OutcomeFail { // above the LFH's 16 KB
		t.Errorf("fixed LFH heap, 0x5000: %s", d.Outcome)
	}
	// Other kinds are not modelled.
	if d := Fit(FitInput{Kind: KindSegment}, Request{Size: 1}); d.Outcome != OutcomeUnknown {
		t.Errorf("segment heap: %s", d.Outcome)
	}
}

// TestFitWineFixtures: every HeapAlloc probe of the process heap succeeded in the
// fixture processes (truth "probes"); Fit never answers fail for them, serves the
// small ones from a free block of the walk (or its uncommitted tail) and sends the
// large ones to VirtualAlloc.
func TestFitWineFixtures(t *testing.T) {
	for _, fx := range fullFixtures(t) {
		t.Run(fx.name, func(t *testing.T) {
			d := openDump(t, fx.path)
			h := d.open(t, hexAddr(t, fx.truth.ProcessHeap), 8)
			in := h.FitInput()
			for _, size := range []uint64{4 << 10, 50 << 10, 64 << 10, 512 << 10, 1020 << 10, 1 << 20, 256 << 20} {
				dec := Fit(in, Request{Size: size})
				switch {
				case dec.Outcome == OutcomeFail || dec.Outcome == OutcomeDepends:
					t.Errorf("%d: %s, but the probe succeeded (%v)", size, dec.Outcome, dec.Steps)
				case dec.Block < h.VirtualMemoryThreshold && dec.Outcome != OutcomeFreeBlock && dec.Outcome != OutcomeCommit:
					t.Errorf("%d: %s, the 4 MB sub-heap has room (%v)", size, dec.Outcome, dec.Steps)
				case dec.Block >= h.VirtualMemoryThreshold && dec.Outcome != OutcomeVirtualAlloc:
					t.Errorf("%d: %s, want virtual alloc", size, dec.Outcome)
				}
				if dec.Free != nil {
					s := h.Segments[dec.Free.Segment]
					if dec.Free.Addr < s.FirstEntry || dec.Free.Addr+dec.Free.Extent > s.Base+s.Reserved {
						t.Errorf("%d: free block %+v outside its sub-heap %+v", size, dec.Free, s)
					}
				}
			}
		})
	}
}
