package ntheap

import (
	"testing"
)

// TestDiscoverWOW64Synthetic: a WOW64 process has a 64-bit PEB (TEB64+0x60) and a
// 32-bit one (TEB32 = TEB64+0x2000, PEB at +0x30), each with its own heaps. A
// PEB entry whose memory holds no heap header is an attempt, not a heap; a heap
// no PEB lists is found by the scan.
func TestDiscoverWOW64Synthetic(t *testing.T) {
	v := OSVersion{10, 0, 19045}
	l64, _ := LayoutFor(v, 8)
	l32, _ := LayoutFor(v, 4)
	s64 := standardSpec(l64)
	s64.seg2, s64.virtual = nil, nil
	h64 := buildHeap(s64)
	m := h64.m
	// A 32-bit heap at 0x300000 and a second 64-bit heap at 0x600000 that no
	// PEB lists, built into the same memory.
	s32 := standardSpec(l32)
	s32.base, s32.seg2, s32.virtual = 0x300000, nil, nil
	for a, p := range buildHeap(s32).m.pages {
		if a < 0x500000 {
			m.pages[a] = p
		}
	}
	extra := standardSpec(l64)
	extra.base, extra.seg2, extra.virtual = 0x600000, nil, nil
	for a, p := range buildHeap(extra).m.pages {
		if a >= 0x600000 && a < 0x700000 {
			m.pages[a] = p
		}
	}
	const teb, peb64, peb32, arr = 0x7000, 0xc000, 0xd000, 0xe000
	m.commit(teb, 0x8000)
	m.u64(teb+0x60, peb64)
	m.u32(teb+0x2000+0x30, peb32)
	m.u64(peb64+0x30, s64.base)
	m.u32(peb64+0xe8, 2)
	m.u32(peb64+0xec, 16)
	m.u64(peb64+0xf0, arr)
	m.u64(arr, s64.base)
	m.u64(arr+8, 0x400000) // listed, but nothing is captured there
	m.u32(peb32+0x18, 0x300000)
	m.u32(peb32+0x88, 1)
	m.u32(peb32+0x8c, 16)
	m.u32(peb32+0x90, arr+0x100)
	m.u32(arr+0x100, 0x300000)

	cands := func(yield func(uint64) bool) {
		for _, a := range []uint64{s64.base, 0x300000, 0x600000, 0x7000} {
			if !yield(a) {
				return
			}
		}
	}
	d := Discover(DiscoverInput{Memory: m, Version: v, PointerSize: 8, WOW64: true, TEBs: []uint64{teb}, Candidates: cands})
	if len(d.PEBs) != 2 || d.PEBs[0].Addr != peb64 || d.PEBs[1].Addr != peb32 || d.PEBs[1].PointerSize != 4 {
		t.Fatalf("PEBs %+v", d.PEBs)
	}
	type want struct {
		addr    uint64
		ptr     int
		process bool
		methods []Method
	}
	for _, w := range []want{
		{s64.base, 8, true, []Method{MethodPEBProcessHeap, MethodPEBProcessHeaps, MethodSignatureScan}},
		{0x600000, 8, false, []Method{MethodSignatureScan}},
		{0x300000, 4, true, []Method{MethodPEBProcessHeap, MethodPEBProcessHeaps, MethodSignatureScan}},
	} {
		f := d.Get(w.addr, w.ptr)
		if f == nil {
			t.Errorf("heap %#x (%d-bit) not found: %+v", w.addr, w.ptr*8, d.Heaps)
			continue
		}
		if f.Kind != KindNT || f.ProcessHeap != w.process || len(f.FoundBy) != len(w.methods) {
			t.Errorf("heap %#x: %+v", w.addr, f)
			continue
		}
		for i, m := range w.methods {
			if f.FoundBy[i].Method != m || f.FoundBy[i].PointerSize != w.ptr {
				t.Errorf("heap %#x: found by %v, want %v", w.addr, f.FoundBy, w.methods)
			}
		}
		if len(w.methods) > 1 && f.FoundBy[1].Index != 0 {
			t.Errorf("heap %#x: ProcessHeaps index %d", w.addr, f.FoundBy[1].Index)
		}
	}
	if len(d.Heaps) != 3 {
		t.Errorf("%d heaps: %+v", len(d.Heaps), d.Heaps)
	}
	var notHeap bool
	for _, a := range d.Attempts {
		if a.Method == MethodPEBProcessHeaps && a.Addr == 0x400000 && a.Result == ResultNotCaptured {
			notHeap = true
		}
	}
	if !notHeap {
		t.Errorf("no attempt for the uncaptured ProcessHeaps[1]: %v", d.Attempts)
	}
}

// TestDiscoverNoThreads: without threads and candidates, discovery says why it
// found nothing.
func TestDiscoverNoThreads(t *testing.T) {
	d := Discover(DiscoverInput{Memory: newFakeMem(), PointerSize: 8})
	if len(d.Heaps) != 0 || len(d.Attempts) != 1 || d.Attempts[0].Result != ResultEmpty {
		t.Errorf("%+v", d)
	}
}
