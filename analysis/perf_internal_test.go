package analysis

import (
	"math/rand/v2"
	"slices"
	"sort"
	"testing"
)

// TestLargestAllocations checks the one-pass selection against what it replaces:
// a stable sort of every allocation by size, largest first, cut to n.
func TestLargestAllocations(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, n := range []int{0, 1, 5, 10, 11, 200, 5000} {
		allocs := make([]Allocation, n)
		for i := range allocs {
			// Few distinct sizes: many ties, which must keep address order.
			allocs[i] = Allocation{Base: uint64(i) << 16, Size: uint64(1+rng.IntN(12)) << 12}
		}
		want := slices.Clone(allocs)
		sort.SliceStable(want, func(i, j int) bool { return want[i].Size > want[j].Size })
		if len(want) > 10 {
			want = want[:10]
		}
		got := largestAllocations(allocs, 10)
		if len(got) != len(want) {
			t.Fatalf("n=%d: %d allocations, want %d", n, len(got), len(want))
		}
		for i := range want {
			if got[i].Base != want[i].Base || got[i].Size != want[i].Size {
				t.Errorf("n=%d: [%d] = %#x+%#x, want %#x+%#x", n, i, got[i].Base, got[i].Size, want[i].Base, want[i].Size)
			}
		}
	}
}
