package ntheap

import (
	"testing"
)

// largeSynthetic builds an x64 heap whose first segment holds n blocks of 64 bytes,
// every third one free.
func largeSynthetic(n int) (*synthHeap, Options) {
	l, _ := LayoutFor(OSVersion{10, 0, 19045}, 8)
	spec := synthSpec{l: l, base: 0x10000000, ucr: 0x10000}
	spec.blocks = make([]synthBlock, n)
	for i := range spec.blocks {
		spec.blocks[i] = synthBlock{64, i%3 != 0, 8}
	}
	return buildHeap(spec), Options{Version: OSVersion{10, 0, 19045}, PointerSize: 8}
}

// BenchmarkWalkSynthetic walks a heap of 1M blocks (64 MB) through the
// Walk callback, which keeps nothing per block.
func BenchmarkWalkSynthetic(b *testing.B) {
	const n = 1 << 20
	sh, opts := largeSynthetic(n)
	h, err := Open(sh.m, sh.spec.base, opts)
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	var blocks int
	for b.Loop() {
		res := h.Walk(nil)
		if !res.Complete || res.BusyBlocks+res.FreeBlocks < n {
			b.Fatalf("walk %+v", res)
		}
		blocks += res.BusyBlocks + res.FreeBlocks
	}
	b.ReportMetric(float64(blocks)/b.Elapsed().Seconds(), "blocks/s")
}

// BenchmarkSummaryFixture reads and summarises the largest heap of the fixture lab
// (heaps-full: 4 sub-heaps, 32 MB reserved, 4,230 blocks) from the dump file.
func BenchmarkSummaryFixture(b *testing.B) {
	var path string
	for _, fx := range fullFixtures(b) {
		if fx.name == "heaps" {
			path = fx.path
		}
	}
	if path == "" {
		b.Skip("heaps-full fixture missing")
	}
	d := openDump(b, path)
	b.ResetTimer()
	for b.Loop() {
		h, err := Open(d.mem, 0x10a0000, Options{Version: d.version, PointerSize: 8})
		if err != nil {
			b.Fatal(err)
		}
		if s := h.Summary(); !s.WalkComplete {
			b.Fatal("incomplete")
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "heaps/s")
}
