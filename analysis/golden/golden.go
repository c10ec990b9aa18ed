// Package golden compares a test's output with a golden file kept under testdata,
// and rewrites the file when the test binary runs with -update:
//
//	go test ./cmd/dumpmap -run TestGolden -update
//
// It is imported by tests only. A golden file pins output byte for byte; it is
// checked against independent truth elsewhere (other parsers' output, the fixture
// processes' own records), never against itself, so a test that uses Check should
// say where its facts are checked.
package golden

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// update is the -update flag every test binary that imports this package has.
var update = flag.Bool("update", false, "rewrite the golden files under testdata instead of comparing with them")

// Updating reports whether the test binary runs with -update.
func Updating() bool { return *update }

// Check compares got with the golden file at path (relative to the package's
// directory, e.g. "testdata/golden/x.txt"). With -update it writes got there
// instead, creating the folders. A difference fails the test with the first lines
// that differ.
func Check(t testing.TB, path string, got []byte) {
	t.Helper()
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (rerun the test with -update to write it)", err)
	}
	if string(want) != string(got) {
		t.Errorf("%s differs from the golden file (rerun with -update if the change is intended):\n%s", filepath.Base(path), Diff(string(want), string(got)))
	}
}

// CheckString is Check for text.
func CheckString(t testing.TB, path, got string) {
	t.Helper()
	Check(t, path, []byte(got))
}

// Diff shows the first ten lines that differ between want and got, each as
// "line N:" followed by the wanted and the got line; "" when they are equal.
func Diff(want, got string) string {
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
