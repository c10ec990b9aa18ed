package keysort

import (
	"math/rand/v2"
	"slices"
	"sort"
	"testing"
)

type item struct {
	k   uint64
	tag int
}

// TestStable checks Stable against sort.SliceStable (the standard library's stable
// sort is the independent truth) on random keys with many ties, sorted input,
// reversed input and tiny slices.
func TestStable(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, tc := range []struct {
		name string
		n    int
		gen  func(i int) uint64
	}{
		{"empty", 0, nil},
		{"one", 1, func(int) uint64 { return 5 }},
		{"ties", 1000, func(int) uint64 { return uint64(rng.IntN(10)) }},
		{"random", 5000, func(int) uint64 { return rng.Uint64() }},
		{"sorted", 100, func(i int) uint64 { return uint64(i) }},
		{"reversed", 100, func(i int) uint64 { return uint64(1000 - i) }},
		{"descending-key", 1000, func(int) uint64 { return ^uint64(rng.IntN(50)) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := make([]item, tc.n)
			for i := range s {
				s[i] = item{tc.gen(i), i}
			}
			want := slices.Clone(s)
			sort.SliceStable(want, func(i, j int) bool { return want[i].k < want[j].k })
			Stable(s, func(x *item) uint64 { return x.k })
			if !slices.Equal(s, want) {
				t.Errorf("Stable differs from sort.SliceStable")
			}
		})
	}
}

func BenchmarkStable(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 2))
	src := make([]item, 62148)
	for i := range src {
		src[i] = item{rng.Uint64() >> 20, i}
	}
	s := make([]item, len(src))
	for b.Loop() {
		copy(s, src)
		Stable(s, func(x *item) uint64 { return x.k })
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(len(src)), "ns/element")
}

// TestSorted: Sorted returns s itself when it is in order, else a sorted copy
// that leaves s as it was.
func TestSorted(t *testing.T) {
	in := make([]item, 100)
	for i := range in {
		in[i] = item{uint64(i), i}
	}
	if got := Sorted(in, func(x *item) uint64 { return x.k }); &got[0] != &in[0] {
		t.Error("an ordered slice was copied")
	}
	slices.Reverse(in)
	orig := slices.Clone(in)
	got := Sorted(in, func(x *item) uint64 { return x.k })
	if !slices.Equal(in, orig) {
		t.Error("the input was modified")
	}
	for i := range got {
		if got[i].k != uint64(i) {
			t.Fatalf("got[%d] = %d", i, got[i].k)
		}
	}
}

// BenchmarkSliceStable is what Stable replaced, on the same input.
func BenchmarkSliceStable(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 2))
	src := make([]item, 62148)
	for i := range src {
		src[i] = item{rng.Uint64() >> 20, i}
	}
	s := make([]item, len(src))
	for b.Loop() {
		copy(s, src)
		sort.SliceStable(s, func(i, j int) bool { return s[i].k < s[j].k })
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(len(src)), "ns/element")
}
