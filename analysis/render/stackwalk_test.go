package render

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/dumpmap/dumpmap/analysis/process"
	"github.com/dumpmap/dumpmap/analysis/stack"
	"github.com/dumpmap/dumpmap/minidump"
)

// The oracle: rust-minidump's own insta snapshots of minidump-stackwalk
// (minidump-stackwalk/tests/snapshots in rust-minidump 98a5141b8eef, in the shared
// corpus with the dumps they were made from). Each test runs our writer on the
// same dump and compares the two documents field by field; every difference must
// be one the test names, with the reason (docs/stacks.md, "minidump-stackwalk
// JSON").

// rustMinidumpDir returns ../shared/corpus/rust-minidump, found by walking up
// from the package directory, or skips t.
func rustMinidumpDir(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Skip(err)
	}
	for {
		p := filepath.Join(dir, "shared", "corpus", "rust-minidump")
		if st, err := os.Stat(filepath.Join(p, "snapshots")); err == nil && st.IsDir() {
			return p
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Skip("shared corpus (../shared/corpus/rust-minidump) not found; skipping")
		}
		dir = parent
	}
}

// snapshot returns the text of an insta snapshot after its "---" header.
func snapshot(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(rustMinidumpDir(t), "snapshots", name))
	if err != nil {
		t.Fatal(err)
	}
	parts := strings.SplitN(string(b), "\n---\n", 2)
	if len(parts) != 2 || !strings.HasPrefix(parts[0], "---\n") {
		t.Fatalf("%s: no insta header", name)
	}
	return parts[1]
}

// stackwalkOf runs the writer on a dump: compact and pretty output.
func stackwalkOf(t *testing.T, f *minidump.File) (compact, pretty []byte) {
	t.Helper()
	p := process.New(f, process.Options{})
	t.Cleanup(func() { p.Close() })
	d, err := stack.ForProcess(context.Background(), p, stack.Options{})
	if err != nil {
		t.Fatal(err)
	}
	sw, err := NewStackwalk(context.Background(), p, d)
	if err != nil {
		t.Fatal(err)
	}
	var c, pr bytes.Buffer
	if err := sw.WriteJSON(&c); err != nil {
		t.Fatal(err)
	}
	if err := sw.WritePretty(&pr); err != nil {
		t.Fatal(err)
	}
	return c.Bytes(), pr.Bytes()
}

func stackwalkFile(t *testing.T, name string) (compact, pretty []byte) {
	t.Helper()
	f, err := minidump.Open(filepath.Join(rustMinidumpDir(t), name))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return stackwalkOf(t, f)
}

func decodeJSON(t *testing.T, what string, b []byte) any {
	t.Helper()
	var v any
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	if err := dec.Decode(&v); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	return v
}

// jsonDiff lists the differences between two decoded JSON documents, each as
// "path: want W, got G", paths like threads[0].frames[1].trust.
func jsonDiff(p string, want, got any, out *[]string) {
	show := func(v any) string { b, _ := json.Marshal(v); return string(b) }
	switch w := want.(type) {
	case map[string]any:
		g, ok := got.(map[string]any)
		if !ok {
			*out = append(*out, fmt.Sprintf("%s: want %s, got %s", p, show(want), show(got)))
			return
		}
		keys := map[string]bool{}
		for k := range w {
			keys[k] = true
		}
		for k := range g {
			keys[k] = true
		}
		for _, k := range slices.Sorted(func(yield func(string) bool) {
			for k := range keys {
				if !yield(k) {
					return
				}
			}
		}) {
			q := k
			if p != "" {
				q = p + "." + k
			}
			wv, wok := w[k]
			gv, gok := g[k]
			switch {
			case !wok:
				*out = append(*out, fmt.Sprintf("%s: not in rust-minidump's, got %s", q, show(gv)))
			case !gok:
				*out = append(*out, fmt.Sprintf("%s: missing, want %s", q, show(wv)))
			default:
				jsonDiff(q, wv, gv, out)
			}
		}
	case []any:
		g, ok := got.([]any)
		if !ok {
			*out = append(*out, fmt.Sprintf("%s: want %s, got %s", p, show(want), show(got)))
			return
		}
		if len(w) != len(g) {
			*out = append(*out, fmt.Sprintf("%s: want %d elements, got %d", p, len(w), len(g)))
		}
		for i := range min(len(w), len(g)) {
			jsonDiff(fmt.Sprintf("%s[%d]", p, i), w[i], g[i], out)
		}
	default:
		if show(want) != show(got) {
			*out = append(*out, fmt.Sprintf("%s: want %s, got %s", p, show(want), show(got)))
		}
	}
}

// allowed is a difference a test expects: a path pattern (path.Match syntax,
// with [*] for any index) and why ours differs.
type allowed struct{ pattern, why string }

// checkDiffs fails t for every difference no allowed pattern covers, and logs
// the covered ones.
func checkDiffs(t *testing.T, diffs []string, allow []allowed) {
	t.Helper()
	for _, d := range diffs {
		p, _, _ := strings.Cut(d, ":")
		why := ""
		for _, a := range allow {
			if ok, _ := path.Match(idxWild(a.pattern), idxWild(p)); ok {
				why = a.why
				break
			}
		}
		if why == "" {
			t.Errorf("difference: %s", d)
		} else {
			t.Logf("expected difference (%s): %s", why, d)
		}
	}
}

// idxWild replaces every [N] index in a path by a NUL, which the patterns'
// [*] become, so that path.Match sees no brackets.
func idxWild(p string) string {
	var b strings.Builder
	for i := 0; i < len(p); i++ {
		if p[i] == '[' {
			if j := strings.IndexByte(p[i:], ']'); j > 0 {
				b.WriteByte(0)
				i += j
				continue
			}
		}
		b.WriteByte(p[i])
	}
	return b.String()
}

// TestStackwalkTestDmp: test.dmp (Breakpad's minidump2.dmp, Windows XP x86,
// an access violation writing 0x45) against rust-minidump's json-pretty and
// json snapshots: the same document, byte for byte.
func TestStackwalkTestDmp(t *testing.T) {
	compact, pretty := stackwalkFile(t, "test.dmp")
	var diffs []string
	jsonDiff("", decodeJSON(t, "snapshot", []byte(snapshot(t, "test_minidump_stackwalk__json-pretty.snap"))), decodeJSON(t, "ours", pretty), &diffs)
	checkDiffs(t, diffs, nil)
	for _, c := range []struct {
		snap string
		ours []byte
	}{{"test_minidump_stackwalk__json-pretty.snap", pretty}, {"test_minidump_stackwalk__json.snap", compact}} {
		want := strings.TrimRight(snapshot(t, c.snap), "\n")
		if got := strings.TrimSuffix(string(c.ours), "\n"); got != want {
			i := 0
			for i < len(got) && i < len(want) && got[i] == want[i] {
				i++
			}
			t.Errorf("%s: bytes differ at %d: ours %q, rust-minidump %q", c.snap, i, got[max(0, i-40):min(len(got), i+40)], want[max(0, i-40):min(len(want), i+40)])
		}
	}
}
