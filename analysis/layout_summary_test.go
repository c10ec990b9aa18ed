package analysis

import (
	"bytes"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/dumpmap/dumpmap/analysis/internal/sharedtest"
	"github.com/dumpmap/dumpmap/analysis/process"
	"github.com/dumpmap/dumpmap/minidump"
	"github.com/dumpmap/dumpmap/minidump/minidumptest"
)

// layoutSummaryAgrees builds the map of data twice, with the summary the layout
// counts (patched as classify and the heaps change usages) and without it, and
// wants from each the summary the plain one-pass count gives on the finished map.
// On maps laid out from a MemoryInfoList it also checks what the layout's count
// relies on (countRegion): a region is free exactly when its state is MEM_FREE.
// It reports whether the layout's count was used.
func layoutSummaryAgrees(t *testing.T, name string, data []byte, opt Options) (counted bool) {
	t.Helper()
	defer func(v int, n bool) { summaryHalfMin, noLayoutSummary = v, n }(summaryHalfMin, noLayoutSummary)
	for _, noInc := range []bool{false, true} {
		summaryHalfMin, noLayoutSummary = 2, noInc
		f, err := minidump.New(bytes.NewReader(data), int64(len(data)))
		if err != nil {
			return false
		}
		m, err := NewMap(process.New(f, process.Options{}), opt)
		if err != nil {
			return false
		}
		if m.derived.inc != nil {
			counted = true
		}
		got := m.Summary()
		plain := *m
		plain.derived = nil
		summaryHalfMin = 1 << 30
		want := plain.computeSummary()
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("%s (layout's count off: %v): summary\n%+v\nplain\n%+v", name, noInc, got, want)
		}
		if m.Source == SourceMemoryInfoList {
			for i := range m.Regions {
				if r := &m.Regions[i]; r.IsFree() != (r.State == minidump.MemFree) {
					t.Fatalf("%s: region %#x is %v with state %v", name, r.Base, r.Usage, r.State)
				}
			}
		}
	}
	return counted
}

// TestLayoutSummary: random maps (damaged states and types,
// Unavailable ranges, threads whose stacks and TEBs classify marks), the
// fixtures (heaps laid over the map) and every real dump.
func TestLayoutSummary(t *testing.T) {
	started := 0
	for seed := range uint64(300) {
		r := rand.New(rand.NewPCG(seed, 23))
		walk := randomWalk(r, seed%2 == 0)
		for i := range walk {
			switch r.IntN(15) {
			case 0:
				walk[i].State = minidump.MemState(r.Uint32())
			case 1:
				walk[i].Type = minidump.MemType(r.Uint32())
			}
		}
		si := minidumptest.Windows10x64()
		if seed%2 == 0 {
			si = minidumptest.Windows7x86()
		}
		b := minidumptest.New().SystemInfo(si).Region(walk...)
		for k := range 3 {
			if len(walk) > 0 {
				e := walk[r.IntN(len(walk))]
				b.Thread(minidumptest.Thread{ID: uint32(100 + k), TEB: e.BaseAddress, StackStart: e.BaseAddress, Stack: make([]byte, 16)})
			}
		}
		opt := Options{}
		if seed%3 == 0 {
			opt.Unavailable = []AddrRange{{0x20000, 0x40000}}
		}
		if layoutSummaryAgrees(t, "random map", b.Bytes(), opt) {
			started++
		}
	}
	if started < 100 {
		t.Fatalf("the layout counted the summary of only %d of 300 random maps", started)
	}
	dir, ok := sharedtest.Find()
	if !ok {
		t.Log("../shared not found: real dumps not compared")
		return
	}
	n := 0
	for _, root := range []string{filepath.Dir(dir), filepath.Join("..", "testdata")} {
		filepath.Walk(root, func(p string, info os.FileInfo, err error) error {
			if err != nil || info.IsDir() || info.Size() > 64<<20 || strings.HasSuffix(p, ".xz") {
				return nil
			}
			data, err := os.ReadFile(p)
			if err != nil || !bytes.HasPrefix(data, []byte("MDMP")) {
				return nil
			}
			if layoutSummaryAgrees(t, p, data, Options{}) {
				n++
			}
			return nil
		})
	}
	// The fixtures' full-memory dumps: heaps laid over the map while the tables
	// are counted.
	xzs, _ := filepath.Glob(filepath.Join("..", "testdata", "fixtures", "dumps", "*-full.dmp.xz"))
	for _, p := range xzs {
		data, err := os.ReadFile(minidumptest.UnpackXZ(t, p))
		if err != nil {
			t.Fatal(err)
		}
		if !layoutSummaryAgrees(t, p, data, Options{}) {
			t.Errorf("%s: the layout did not count the summary", p)
		}
		n++
	}
	if n < 10 {
		t.Fatalf("the layout counted the summary of only %d real dumps", n)
	}
	t.Logf("%d real dumps compared", n)
}
