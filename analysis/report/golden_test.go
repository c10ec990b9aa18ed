package report_test

import (
	"bytes"
	"path/filepath"
	"testing"

	"github.com/dumpmap/dumpmap/analysis/golden"

	"github.com/dumpmap/dumpmap/analysis"
	"github.com/dumpmap/dumpmap/analysis/report"
	"github.com/dumpmap/dumpmap/minidump"
)

// A goldenCase is a dump whose Markdown and JSON reports are kept as golden files
// (the HTML is checked by TestHTML* and, in a browser, by TestChromium).
type goldenCase struct {
	name    string
	corpus  string // path under the corpus, or "" for the synthetic seed dump
	fixture string // path under testdata/fixtures/dumps (the fixture lab's dumps)
	opt     report.Options
}

var goldenCases = []goldenCase{
	{name: "seed"},
	{name: "fixture-seed", fixture: "seed.dmp", opt: fixtureSeedOptions},
	{name: "seed-sizes", opt: report.Options{Sizes: []uint64{64, 50 * K, 1 * M}, Vias: nil}},
	{name: "windows-x86", corpus: "mozilla-pgo/windows-x86.dmp"},
	{name: "stability-report", corpus: "rust-minidump/stability-report.dmp"},
	{name: "tiny-exe-with-cet-xsave", corpus: "breakpad/tiny-exe-with-cet-xsave.dmp"},
	{name: "minidump2-partial", corpus: "breakpad/minidump2.dmp"},
}

// fixtureSeedOptions analyse the fixture lab's seed scenario as its truth file says:
// a 64-bit process confined below 2 GB is a 2 GB process, and the one free granule
// there, Wine's loader at 0x7d000000, is not allocatable (docs/fixtures.md). The
// command line is `dumpmap report --below 2G --unavailable 0x7d000000-0x7d010000`.
var fixtureSeedOptions = report.Options{Map: analysis.Options{Below: 2 << 30, Unavailable: []analysis.AddrRange{{Start: 0x7d000000, End: 0x7d010000}}}}

func (gc goldenCase) open(t testing.TB) *minidump.File {
	switch {
	case gc.fixture != "":
		f, err := minidump.Open(filepath.Join("..", "..", "testdata", "fixtures", "dumps", gc.fixture))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { f.Close() })
		return f
	case gc.corpus == "":
		return openBytes(t, seedDump())
	}
	return openCorpus(t, gc.corpus)
}

func (gc goldenCase) fileName() string {
	switch {
	case gc.fixture != "":
		return gc.fixture
	case gc.corpus != "":
		return filepath.Base(gc.corpus)
	}
	return gc.name + ".dmp"
}

func TestGolden(t *testing.T) {
	for _, gc := range goldenCases {
		t.Run(gc.name, func(t *testing.T) {
			f := gc.open(t)
			r := build(t, f, gc.fileName(), gc.opt)
			var md, js bytes.Buffer
			if err := r.WriteMarkdown(&md); err != nil {
				t.Fatal(err)
			}
			if err := r.WriteJSON(&js); err != nil {
				t.Fatal(err)
			}
			checkGolden(t, gc.name+".md", md.String())
			checkGolden(t, gc.name+".json", js.String())
			validate(t, js.Bytes())
		})
	}
}

// checkGolden compares got with testdata/golden/name (see package golden).
func checkGolden(t *testing.T, name, got string) {
	t.Helper()
	golden.CheckString(t, filepath.Join("testdata", "golden", name), got)
}
