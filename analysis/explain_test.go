package analysis_test

import (
	"strings"
	"testing"

	"github.com/dumpmap/dumpmap/analysis/process"

	"github.com/dumpmap/dumpmap/analysis"
	"github.com/dumpmap/dumpmap/minidump"
	"github.com/dumpmap/dumpmap/minidump/minidumptest"
)

func seedMap(t *testing.T, n int, hole uint64) *analysis.Map {
	t.Helper()
	b := minidumptest.New().SystemInfo(minidumptest.Windows7x86()).Region(seedLike(n, hole)...)
	m, err := analysis.NewMap(process.New(open(t, b), process.Options{}), analysis.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// rule is the reservation rule of docs/windows-memory.md, written out independently
// of the analysis: a free run [b, e) takes a reservation of n bytes iff
// alignDown(e, 64K) - alignUp(b, 64K) >= alignUp(n, 4K), within [64K, max].
func rule(regions []minidump.MemoryInfo, n, maxAddr uint64) bool {
	need := (n + 0xfff) &^ 0xfff
	for _, r := range regions {
		if r.State != minidump.MemFree {
			continue
		}
		b := max((r.BaseAddress+0xffff)&^0xffff, 0x10000)
		e := min(r.BaseAddress+r.RegionSize, maxAddr+1) &^ 0xffff
		if e > b && e-b >= need {
			return true
		}
	}
	return false
}

func TestExplainVirtualAllocAgainstRule(t *testing.T) {
	regions := seedLike(200, 192*K)
	b := minidumptest.New().SystemInfo(minidumptest.Windows7x86()).Region(regions...)
	m, err := analysis.NewMap(process.New(open(t, b), process.Options{}), analysis.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, size := range []uint64{1, 4 * K, 50 * K, 60 * K, 64 * K, 65 * K, 128 * K, 192 * K, 192*K + 1, 1 * M} {
		for _, via := range []analysis.Via{analysis.ViaVirtualAlloc, analysis.ViaReserve} {
			e := m.Explain(analysis.Request{Size: size, Via: via})
			want := analysis.Fail
			if rule(regions, size, 0x7ffeffff) {
				want = analysis.Succeed
			}
			if e.Verdict != want {
				t.Errorf("%v %d: verdict %v, want %v; reasons:\n%s", via, size, e.Verdict, want, strings.Join(e.Reasons, "\n"))
			}
		}
	}
}

func TestExplainSeedStory(t *testing.T) {
	m := seedMap(t, 1000, 0)
	e := m.Explain(analysis.Request{Size: 50 * K, Via: analysis.ViaVirtualAlloc})
	if e.Verdict != analysis.Fail {
		t.Fatalf("verdict = %v", e.Verdict)
	}
	text := strings.Join(e.Reasons, "\n")
	for _, want := range []string{
		"52 KiB (13 pages",                      // rounding
		"1,000 of the free runs",                // the tails, counted
		"60 KiB each",                           // their size
		"starts 4.0 KiB past a 64 KiB boundary", // why they fail
	} {
		if !strings.Contains(text, want) {
			t.Errorf("reasons lack %q:\n%s", want, text)
		}
	}
	var sawZero bool
	for _, nm := range e.NearMisses {
		if nm.Run.Base == 0 && strings.Contains(nm.Why, "never allocatable") {
			sawZero = true
		}
	}
	if !sawZero {
		t.Errorf("near misses lack the 64 KB at address 0: %+v", e.NearMisses)
	}
	if len(e.Remedies) == 0 || !strings.Contains(strings.Join(e.Remedies, "\n"), "private reservations of 4.0 KiB each waste 60 KiB") {
		t.Errorf("remedies = %q", e.Remedies)
	}
	// The heap cannot grow either: only a free block already in the heap could serve.
	h := m.Explain(analysis.Request{Size: 64, Via: analysis.ViaMalloc})
	if h.Verdict != analysis.Depends || !strings.Contains(h.Condition, "free block of at least 72 B") {
		t.Errorf("malloc(64): %v %q\n%s", h.Verdict, h.Condition, strings.Join(h.Reasons, "\n"))
	}
}

func TestExplainHeapThreshold(t *testing.T) {
	m := seedMap(t, 10, 4*M)
	// Below the x86 threshold a new 1 MB segment fits in the 4 MB hole.
	e := m.Explain(analysis.Request{Size: 100 * K, Via: analysis.ViaHeap})
	if e.Verdict != analysis.Succeed {
		t.Errorf("100K heap: %v\n%s", e.Verdict, strings.Join(e.Reasons, "\n"))
	}
	// Above it, the block is a VirtualAlloc of its own: 600 KB fits, 5 MB does not.
	e = m.Explain(analysis.Request{Size: 600 * K, Via: analysis.ViaHeap})
	if e.Verdict != analysis.Succeed || !strings.Contains(strings.Join(e.Reasons, "\n"), "virtual-memory threshold (508 KiB") {
		t.Errorf("600K heap: %v\n%s", e.Verdict, strings.Join(e.Reasons, "\n"))
	}
	e = m.Explain(analysis.Request{Size: 5 * M, Via: analysis.ViaHeap})
	if e.Verdict != analysis.Fail {
		t.Errorf("5M heap: %v\n%s", e.Verdict, strings.Join(e.Reasons, "\n"))
	}
}

func TestExplainVectorGrowth(t *testing.T) {
	m := seedMap(t, 10, 4*M)
	// 2 MB of 8-byte elements grows to 3 MB (MSVC): a virtual block of 3 MB fits.
	e := m.Explain(analysis.Request{Size: 2 * M, Via: analysis.ViaVector, ElementSize: 8})
	if e.Verdict != analysis.Succeed || !strings.Contains(e.Reasons[0], "3.0 MiB") {
		t.Errorf("vector 2M: %v\n%s", e.Verdict, strings.Join(e.Reasons, "\n"))
	}
	// Doubling asks for 4 MB plus the header: more than the 4 MB hole.
	e = m.Explain(analysis.Request{Size: 2 * M, Via: analysis.ViaVector, ElementSize: 8, Growth: "libstdc++"})
	if e.Verdict != analysis.Fail {
		t.Errorf("vector 2M libstdc++: %v\n%s", e.Verdict, strings.Join(e.Reasons, "\n"))
	}
}

func TestExplainBelow(t *testing.T) {
	// A 64-bit space whose only big hole is above 2 GB.
	regions := []minidump.MemoryInfo{
		free(0, 0x10000),
		private(0x10000, 0x7fff0000, 0x10000, minidump.MemReserve, 0),
		free(0x80000000, 0x7ffffffeffff+1-0x80000000),
	}
	b := minidumptest.New().SystemInfo(minidumptest.Windows10x64()).Region(regions...)
	m, err := analysis.NewMap(process.New(open(t, b), process.Options{}), analysis.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if e := m.Explain(analysis.Request{Size: 64 * K, Via: analysis.ViaVirtualAlloc}); e.Verdict != analysis.Succeed {
		t.Errorf("unconfined: %v", e.Verdict)
	}
	if e := m.Explain(analysis.Request{Size: 64 * K, Via: analysis.ViaVirtualAlloc, Below: 0x80000000}); e.Verdict != analysis.Fail {
		t.Errorf("below 2G: %v\n%s", e.Verdict, strings.Join(e.Reasons, "\n"))
	}
}

func TestFragmentationSeed(t *testing.T) {
	m := seedMap(t, 1000, 0)
	r := m.Fragmentation(nil, nil)
	if len(r.Waste) == 0 {
		t.Fatal("no waste patterns")
	}
	w := r.Waste[0]
	if w.Count != 1000 || w.Size != 4*K || w.WastedEach != 60*K || w.WastedTotal != 1000*60*K {
		t.Errorf("waste = %+v", w)
	}
	if got := w.Describe(); !strings.HasPrefix(got, "1,000 private reservations of 4.0 KiB each waste 60 KiB: 59 MiB") {
		t.Errorf("Describe = %q", got)
	}
	// seedLike reserves everything after the tails: not one 64 KB block is left.
	for _, f := range r.Fits {
		if f.Count != 0 {
			t.Errorf("%d reservations of %d bytes would fit", f.Count, f.Size)
		}
	}
	if r.Plentiful {
		t.Error("a 32-bit process is never plentiful")
	}
}

// TestExplainCommit checks requests against the commit limits a dump records
// (SystemMemoryInfo's CommitLimit and CommittedPages, in pages; ProcessVmCounters'
// JobPrivateCommitLimit and PrivateUsage, in bytes) on an address space with
// room for all of them: a request fails exactly when its pages exceed what is
// left under a limit, and the commit step says commit was the limit. The
// numbers are set here, independent of the code's arithmetic.
func TestExplainCommit(t *testing.T) {
	const page = 4096
	regions := seedLike(20, 64*M) // a free run of 64 MiB
	cases := []struct {
		name              string
		committed, limit  uint64 // pages
		private, jobLimit uint64 // bytes
		size              uint64
		want              analysis.Verdict
		fails             string
	}{
		{"room left", 1000, 3000, 0, 0, 1 * M, analysis.Succeed, ""},
		{"exactly the room left", 1000, 1256, 0, 0, 1 * M, analysis.Succeed, ""},
		{"one page short", 1000, 1255, 0, 0, 1 * M, analysis.Fail, "system"},
		{"limit already reached", 5000, 5000, 0, 0, 4 * K, analysis.Fail, "system"},
		{"job limit", 1000, 1 << 30, 30 * M, 31 * M, 2 * M, analysis.Fail, "job"},
		{"under the job limit", 1000, 1 << 30, 30 * M, 33 * M, 2 * M, analysis.Succeed, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			b := minidumptest.New().SystemInfo(minidumptest.Windows7x86()).Region(regions...).
				SystemMemoryInfo1(minidump.SystemMemoryInfo{PageSize: page, AllocationGranularity: 64 * K, MinimumUserModeAddress: 0x10000,
					MaximumUserModeAddress: 0x7ffeffff, CommittedPages: c.committed, CommitLimit: c.limit})
			if c.jobLimit != 0 {
				b = b.ProcessVMCounters(minidump.ProcessVMCounters{Revision: 2, PrivateUsage: c.private, JobPrivateCommitLimit: c.jobLimit})
			}
			m, err := analysis.NewMap(process.New(open(t, b), process.Options{}), analysis.Options{})
			if err != nil {
				t.Fatal(err)
			}
			e := m.Explain(analysis.Request{Size: c.size, Via: analysis.ViaVirtualAlloc})
			if e.Verdict != c.want {
				t.Fatalf("verdict %v, want %v:\n%s", e.Verdict, c.want, strings.Join(e.Reasons, "\n"))
			}
			var st *analysis.CommitStep
			for _, s := range e.Steps {
				if cs, ok := s.(analysis.CommitStep); ok {
					st = &cs
				}
			}
			if st == nil || st.Fails != c.fails {
				t.Fatalf("commit step %+v, want fails %q", st, c.fails)
			}
			if c.fails != "" && !strings.Contains(st.Text(), "Commit, not address space, was the limit") {
				t.Errorf("the step does not say commit was the limit: %s", st.Text())
			}
		})
	}
}
