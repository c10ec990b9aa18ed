package render

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/dumpmap/dumpmap/analysis/process"
	"github.com/dumpmap/dumpmap/minidump"
)

// referenceContents is the plain rule rangeNamer implements: the first thread in
// list order whose captured stack overlaps the range, else the first whose TEB lies
// in it, else the module.
func referenceContents(r minidump.MemoryRange, threads []minidump.Thread, idx *process.ModuleIndex) string {
	for _, t := range threads {
		if t.Stack.Data.Size > 0 && r.Start < t.Stack.End() && t.Stack.Start < r.End() {
			return fmt.Sprintf("stack of thread %d", t.ID)
		}
	}
	for _, t := range threads {
		if t.TEB != 0 && t.TEB >= r.Start && t.TEB < r.End() {
			return fmt.Sprintf("TEB of thread %d", t.ID)
		}
	}
	return idx.Name(r.Start)
}

// TestRangeNamer checks rangeNamer against the plain rule on random threads whose
// stacks overlap, nest and repeat, and TEBs that share addresses.
func TestRangeNamer(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	mods := []minidump.Module{{Base: 0x5000, Size: 0x1000, Name: `C:\m.dll`}}
	idx := process.NewModuleIndex(mods, nil)
	for iter := range 200 {
		threads := make([]minidump.Thread, rng.IntN(12))
		for i := range threads {
			th := &threads[i]
			th.ID = uint32(100 + i)
			if rng.IntN(4) > 0 {
				th.Stack.Start = uint64(rng.IntN(0x8000))
				th.Stack.Data.Size = uint32(1 + rng.IntN(0x1000))
			}
			if rng.IntN(3) > 0 {
				th.TEB = uint64(rng.IntN(0x8000))
			}
		}
		n := newRangeNamer(threads, idx)
		for range 100 {
			r := minidump.MemoryRange{Start: uint64(rng.IntN(0x8000)), Size: uint64(1 + rng.IntN(0x800))}
			if got, want := n.contents(r), referenceContents(r, threads, idx); got != want {
				t.Fatalf("iteration %d: range %#x+%#x: %q, want %q", iter, r.Start, r.Size, got, want)
			}
		}
	}
}

// TestMemoryJSONEqualsEncoder: the streamed memory JSON is byte for byte what
// encoding/json writes for the Memory value.
func TestMemoryJSONEqualsEncoder(t *testing.T) {
	for _, mem := range []*Memory{
		{File: "a.dmp", Ranges: []Range{}, Warnings: []string{}},
		{File: "b\"\u2028.dmp", Ranges: []Range{
			{Start: 0, End: 0x1000, Size: 0x1000, Source: "MemoryList", Offset: 0x200, Available: 0x1000},
			{Start: 0x7ffe0000, End: 0x7ffe0010, Size: 16, Source: "Memory64List", Offset: -1, Available: 8, Missing: 8, Contents: "stack of thread 7"},
			{Start: 0x1234, End: 0x1240, Size: 12, Source: "MemoryList", Contents: "évil\x1b.dll+0x10"},
		}, Totals: MemoryTotals{Ranges: 3, Size: 0x101c, Captured: 0x1014, Missing: 8}, Warnings: []string{"w\t1"}},
	} {
		var want, got bytes.Buffer
		if err := WriteJSON(&want, mem); err != nil {
			t.Fatal(err)
		}
		if err := mem.WriteJSON(&got); err != nil {
			t.Fatal(err)
		}
		if got.String() != want.String() {
			t.Errorf("streamed\n%s\nencoder\n%s", got.String(), want.String())
		}
	}
}
