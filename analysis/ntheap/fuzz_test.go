package ntheap

import (
	"encoding/binary"
	"testing"
)

// sliceMem is fuzz memory: data at base, nothing else captured.
type sliceMem struct {
	base uint64
	data []byte
}

func (m sliceMem) ReadAt(p []byte, va uint64) (int, error) {
	if va < m.base || va-m.base >= uint64(len(m.data)) {
		clear(p)
		return 0, errMissing
	}
	n := copy(p, m.data[va-m.base:])
	if n < len(p) {
		clear(p[n:])
		return n, errMissing
	}
	return n, nil
}

const fuzzBase = 0x10000

// fuzzSeeds returns captured memory of real heaps (the corpus dumps and a
// fixture when present) and of the synthetic heaps, as fuzz seeds.
func fuzzSeeds(f *testing.F, n int) [][]byte {
	var seeds [][]byte
	read := func(r Reader, addr uint64) {
		b := make([]byte, n)
		got, _ := r.ReadAt(b, addr)
		if got > 0 {
			seeds = append(seeds, b[:got])
		}
	}
	if p, ok := corpusPath(rizinDump); ok {
		d := openDump(f, p)
		read(d.mem, 0x10000)
		read(d.mem, 0x20000)
		read(d.mem, 0x580000) // the shifted heap
	}
	if p, ok := corpusPath("syzygy/notepad-larger-32bit.dmp"); ok {
		d := openDump(f, p)
		read(d.mem, 0x8b0000)
	}
	for _, ptr := range []int{4, 8} {
		l, _ := LayoutFor(OSVersion{10, 0, 19045}, ptr)
		spec := standardSpec(l)
		spec.base = fuzzBase
		spec.seg2, spec.virtual = nil, nil
		sh := buildHeap(spec)
		read(sh.m, fuzzBase)
	}
	return seeds
}

func fuzzOptions(sel byte) Options {
	versions := []OSVersion{{6, 1, 7601}, {6, 3, 9600}, {10, 0, 14393}, {10, 0, 19045}, {10, 0, 26100}, {5, 1, 2600}}
	ptr := 8
	if sel&1 == 0 {
		ptr = 4
	}
	return Options{Version: versions[int(sel>>1)%len(versions)], PointerSize: ptr, MaxBlocks: 1 << 16, MaxListEntries: 1 << 12, MaxSegments: 64}
}

// FuzzClassify: header classification never panics and an NT classification is
// backed by both signatures.
func FuzzClassify(f *testing.F) {
	for _, s := range fuzzSeeds(f, 0x400) {
		f.Add(byte(1), s)
		f.Add(byte(6), s)
	}
	f.Fuzz(func(t *testing.T, sel byte, data []byte) {
		opts := fuzzOptions(sel)
		m := sliceMem{fuzzBase, data}
		k, why := Classify(m, fuzzBase, opts)
		if why == "" {
			t.Fatal("no reason given")
		}
		if k == KindNT {
			sig := binary.LittleEndian.Uint32(data[2*opts.PointerSize:])
			if sig != SegmentSignature {
				t.Fatalf("NT heap without the segment signature: %s", why)
			}
		}
	})
}

// FuzzWalk: reading, summarising, walking and fitting a damaged heap terminates
// within its bounds and never panics.
func FuzzWalk(f *testing.F) {
	for _, s := range fuzzSeeds(f, 0x10000) {
		f.Add(byte(1), s)
		f.Add(byte(7), s)
		f.Add(byte(0), s)
	}
	f.Fuzz(func(t *testing.T, sel byte, data []byte) {
		opts := fuzzOptions(sel)
		h, err := Open(sliceMem{fuzzBase, data}, fuzzBase, opts)
		if err != nil {
			return
		}
		s := h.Summary()
		st := h.Stat()
		if st.ExternalFragmentation != nil && (*st.ExternalFragmentation < 0 || *st.ExternalFragmentation > 1) {
			t.Fatalf("external fragmentation %v", *st.ExternalFragmentation)
		}
		n := 0
		res := h.Walk(func(b Block) bool {
			n++
			if b.Type == BlockFree && b.Size == 0 {
				t.Fatalf("empty free block at %#x", b.Addr)
			}
			return true
		})
		if res.BusyBlocks+res.FreeBlocks > opts.MaxBlocks+len(h.Segments) {
			t.Fatalf("walked %d blocks past the bound %d", res.BusyBlocks+res.FreeBlocks, opts.MaxBlocks)
		}
		if s.FreeBlocks != nil && *s.FreeBlocks != res.FreeBlocks {
			t.Fatalf("summary free blocks %d, walk %d", *s.FreeBlocks, res.FreeBlocks)
		}
		for _, size := range []uint64{0, 16, 0x1000, 0x100000, 1 << 40, ^uint64(0) - 8} {
			d := Fit(h.FitInput(), Request{Size: size})
			if d.Outcome == 0 {
				t.Fatalf("no outcome for %#x", size)
			}
		}
	})
}

// FuzzDiscover: discovery from fuzzed TEB/PEB memory is bounded and reports only
// classified heaps.
func FuzzDiscover(f *testing.F) {
	// A seed with a TEB, a PEB, a heap array and a heap: the synthetic x64 heap
	// memory with a TEB at +0xe000 and a PEB at +0xf000.
	for _, s := range fuzzSeeds(f, 0x10000) {
		if len(s) < 0x10000 {
			continue
		}
		b := append([]byte(nil), s...)
		binary.LittleEndian.PutUint64(b[0xe060:], fuzzBase+0xf000)
		binary.LittleEndian.PutUint64(b[0xf030:], fuzzBase)
		binary.LittleEndian.PutUint32(b[0xf0e8:], 2)
		binary.LittleEndian.PutUint32(b[0xf0ec:], 16)
		binary.LittleEndian.PutUint64(b[0xf0f0:], fuzzBase+0xf800)
		binary.LittleEndian.PutUint64(b[0xf800:], fuzzBase)
		binary.LittleEndian.PutUint64(b[0xf808:], fuzzBase+0x100)
		f.Add(byte(1), b)
	}
	f.Fuzz(func(t *testing.T, sel byte, data []byte) {
		opts := fuzzOptions(sel)
		m := sliceMem{fuzzBase, data}
		cands := func(yield func(uint64) bool) {
			for a := uint64(fuzzBase); a < fuzzBase+uint64(len(data)); a += 0x1000 {
				if !yield(a) {
					return
				}
			}
		}
		d := Discover(DiscoverInput{Memory: m, Version: opts.Version, PointerSize: 8, WOW64: sel&2 != 0,
			TEBs: []uint64{fuzzBase + 0xe000, fuzzBase + 0xc000}, Candidates: cands, MaxCandidates: 32})
		for _, h := range d.Heaps {
			if h.Kind == KindUnknown || len(h.FoundBy) == 0 {
				t.Fatalf("reported %+v", h)
			}
		}
	})
}
