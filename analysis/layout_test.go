package analysis

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/dumpmap/dumpmap/analysis/process"

	"github.com/dumpmap/dumpmap/minidump"
	"github.com/dumpmap/dumpmap/minidump/minidumptest"
)

// referenceLayout is the straightforward algorithm that layout's fused pass must
// reproduce: lay the entries out without splitting anything, then clip every region at
// the end of the space, split every free run, and fill the gap up to the end.
func referenceLayout(m *Map, f *minidump.File, narrow bool) (regs []Region, outside, gaps int) {
	l := newLayout(&Map{}, narrow, 0, 0, f) // granularity 0: every run left whole
	end := m.Space.End
	for _, r := range l.out {
		if r.Base >= end {
			outside++
			continue
		}
		if e := r.End(); e > end || e == 0 {
			r.Size = end - r.Base
		}
		if r.State == minidump.MemFree {
			regs = m.appendFree(regs, r.Base, r.End())
		} else {
			regs = append(regs, r)
		}
	}
	gaps = l.gaps
	if cur := lastEnd(regs); cur < end {
		if cur > 0 || len(regs) == 0 {
			gaps++
		}
		regs = append(regs, unknownRegion(cur, end, "not described by the MemoryInfoList"))
	}
	return regs, outside, gaps
}

// randomWalk returns a MemoryInfoList with what real and damaged dumps hold: free runs
// split over several entries, unaligned tails, gaps, overlaps, empty entries, entries
// out of order, sign-extended 32-bit addresses and regions that reach 2^64.
func randomWalk(r *rand.Rand, x86 bool) []minidump.MemoryInfo {
	var out []minidump.MemoryInfo
	a := uint64(0)
	if r.IntN(4) == 0 {
		a = uint64(r.IntN(64)) << 12
	}
	n := 1 + r.IntN(40)
	pages := func() uint64 {
		switch r.IntN(6) {
		case 0:
			return 16 // 64 KB
		case 1:
			return 1 + uint64(r.IntN(15)) // an unaligned tail
		case 2:
			return 1 << (4 + r.IntN(20)) // aligned, up to 4 GB
		}
		return 1 + uint64(r.IntN(64))
	}
	for range n {
		size := pages() << 12
		e := minidump.MemoryInfo{BaseAddress: a, AllocationBase: a, RegionSize: size, Protect: minidump.PageReadWrite}
		switch r.IntN(5) {
		case 0, 1:
			e.State, e.Protect, e.AllocationBase = minidump.MemFree, minidump.PageNoAccess, 0
		case 2:
			e.State, e.Type, e.Protect = minidump.MemReserve, minidump.MemPrivate, 0
		case 3:
			e.State, e.Type = minidump.MemCommit, minidump.MemMapped
		default:
			e.State, e.Type = minidump.MemCommit, minidump.MemPrivate
		}
		switch r.IntN(30) {
		case 0:
			e.RegionSize = 0
		case 1:
			e.BaseAddress += uint64(1+r.IntN(8)) << 12 // a gap
		case 2:
			if e.BaseAddress >= 0x2000 {
				e.BaseAddress -= 0x2000 // an overlap
			}
		case 3:
			e.RegionSize = -e.BaseAddress // reaches 2^64
		}
		if x86 && r.IntN(20) == 0 && e.BaseAddress >= 0x80000000 && e.BaseAddress < 1<<32 {
			e.BaseAddress |= 0xffffffff00000000 // a 32-bit dbghelp's sign extension
		}
		out = append(out, e)
		a = e.BaseAddress&0xffffffff_ffffffff + e.RegionSize
		if x86 {
			a = (e.BaseAddress & 0xffffffff) + e.RegionSize
		}
		if e.RegionSize == -e.BaseAddress && e.RegionSize != 0 {
			break
		}
	}
	if len(out) > 2 && r.IntN(25) == 0 {
		i := r.IntN(len(out) - 1)
		out[i], out[i+1] = out[i+1], out[i]
	}
	return out
}

// TestLayoutMatchesReference checks the fused layout (free runs split as they close,
// only the run crossing the end split again) against referenceLayout on random walks,
// address-space limits and Below values.
func TestLayoutMatchesReference(t *testing.T) {
	for seed := range uint64(3000) {
		r := rand.New(rand.NewPCG(seed, 7))
		x86 := r.IntN(2) == 0
		si := minidumptest.Windows10x64()
		if x86 {
			si = minidumptest.Windows7x86()
		}
		if r.IntN(6) == 0 {
			si.Platform = minidump.PlatformLinux
		}
		b := minidumptest.New().SystemInfo(si).Region(randomWalk(r, x86)...)
		if !x86 && r.IntN(4) == 0 {
			// A WOW64 process: its limits are known only once the modules are read,
			// after the pass has split the runs for SystemMemoryInfo's lowest address.
			b.Module(minidumptest.Module{Base: 0x7ffe00000000, Size: 0x1000, Name: `C:\Windows\System32\wow64.dll`})
		}
		if r.IntN(3) == 0 {
			minA := []uint64{0, 0x1000, 0x10000, 0x20000, 0x15000}[r.IntN(5)]
			maxA := []uint64{0x7ffeffff, 0xbfffffff, 0x7ffffffeffff, 0xffffffffffffffff, 0x12345fff}[r.IntN(5)]
			gran := []uint32{0x10000, 0x1000, 0x20000}[r.IntN(3)]
			b.SystemMemoryInfo(0x1000, gran, minA, maxA)
		}
		var opt Options
		if r.IntN(4) == 0 {
			opt.Below = uint64(1+r.IntN(1<<20)) << 12
		}
		data := b.Bytes()
		f, err := minidump.New(bytes.NewReader(data), int64(len(data)))
		if err != nil {
			t.Fatal(err)
		}
		m, err := NewMap(process.New(f, process.Options{}), opt)
		if err != nil {
			continue // a Below under the lowest address: nothing to compare
		}
		if m.Source != SourceMemoryInfoList {
			continue
		}
		want, outside, gaps := referenceLayout(m, f, x86)
		if !slices.EqualFunc(m.Regions, want, sameRegion) {
			t.Fatalf("seed %d: regions differ (space %+v, below %#x, notes %q)\n got %s\nwant %s", seed, m.Space, opt.Below, m.Notes, dumpRegions(m.Regions), dumpRegions(want))
		}
		notes := strings.Join(m.NoteTexts(), "\n")
		if has := strings.Contains(notes, fmt.Sprintf("%d regions ", outside)); outside > 0 && !has {
			t.Errorf("seed %d: want %d regions outside, notes:\n%s", seed, outside, notes)
		}
		if has := strings.Contains(notes, fmt.Sprintf("%d gaps in the MemoryInfoList", gaps)); gaps > 0 && !has {
			t.Errorf("seed %d: want %d gaps, notes:\n%s", seed, gaps, notes)
		}
	}
}

func sameRegion(a, b Region) bool {
	return a.Base == b.Base && a.Size == b.Size && a.State == b.State && a.Type == b.Type &&
		a.Protect == b.Protect && a.AllocationBase == b.AllocationBase && a.Usage == b.Usage && a.Detail() == b.Detail()
}

func dumpRegions(rs []Region) string {
	var sb strings.Builder
	for _, r := range rs {
		fmt.Fprintf(&sb, "\n  %#x+%#x %v %v", r.Base, r.Size, r.State, r.Usage)
	}
	return sb.String()
}

// TestSplitLayoutMatchesOnePass lays random walks out in two halves (splitMin
// lowered) and in one pass, and wants the same map: regions, notes, limits. The
// one-pass layout is itself checked against the reference by
// TestLayoutMatchesReference.
func TestSplitLayoutMatchesOnePass(t *testing.T) {
	defer func(v int) { splitMin = v }(splitMin)
	build := func(data []byte, min int) (*Map, error) {
		splitMin = min
		f, err := minidump.New(bytes.NewReader(data), int64(len(data)))
		if err != nil {
			t.Fatal(err)
		}
		return NewMap(process.New(f, process.Options{}), Options{})
	}
	split := 0
	for seed := range uint64(3000) {
		r := rand.New(rand.NewPCG(seed, 8))
		x86 := r.IntN(2) == 0
		si := minidumptest.Windows10x64()
		if x86 {
			si = minidumptest.Windows7x86()
		}
		var walk []minidump.MemoryInfo
		for range 1 + r.IntN(4) { // longer walks: several split points to choose from
			walk = append(walk, randomWalk(r, x86)...)
		}
		data := minidumptest.New().SystemInfo(si).Region(walk...).Bytes()
		one, err1 := build(data, 1<<30)
		two, err2 := build(data, 4)
		if (err1 == nil) != (err2 == nil) {
			t.Fatalf("seed %d: errors %v and %v", seed, err1, err2)
		}
		if err1 != nil {
			continue
		}
		if !slices.EqualFunc(one.Regions, two.Regions, sameRegion) {
			t.Fatalf("seed %d: regions differ\n one pass %s\n    split %s", seed, dumpRegions(one.Regions), dumpRegions(two.Regions))
		}
		if a, b := strings.Join(one.NoteTexts(), "\n"), strings.Join(two.NoteTexts(), "\n"); a != b {
			t.Fatalf("seed %d: notes differ\n one pass %s\n    split %s", seed, a, b)
		}
		if one.Space != two.Space {
			t.Fatalf("seed %d: space %+v, split %+v", seed, one.Space, two.Space)
		}
		// Count the walks whose halves joined (rather than falling back to one pass).
		f, _ := minidump.New(bytes.NewReader(data), int64(len(data)))
		if n, err := f.MemoryInfoCount(); err == nil && n >= 4 {
			l := &layout{m: &Map{}, narrow: x86, gran: 0x10000, minA: 0x10000}
			if l.addSplit(f, n)() {
				split++
			}
		}
	}
	if split < 200 { // most concatenated walks are out of order: one pass
		t.Fatalf("only %d of 3000 walks were laid out in two halves", split)
	}
	t.Logf("%d of 3000 walks laid out in two halves", split)
}

// TestSplitLayoutSecondHalfOutgrows: a list whose second half lays out into far
// more regions than entries (a gap before every entry, free runs split in three)
// while its first half lays out one region an entry, so that the first half ends
// early and moves the second's regions while the second outgrows its part of the
// array. The split layout must give the one-pass regions. Before ensureRoom the
// second half's growth copied regions the first had overwritten: 17,500 regions
// were lost in 27 runs of 30.
func TestSplitLayoutSecondHalfOutgrows(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a 140,000-entry list")
	}
	var walk []minidump.MemoryInfo
	a := uint64(0x10000)
	busy := func(size uint64) {
		walk = append(walk, minidump.MemoryInfo{BaseAddress: a, AllocationBase: a, RegionSize: size, State: minidump.MemCommit,
			Type: minidump.MemPrivate, Protect: minidump.PageReadWrite, AllocationProtect: minidump.PageReadWrite})
		a += size
	}
	for range 80000 {
		busy(0x1000)
	}
	for range 20000 {
		a += 0x3000
		busy(0x1000)
		walk = append(walk, minidump.MemoryInfo{BaseAddress: a, RegionSize: 0x12000, State: minidump.MemFree, Protect: minidump.PageNoAccess})
		a += 0x12000
		busy(0x1000)
	}
	data := minidumptest.New().SystemInfo(minidumptest.Windows10x64()).Region(walk...).Bytes()
	f, err := minidump.New(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	defer func(v int) { splitMin = v }(splitMin)
	splitMin = 1 << 30
	one, err := NewMap(process.New(f, process.Options{}), Options{})
	if err != nil {
		t.Fatal(err)
	}
	splitMin = 1 << 15
	for run := range 10 {
		two, err := NewMap(process.New(f, process.Options{}), Options{})
		if err != nil {
			t.Fatal(err)
		}
		if !slices.EqualFunc(one.Regions, two.Regions, sameRegion) {
			t.Fatalf("run %d: %d regions split, %d in one pass", run, len(two.Regions), len(one.Regions))
		}
		if !reflect.DeepEqual(one.Summary(), two.Summary()) {
			t.Fatalf("run %d: summaries differ", run)
		}
	}
}
