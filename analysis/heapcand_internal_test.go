package analysis

import (
	"bytes"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/dumpmap/dumpmap/analysis/process"
	"github.com/dumpmap/dumpmap/minidump"
	"github.com/dumpmap/dumpmap/minidump/minidumptest"
)

// heapCandidatesReference is heapCandidates' first pass as it was before it
// jumped to the captured ranges: every region visited.
func heapCandidatesReference(m *Map, mem *minidump.Memory) []uint64 {
	var out []uint64
	ranges := mem.Ranges()
	j := 0
	for i := range m.Regions {
		r := &m.Regions[i]
		if r.State != minidump.MemCommit || r.Type != minidump.MemPrivate || r.Base != r.AllocationBase {
			continue
		}
		for j < len(ranges) && ranges[j].End() <= r.Base {
			j++
		}
		if j == len(ranges) {
			break
		}
		if ranges[j].Start <= r.Base && r.Base+0x20 <= ranges[j].End() {
			out = append(out, r.Base)
		}
	}
	return out
}

// TestHeapCandidatesJump: on random maps with random captured ranges (at
// allocation bases, inside regions, short, overlapping), the candidates from the
// regions are those the plain pass over every region yields, in its order.
func TestHeapCandidatesJump(t *testing.T) {
	found := 0
	for seed := range uint64(500) {
		r := rand.New(rand.NewPCG(seed, 24))
		walk := randomWalk(r, seed%2 == 0)
		b := minidumptest.New().SystemInfo(minidumptest.Windows10x64()).Region(walk...)
		for range r.IntN(12) {
			if len(walk) == 0 {
				break
			}
			e := walk[r.IntN(len(walk))]
			va := e.BaseAddress + uint64(r.IntN(3))*0x10
			b.Memory(va, make([]byte, 8+r.IntN(0x60)))
		}
		data := b.Bytes()
		f, err := minidump.New(bytes.NewReader(data), int64(len(data)))
		if err != nil {
			continue
		}
		p := process.New(f, process.Options{})
		m, err := NewMap(p, Options{NoHeaps: true})
		if err != nil {
			continue
		}
		mem := p.Memory()
		if mem == nil {
			continue
		}
		var got []uint64
		for a := range m.heapCandidates(mem) {
			got = append(got, a)
		}
		want := heapCandidatesReference(m, mem)
		if len(got) < len(want) || !slices.Equal(got[:len(want)], want) {
			t.Fatalf("seed %d: candidates %#x, want %#x first", seed, got, want)
		}
		found += len(want)
	}
	if found < 100 {
		t.Fatalf("only %d candidates from regions in 500 random maps", found)
	}
}
