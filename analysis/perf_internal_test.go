package analysis

import (
	"bytes"
	"math/rand/v2"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/dumpmap/dumpmap/analysis/process"
	"github.com/dumpmap/dumpmap/minidump"
	"github.com/dumpmap/dumpmap/minidump/minidumptest"
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

// referenceLayOut is the plain algorithm layOut's sweep must reproduce: cut the
// line at every span boundary, give each piece the highest-priority span covering
// it (the first in address order on a tie), merge neighbours that say the same.
func referenceLayOut(spans []span, end uint64, gap func(lo, hi uint64) Region) []Region {
	cuts := []uint64{0, end}
	for _, s := range spans {
		cuts = append(cuts, s.lo, s.hi)
	}
	slices.Sort(cuts)
	cuts = slices.Compact(cuts)
	sorted := slices.Clone(spans)
	sort.SliceStable(sorted, func(i, j int) bool { return sorted[i].lo < sorted[j].lo })
	var out []Region
	for ci := 0; ci+1 < len(cuts); ci++ {
		lo, hi := cuts[ci], cuts[ci+1]
		if lo >= end {
			break
		}
		best := -1
		for k := range sorted {
			if s := &sorted[k]; s.lo <= lo && s.hi > lo && (best < 0 || s.prio > sorted[best].prio) {
				best = k
			}
		}
		var r Region
		if best < 0 {
			r = gap(lo, hi)
		} else {
			s := sorted[best]
			r = Region{Base: lo, Size: hi - lo, State: s.state, Type: s.typ, Protect: s.protect, Usage: s.usage,
				ThreadID: s.thread, Captured: s.captured}
			if s.detail != "" || s.module != "" {
				r.Info = &RegionInfo{Detail: s.detail, Module: s.module}
			}
		}
		if n := len(out); n > 0 && out[n-1].End() == r.Base && sameKind(&out[n-1], &r) {
			out[n-1].Size += r.Size
			continue
		}
		out = append(out, r)
	}
	return out
}

// TestLayOutMatchesReference runs layOut and the plain algorithm on random spans:
// overlapping, nested, empty, reversed and reaching past the end, with priorities
// that tie.
func TestLayOutMatchesReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	gap := func(lo, hi uint64) Region {
		return Region{Base: lo, Size: hi - lo, Usage: UsageUnknown, Info: &RegionInfo{Detail: "gap"}}
	}
	details := []string{"", "a", "b", "captured memory"}
	for iter := range 300 {
		end := uint64(1000 + rng.IntN(1000))
		n := rng.IntN(60)
		spans := make([]span, n)
		for i := range spans {
			lo := uint64(rng.IntN(int(end) + 200))
			hi := lo + uint64(rng.IntN(300))
			if rng.IntN(20) == 0 {
				hi = lo - uint64(rng.IntN(5)) // empty or reversed, as a LinuxMaps line clipped at the end can be
			}
			if hi > end && rng.IntN(2) == 0 {
				hi = end
			}
			spans[i] = span{lo: lo, hi: hi, prio: rng.IntN(4), usage: Usage(rng.IntN(3)), detail: details[rng.IntN(len(details))],
				thread: uint32(rng.IntN(2)), captured: rng.IntN(2) == 0}
		}
		want := referenceLayOut(spans, end, gap)
		got := layOut(slices.Clone(spans), end, gap)
		if len(got) != len(want) {
			t.Fatalf("iteration %d: %d regions, want %d", iter, len(got), len(want))
		}
		for i := range want {
			g, w := got[i], want[i]
			if g.Base != w.Base || g.Size != w.Size || !sameKind(&g, &w) {
				t.Fatalf("iteration %d: region %d = %+v (%q), want %+v (%q)", iter, i, g, g.Detail(), w, w.Detail())
			}
		}
	}
}

// referenceAllocations is the grouping groupAllocations does in two passes, as it
// was written before: one pass, the list grown as it goes.
func referenceAllocations(m *Map) []Allocation {
	var out []Allocation
	for i := 0; i < len(m.Regions); i++ {
		r := &m.Regions[i]
		if r.IsFree() || r.Usage == UsageUnknown && r.State == 0 {
			continue
		}
		a := Allocation{Base: r.AllocationBase, Type: r.Type, Protect: r.AllocationProtect, First: i}
		if r.State == 0 {
			a.Base = r.Base
		}
		j := i
		for ; j < len(m.Regions); j++ {
			s := &m.Regions[j]
			if s.IsFree() || j > i && (r.State == 0 || s.State == 0 || s.AllocationBase != r.AllocationBase) {
				break
			}
			a.Count++
			switch s.State {
			case minidump.MemCommit:
				a.Committed += s.Size
			case minidump.MemReserve:
				a.Reserved += s.Size
			}
		}
		last := &m.Regions[j-1]
		a.Size = last.End() - a.Base
		a.Usage, a.Detail = dominantUsage(m.Regions[i:j])
		out = append(out, a)
		i = j - 1
	}
	return out
}

// TestAllocationsMatchReference compares groupAllocations with the one-pass
// grouping on the maps of random walks (complete) and of the many-range dump
// (partial).
func TestAllocationsMatchReference(t *testing.T) {
	var maps []*Map
	for seed := range uint64(100) {
		r := rand.New(rand.NewPCG(seed, 9))
		data := minidumptest.New().SystemInfo(minidumptest.Windows10x64()).Region(randomWalk(r, false)...).Bytes()
		f, _ := minidump.New(bytes.NewReader(data), int64(len(data)))
		if m, err := NewMap(process.New(f, process.Options{}), Options{}); err == nil {
			maps = append(maps, m)
		}
	}
	data := minidumptest.ManyRanges(minidumptest.ManyRangesSpec{Ranges: 2000}).Bytes()
	f, _ := minidump.New(bytes.NewReader(data), int64(len(data)))
	m, err := NewMap(process.New(f, process.Options{}), Options{})
	if err != nil {
		t.Fatal(err)
	}
	maps = append(maps, m)
	for k, m := range maps {
		got, want := m.groupAllocations(), referenceAllocations(m)
		if !slices.Equal(got, want) {
			t.Fatalf("map %d: %d allocations, want %d (or they differ)", k, len(got), len(want))
		}
		if m.NumAllocations() != len(want) {
			t.Fatalf("map %d: NumAllocations %d, want %d", k, m.NumAllocations(), len(want))
		}
	}
}

// TestSummaryHalvesMatchOnePass counts the summary of random maps in two halves
// and in one pass and wants the same tables.
func TestSummaryHalvesMatchOnePass(t *testing.T) {
	defer func(v int) { summaryHalfMin = v }(summaryHalfMin)
	for seed := range uint64(300) {
		r := rand.New(rand.NewPCG(seed, 10))
		var walk []minidump.MemoryInfo
		a := uint64(0)
		for range 4 {
			w := randomWalk(r, false)
			for i := range w { // keep the walks in order, one after the other
				w[i].BaseAddress += a
			}
			walk = append(walk, w...)
			if n := len(walk); n > 0 {
				a = walk[n-1].BaseAddress + walk[n-1].RegionSize
			}
		}
		data := minidumptest.New().SystemInfo(minidumptest.Windows10x64()).Region(walk...).Bytes()
		f, _ := minidump.New(bytes.NewReader(data), int64(len(data)))
		m, err := NewMap(process.New(f, process.Options{}), Options{})
		if err != nil {
			continue
		}
		summaryHalfMin = 1 << 30
		one := m.computeSummary()
		summaryHalfMin = 2
		two := m.computeSummary()
		if !reflect.DeepEqual(one, two) {
			t.Fatalf("seed %d: one pass\n%+v\ntwo halves\n%+v", seed, one, two)
		}
	}
}

// TestFreeRunsCounted: the count gatherFreeRuns sizes its list with is the number
// of runs it gathers (else the list grows, or keeps unused room).
func TestFreeRunsCounted(t *testing.T) {
	for seed := range uint64(200) {
		r := rand.New(rand.NewPCG(seed, 11))
		data := minidumptest.New().SystemInfo(minidumptest.Windows10x64()).Region(randomWalk(r, false)...).Bytes()
		f, _ := minidump.New(bytes.NewReader(data), int64(len(data)))
		opt := Options{}
		if seed%3 == 0 {
			opt.Unavailable = []AddrRange{{0x20000, 0x40000}} // Blocked runs
		}
		m, err := NewMap(process.New(f, process.Options{}), opt)
		if err != nil {
			continue
		}
		runs := m.gatherFreeRuns()
		if len(runs) != cap(runs) {
			t.Fatalf("seed %d: %d runs in a list sized for %d", seed, len(runs), cap(runs))
		}
	}
}

// TestSizeClassIndex: the index addRun computes for a run is the class of
// FreeSizeClasses whose bounds hold it.
func TestSizeClassIndex(t *testing.T) {
	cs := FreeSizeClasses()
	for _, size := range []uint64{1, 4096, 64<<10 - 1, 64 << 10, 64<<10 + 1, 128<<10 - 1, 128 << 10, 1<<29 - 1, 1 << 29, 1<<30 - 1, 1 << 30, 1 << 40, ^uint64(0)} {
		var a summaryAcc
		a.classes = FreeSizeClasses()
		a.addRun(FreeRun{Size: size})
		for i, c := range a.classes {
			in := size >= cs[i].Min && (cs[i].Max == 0 || size < cs[i].Max)
			if (c.Runs == 1) != in {
				t.Errorf("size %#x counted in class %d (%d-%d): %v", size, i, cs[i].Min, cs[i].Max, c.Runs == 1)
			}
		}
	}
}

// FuzzSplitLayout builds the map of a hostile dump twice, once with the layout and
// the summary the layout counts (thresholds lowered; heaps on, so that classify
// and the heaps retag what it counted) and once in one pass, the summary counted
// afterwards, and wants
// the same regions, notes, limits and summary: the halves must never change what
// a map says.
func FuzzSplitLayout(f *testing.F) {
	for seed := range uint64(8) {
		r := rand.New(rand.NewPCG(seed, 12))
		var walk []minidump.MemoryInfo
		for range 3 {
			walk = append(walk, randomWalk(r, seed%2 == 0)...)
		}
		si := minidumptest.Windows10x64()
		if seed%2 == 0 {
			si = minidumptest.Windows7x86()
		}
		f.Add(minidumptest.New().SystemInfo(si).Region(walk...).Bytes())
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		defer func(a, b int, n bool) { splitMin, summaryHalfMin, noLayoutSummary = a, b, n }(splitMin, summaryHalfMin, noLayoutSummary)
		build := func(split bool) (*Map, *Summary, error) {
			splitMin, summaryHalfMin, noLayoutSummary = 1<<30, 1<<30, true
			if split {
				splitMin, summaryHalfMin, noLayoutSummary = 4, 2, false
			}
			fl, err := minidump.New(bytes.NewReader(data), int64(len(data)))
			if err != nil {
				return nil, nil, err
			}
			m, err := NewMap(process.New(fl, process.Options{}), Options{})
			if err != nil {
				return nil, nil, err
			}
			return m, m.computeSummary(), nil
		}
		one, s1, err1 := build(false)
		two, s2, err2 := build(true)
		if (err1 == nil) != (err2 == nil) {
			t.Fatalf("errors %v and %v", err1, err2)
		}
		if err1 != nil {
			return
		}
		if !slices.EqualFunc(one.Regions, two.Regions, sameRegion) {
			t.Fatalf("regions differ\n one pass %s\n    split %s", dumpRegions(one.Regions), dumpRegions(two.Regions))
		}
		if a, b := strings.Join(one.NoteTexts(), "\n"), strings.Join(two.NoteTexts(), "\n"); a != b {
			t.Fatalf("notes differ\n%s\n%s", a, b)
		}
		if one.Space != two.Space {
			t.Fatalf("space %+v, split %+v", one.Space, two.Space)
		}
		if !reflect.DeepEqual(s1, s2) {
			t.Fatalf("summaries differ\n%+v\n%+v", s1, s2)
		}
	})
}
