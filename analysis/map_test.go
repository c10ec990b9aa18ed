package analysis_test

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dumpmap/dumpmap/analysis/process"

	"github.com/dumpmap/dumpmap/analysis"
	"github.com/dumpmap/dumpmap/minidump"
	"github.com/dumpmap/dumpmap/minidump/minidumptest"
)

const (
	K = 1 << 10
	M = 1 << 20
)

func open(t *testing.T, b *minidumptest.Builder) *minidump.File {
	t.Helper()
	data := b.Bytes()
	f, err := minidump.New(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func free(base, size uint64) minidump.MemoryInfo {
	return minidump.MemoryInfo{BaseAddress: base, RegionSize: size, State: minidump.MemFree, Protect: minidump.PageNoAccess}
}

func private(base, size, allocBase uint64, state minidump.MemState, prot minidump.Protect) minidump.MemoryInfo {
	return minidump.MemoryInfo{BaseAddress: base, RegionSize: size, AllocationBase: allocBase, AllocationProtect: minidump.PageReadWrite,
		State: state, Protect: prot, Type: minidump.MemPrivate}
}

// seedLike returns the regions of a 32-bit process whose space below top is full of
// one-page reservations, each followed by its 60 KB unusable tail, with one usable hole.
func seedLike(n int, hole uint64) []minidump.MemoryInfo {
	rs := []minidump.MemoryInfo{free(0, 0x10000)}
	a := uint64(0x10000)
	for i := 0; i < n; i++ {
		rs = append(rs, private(a, 4*K, a, minidump.MemCommit, minidump.PageReadWrite), free(a+4*K, 60*K))
		a += 64 * K
	}
	rs = append(rs, free(a, hole))
	a += hole
	rs = append(rs, private(a, 0x7fff0000-a, a, minidump.MemReserve, 0))
	return rs
}

func TestSeedLikeFragmentation(t *testing.T) {
	b := minidumptest.New().SystemInfo(minidumptest.Windows7x86()).Region(seedLike(100, 128*K)...)
	m, err := analysis.NewMap(process.New(open(t, b), process.Options{}), analysis.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if m.Partial || m.Source != analysis.SourceMemoryInfoList {
		t.Fatalf("partial=%v source=%v", m.Partial, m.Source)
	}
	if m.Space.MaxAddress != 0x7ffeffff || m.Space.PointerSize != 4 {
		t.Errorf("space = %+v", m.Space)
	}
	st := m.FreeStats()
	// 100 tails of 60 KB plus the 64 KB at address 0.
	if want := uint64(100*60*K + 64*K); st.Unusable != want {
		t.Errorf("Unusable = %d, want %d", st.Unusable, want)
	}
	if st.LargestUsable.UsableSize != 128*K || st.LargestUsable.UsableBase != 0x10000+100*64*K {
		t.Errorf("LargestUsable = %+v", st.LargestUsable)
	}
	// The last tail runs into the hole: 99 tails and the 64 KB at 0 are unusable runs.
	if st.UnusableRuns != 100 {
		t.Errorf("UnusableRuns = %d", st.UnusableRuns)
	}
	// Every tail is one Unusable region with its reason.
	r := m.Region(0x10000 + 4*K)
	if r == nil || r.Usage != analysis.UsageUnusable || !strings.Contains(m.Describe(r), "60 KiB below the next 64 KiB boundary") {
		t.Errorf("tail region = %+v", r)
	}
	if r := m.Region(0); r.Usage != analysis.UsageUnusable || !strings.Contains(m.Describe(r), "below the lowest allocatable") {
		t.Errorf("region at 0 = %+v", r)
	}
}

// TestFreeSplit checks the split of free regions against the rule in
// docs: a run [b, e) can hold alignDown(e) - alignUp(b) bytes.
func TestFreeSplit(t *testing.T) {
	cases := []struct {
		name            string
		regions         []minidump.MemoryInfo
		usableBase      uint64
		usableSize      uint64
		unusable        uint64
		largestFreeSize uint64
	}{
		{"aligned hole", []minidump.MemoryInfo{free(0, 0x30000), private(0x30000, 0x7ffc0000, 0x30000, minidump.MemReserve, 0)},
			0x10000, 0x20000, 0x10000, 0x30000},
		{"unaligned start", []minidump.MemoryInfo{free(0, 0x10000), private(0x10000, 0x1000, 0x10000, minidump.MemCommit, minidump.PageReadOnly),
			free(0x11000, 0x2f000), private(0x40000, 0x7ffb0000, 0x40000, minidump.MemReserve, 0)},
			0x20000, 0x20000, 0x10000 + 0xf000, 0x2f000},
		{"hole smaller than granularity", []minidump.MemoryInfo{free(0, 0x10000), private(0x10000, 0x1000, 0x10000, minidump.MemCommit, minidump.PageReadOnly),
			free(0x11000, 0xf000), private(0x20000, 0x7ffd0000, 0x20000, minidump.MemReserve, 0)},
			0, 0, 0x10000 + 0xf000, 0x10000},
		{"top of the space", []minidump.MemoryInfo{private(0, 0x7ff00000, 0, minidump.MemReserve, 0), free(0x7ff00000, 0xf0000)},
			0x7ff00000, 0xf0000, 0, 0xf0000},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			b := minidumptest.New().SystemInfo(minidumptest.Windows7x86()).Region(c.regions...)
			m, err := analysis.NewMap(process.New(open(t, b), process.Options{}), analysis.Options{})
			if err != nil {
				t.Fatal(err)
			}
			st := m.FreeStats()
			if st.LargestUsable.UsableBase != c.usableBase || st.LargestUsable.UsableSize != c.usableSize {
				t.Errorf("largest usable = %#x+%#x, want %#x+%#x", st.LargestUsable.UsableBase, st.LargestUsable.UsableSize, c.usableBase, c.usableSize)
			}
			if st.Unusable != c.unusable {
				t.Errorf("unusable = %#x, want %#x", st.Unusable, c.unusable)
			}
			if st.Largest.Size != c.largestFreeSize {
				t.Errorf("largest free = %#x, want %#x", st.Largest.Size, c.largestFreeSize)
			}
		})
	}
}

func TestPartialMapHasNoFree(t *testing.T) {
	b := minidumptest.New().SystemInfo(minidumptest.Windows7x86()).
		Module(minidumptest.Module{Base: 0x400000, Size: 0x10000, Name: `C:\app.exe`}).
		Thread(minidumptest.Thread{ID: 7, TEB: 0x7ffdf000, StackStart: 0x12f000, Stack: make([]byte, 0x1000)}).
		Memory(0x500000, make([]byte, 0x2000))
	m, err := analysis.NewMap(process.New(open(t, b), process.Options{}), analysis.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if !m.Partial || m.Source != analysis.SourceCaptured {
		t.Fatalf("partial=%v source=%v", m.Partial, m.Source)
	}
	if runs := m.FreeRuns(); len(runs) != 0 {
		t.Errorf("partial map has free runs: %+v", runs)
	}
	want := []struct {
		addr  uint64
		usage analysis.Usage
	}{
		{0x1000, analysis.UsageUnknown}, {0x12f800, analysis.UsageStack}, {0x400100, analysis.UsageImage},
		{0x501000, analysis.UsageUnknown}, {0x7ffdf010, analysis.UsageTEB}, {0x7ffe0000, analysis.UsageUnknown},
	}
	for _, w := range want {
		r := m.Region(w.addr)
		if r == nil || r.Usage != w.usage {
			t.Errorf("region at %#x = %+v, want usage %v", w.addr, r, w.usage)
		}
	}
	if r := m.Region(0x501000); !r.Captured {
		t.Errorf("captured range not marked: %+v", r)
	}
	// The map covers the whole space without gaps.
	checkCover(t, m)
}

func checkCover(t *testing.T, m *analysis.Map) {
	t.Helper()
	cur := uint64(0)
	for i, r := range m.Regions {
		if r.Base != cur || r.Size == 0 {
			t.Fatalf("region %d: base %#x size %#x, expected base %#x", i, r.Base, r.Size, cur)
		}
		cur = r.End()
	}
	if cur != m.Space.End {
		t.Fatalf("map ends at %#x, space ends at %#x", cur, m.Space.End)
	}
}

func TestStackAndGuard(t *testing.T) {
	regions := []minidump.MemoryInfo{
		free(0, 0x100000),
		private(0x100000, 0xfd000, 0x100000, minidump.MemReserve, 0),
		private(0x1fd000, 0x1000, 0x100000, minidump.MemCommit, minidump.PageReadWrite|minidump.PageGuard),
		private(0x1fe000, 0x2000, 0x100000, minidump.MemCommit, minidump.PageReadWrite),
		free(0x200000, 0x7ffdf000-0x200000),
		private(0x7ffdf000, 0x1000, 0x7ffdf000, minidump.MemCommit, minidump.PageReadWrite),
		free(0x7ffe0000, 0x10000),
	}
	b := minidumptest.New().SystemInfo(minidumptest.Windows7x86()).Region(regions...).
		Thread(minidumptest.Thread{ID: 0x99, TEB: 0x7ffdf000, StackStart: 0x1ff000, Stack: make([]byte, 0x1000)})
	m, err := analysis.NewMap(process.New(open(t, b), process.Options{}), analysis.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range []uint64{0x100000, 0x1fd000, 0x1ff000} {
		if r := m.Region(a); r.Usage != analysis.UsageStack || r.ThreadID != 0x99 {
			t.Errorf("region at %#x = %+v, want stack of thread 0x99", a, r)
		}
	}
	if r := m.Region(0x1fd000); !r.Guard || !strings.Contains(r.Detail(), "guard page") {
		t.Errorf("guard region = %+v", r)
	}
	if r := m.Region(0x7ffdf000); r.Usage != analysis.UsageTEB {
		t.Errorf("TEB region = %+v", r)
	}
	allocs := m.Allocations()
	var stack *analysis.Allocation
	for i := range allocs {
		if allocs[i].Base == 0x100000 {
			stack = &allocs[i]
		}
	}
	if stack == nil || stack.Size != 0x100000 || stack.Committed != 0x3000 || stack.Reserved != 0xfd000 || stack.Usage != analysis.UsageStack || stack.Count != 3 {
		t.Errorf("stack allocation = %+v", stack)
	}
	checkCover(t, m)
}

func TestSignExtended32BitAddresses(t *testing.T) {
	// 32-bit dbghelp writes addresses above 2 GB sign-extended.
	regions := []minidump.MemoryInfo{
		free(0, 0x80000000),
		{BaseAddress: 0xffffffff80000000, AllocationBase: 0xffffffff80000000, RegionSize: 0x1000, State: minidump.MemCommit, Type: minidump.MemPrivate, Protect: minidump.PageReadWrite},
		free(0xffffffff80001000, 0x7ffef000),
	}
	b := minidumptest.New().SystemInfo(minidumptest.Windows7x86()).SystemMemoryInfo(4096, 65536, 0x10000, 0xfffeffff).Region(regions...)
	m, err := analysis.NewMap(process.New(open(t, b), process.Options{}), analysis.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if r := m.Region(0x80000000); r == nil || r.Usage != analysis.UsagePrivate || r.AllocationBase != 0x80000000 {
		t.Errorf("region at 2 GB = %+v", r)
	}
	if len(m.Notes) == 0 || !strings.Contains(strings.Join(m.NoteTexts(), "\n"), "sign-extended") {
		t.Errorf("notes = %q", m.Notes)
	}
	checkCover(t, m)
}

func TestWOW64View(t *testing.T) {
	regions := []minidump.MemoryInfo{
		free(0, 0x400000),
		{BaseAddress: 0x400000, AllocationBase: 0x400000, RegionSize: 0x10000, State: minidump.MemCommit, Type: minidump.MemImage, Protect: minidump.PageReadOnly},
		free(0x410000, 0x7fff0000-0x410000),
		free(0x7fff0000, 0x7ff000000000-0x7fff0000),
		{BaseAddress: 0x7ff000000000, AllocationBase: 0x7ff000000000, RegionSize: 0x100000, State: minidump.MemCommit, Type: minidump.MemImage, Protect: minidump.PageReadOnly},
		free(0x7ff000100000, 0x7ffffffeffff+1-0x7ff000100000),
	}
	b := minidumptest.New().SystemInfo(minidumptest.Windows10x64()).Region(regions...).
		Module(minidumptest.Module{Base: 0x400000, Size: 0x10000, Name: `C:\app32.exe`}).
		Module(minidumptest.Module{Base: 0x7ff000000000, Size: 0x100000, Name: `C:\Windows\System32\wow64.dll`})
	f := open(t, b)
	m, err := analysis.NewMap(process.New(f, process.Options{}), analysis.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if !m.Space.WOW64 || m.Space.PointerSize != 4 || m.Space.End != 0x7fff0000 {
		t.Fatalf("space = %+v", m.Space)
	}
	if m.Region(0x7ff000000000) != nil {
		t.Error("64-bit region shown in the 32-bit view")
	}
	checkCover(t, m)
	native, err := analysis.NewMap(process.New(f, process.Options{}), analysis.Options{Native: true})
	if err != nil {
		t.Fatal(err)
	}
	if r := native.Region(0x7ff000000000); r == nil || r.Module() != "wow64.dll" {
		t.Errorf("native view region = %+v", r)
	}
	checkCover(t, native)
}

func TestLinuxMaps(t *testing.T) {
	maps := "00400000-00452000 r-xp 00000000 08:02 173521 /usr/bin/app\n" +
		"00651000-00652000 rw-p 00051000 08:02 173521 /usr/bin/app\n" +
		"01e00000-01e21000 rw-p 00000000 00:00 0 [heap]\n" +
		"7ffc0000-7ffe1000 rw-p 00000000 00:00 0 [stack]\n"
	b := minidumptest.New().SystemInfo(minidumptest.SystemInfo{Arch: minidump.ArchAMD64, Platform: minidump.PlatformLinux}).
		Stream(minidump.StreamLinuxMaps, []byte(maps))
	m, err := analysis.NewMap(process.New(open(t, b), process.Options{}), analysis.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if m.Partial || m.Source != analysis.SourceLinuxMaps {
		t.Fatalf("partial=%v source=%v", m.Partial, m.Source)
	}
	want := map[uint64]analysis.Usage{0x400000: analysis.UsageImage, 0x651000: analysis.UsageMappedFile, 0x1e00000: analysis.UsageHeap,
		0x7ffc0000: analysis.UsageStack, 0x500000: analysis.UsageFree}
	for a, u := range want {
		if r := m.Region(a); r == nil || r.Usage != u {
			t.Errorf("region at %#x = %+v, want %v", a, r, u)
		}
	}
	if r := m.Region(0x400000); r.Protect != minidump.PageExecuteRead {
		t.Errorf("protect = %v", r.Protect)
	}
	checkCover(t, m)
}

// corpusDir finds ../shared/corpus above the working directory.
func corpusDir(t testing.TB) string {
	dir, _ := os.Getwd()
	for {
		p := filepath.Join(dir, "shared", "corpus")
		if st, err := os.Stat(p); err == nil && st.IsDir() {
			return p
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Skip("../shared/corpus not found")
		}
		dir = parent
	}
}

// TestCorpusMapsMatchMemoryInfoList checks, on every real dump with a MemoryInfoList,
// that the map is the MemoryInfoList: merging each free run back and reading the
// busy regions gives the entries field for field, and the map covers the space.
func TestCorpusMapsMatchMemoryInfoList(t *testing.T) {
	root := corpusDir(t)
	n := 0
	filepath.Walk(root, func(p string, info os.FileInfo, err error) error {
		if err != nil || info.IsDir() {
			return nil
		}
		f, err := minidump.Open(p)
		if err != nil {
			return nil
		}
		defer f.Close()
		list, err := f.MemoryInfo()
		if err != nil || len(list) == 0 {
			return nil
		}
		m, err := analysis.NewMap(process.New(f, process.Options{}), analysis.Options{})
		if err != nil {
			t.Errorf("%s: %v", p, err)
			return nil
		}
		n++
		checkCover(t, m)
		// Stacks agree with the thread list, images with the module list.
		threads, _ := f.Threads()
		for _, th := range threads {
			if th.Stack.Data.Size == 0 || th.Stack.Start >= m.Space.End {
				continue
			}
			if r := m.Region(th.Stack.Start); r == nil || r.Usage != analysis.UsageStack || r.ThreadID != th.ID {
				t.Errorf("%s: thread %d's stack at %#x: %+v", p, th.ID, th.Stack.Start, r)
			}
		}
		mods, _ := f.Modules()
		for _, md := range mods {
			base := md.Base
			if m.Space.PointerSize == 4 && base>>32 == 0xffffffff {
				base &= 0xffffffff
			}
			if base >= m.Space.End || md.Name == "" {
				continue
			}
			if r := m.Region(base); r == nil || r.Usage != analysis.UsageImage || r.Detail() != md.Name {
				t.Errorf("%s: module %s at %#x: %+v", p, md.Name, base, r)
			}
		}
		// Independent check of each entry: the region at its base has its fields.
		for _, e := range list {
			base := e.BaseAddress
			if m.Space.PointerSize == 4 && base>>32 == 0xffffffff {
				base &= 0xffffffff
			}
			if base >= m.Space.End || e.RegionSize == 0 {
				continue
			}
			r := m.Region(base)
			if r == nil {
				t.Errorf("%s: no region at %#x", p, base)
				continue
			}
			if e.State == minidump.MemFree {
				if !r.IsFree() {
					t.Errorf("%s: %#x is free in the list but %v in the map", p, base, r.Usage)
				}
				continue
			}
			if e.State&^(minidump.MemCommit|minidump.MemReserve) != 0 {
				continue // corrupt state in the fuzzed file
			}
			if r.Base != base || r.Size != e.RegionSize || r.State != e.State || r.Type != e.Type || r.Protect != e.Protect || r.AllocationProtect != e.AllocationProtect {
				t.Errorf("%s: region %+v differs from entry %+v", p, r, e)
			}
		}
		return nil
	})
	if n < 4 {
		t.Errorf("only %d corpus dumps with a MemoryInfoList were checked", n)
	}
}

func TestNoMapWithoutData(t *testing.T) {
	b := minidumptest.New().SystemInfo(minidumptest.Windows7x86())
	_, err := analysis.NewMap(process.New(open(t, b), process.Options{}), analysis.Options{})
	if err == nil || errors.Is(err, minidump.ErrNoStream) {
		t.Errorf("err = %v", err)
	}
}

func TestUnavailableRanges(t *testing.T) {
	regions := []minidump.MemoryInfo{free(0, 0x100000), private(0x100000, 0x7fef0000, 0x100000, minidump.MemReserve, 0)}
	b := minidumptest.New().SystemInfo(minidumptest.Windows7x86()).Region(regions...)
	m, err := analysis.NewMap(process.New(open(t, b), process.Options{}), analysis.Options{Unavailable: []analysis.AddrRange{{Start: 0x38000, End: 0x58000}}})
	if err != nil {
		t.Fatal(err)
	}
	checkCover(t, m)
	// [0x10000, 0x38000) keeps 0x10000-0x30000 usable; [0x58000, 0x100000) keeps 0x60000-0x100000.
	st := m.FreeStats()
	if st.LargestUsable.UsableBase != 0x60000 || st.LargestUsable.UsableSize != 0xa0000 {
		t.Errorf("largest usable = %+v", st.LargestUsable)
	}
	if r := m.Region(0x40000); r.Usage != analysis.UsageUnusable || !strings.Contains(r.Detail(), "unallocatable") {
		t.Errorf("region in the hole = %+v", r)
	}
	if r := m.Region(0x30000); r.Usage != analysis.UsageUnusable {
		t.Errorf("misaligned rest before the hole = %+v", r)
	}
}

func TestAllocationAt(t *testing.T) {
	m := seedMap(t, 3, 0)
	a := m.AllocationAt(0x20000 + 0x800)
	if a == nil || a.Base != 0x20000 || a.Size != 4*K || a.Committed != 4*K || a.Usage != analysis.UsagePrivate || m.Regions[a.First].Base != 0x20000 {
		t.Errorf("AllocationAt = %+v", a)
	}
	if a := m.AllocationAt(0x21000); a != nil {
		t.Errorf("AllocationAt in a free tail = %+v", a)
	}
}
