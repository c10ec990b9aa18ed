package report_test

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dumpmap/dumpmap/analysis/report"
	"github.com/dumpmap/dumpmap/minidump"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/golden")

// A goldenCase is a dump whose Markdown and JSON reports are kept as golden files
// (the HTML is checked by TestHTML* and, in a browser, by TestChromium).
type goldenCase struct {
	name   string
	corpus string // path under the corpus, or "" for the synthetic seed dump
	opt    report.Options
}

var goldenCases = []goldenCase{
	{name: "seed"},
	{name: "seed-sizes", opt: report.Options{Sizes: []uint64{64, 50 * K, 1 * M}, Vias: nil}},
	{name: "windows-x86", corpus: "mozilla-pgo/windows-x86.dmp"},
	{name: "stability-report", corpus: "rust-minidump/stability-report.dmp"},
	{name: "tiny-exe-with-cet-xsave", corpus: "breakpad/tiny-exe-with-cet-xsave.dmp"},
	{name: "minidump2-partial", corpus: "breakpad/minidump2.dmp"},
}

func (gc goldenCase) open(t testing.TB) *minidump.File {
	if gc.corpus == "" {
		return openBytes(t, seedDump())
	}
	return openCorpus(t, gc.corpus)
}

func TestGolden(t *testing.T) {
	for _, gc := range goldenCases {
		t.Run(gc.name, func(t *testing.T) {
			f := gc.open(t)
			name := gc.name + ".dmp"
			if gc.corpus != "" {
				name = filepath.Base(gc.corpus)
			}
			r := build(t, f, name, gc.opt)
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

func checkGolden(t *testing.T, name, got string) {
	t.Helper()
	p := filepath.Join("testdata", "golden", name)
	if *update {
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(p)
	if err != nil {
		t.Fatalf("%v (run go test ./analysis/report -run TestGolden -update)", err)
	}
	if string(want) != got {
		t.Errorf("%s differs from the golden file (rerun with -update if the change is intended):\n%s", name, lineDiff(string(want), got))
	}
}

// lineDiff shows the first lines that differ.
func lineDiff(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	var b strings.Builder
	shown := 0
	for i := 0; i < max(len(w), len(g)) && shown < 10; i++ {
		var wl, gl string
		if i < len(w) {
			wl = w[i]
		}
		if i < len(g) {
			gl = g[i]
		}
		if wl != gl {
			fmt.Fprintf(&b, "line %d:\n  want: %s\n  got:  %s\n", i+1, wl, gl)
			shown++
		}
	}
	return b.String()
}
