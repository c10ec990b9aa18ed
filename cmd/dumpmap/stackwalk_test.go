package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestStackFormatStackwalk: `dumpmap stack --format stackwalk-json` prints, for
// rust-minidump's test.dmp, the bytes `minidump-stackwalk --json` printed for it
// (rust-minidump's json snapshot, after its insta header), and one JSON object
// for every corpus dump it can read.
func TestStackFormatStackwalk(t *testing.T) {
	dir := corpusDir(t)
	snap, err := os.ReadFile(filepath.Join(dir, "rust-minidump", "snapshots", "test_minidump_stackwalk__json.snap"))
	if err != nil {
		t.Fatal(err)
	}
	_, want, ok := strings.Cut(strings.TrimPrefix(string(snap), "---\n"), "\n---\n")
	if !ok {
		t.Fatal("no insta header")
	}
	out, errOut, code := runCLI("stack", "--format", "stackwalk-json", filepath.Join(dir, "rust-minidump", "test.dmp"))
	if code != 0 || out != strings.TrimRight(want, "\n")+"\n" {
		t.Errorf("exit %d (%s), output differs from minidump-stackwalk --json's:\n%s", code, errOut, out)
	}
	for _, f := range corpusDumps(t) {
		out, errOut, code := runCLI("stack", "--format", "stackwalk-json", f)
		if strings.Contains(errOut, "internal error") || code != 0 && code != 1 {
			t.Errorf("%s: exit %d: %s", f, code, errOut)
		}
		if code == 0 {
			var v map[string]any
			if err := json.Unmarshal([]byte(out), &v); err != nil || v["status"] != "OK" {
				t.Errorf("%s: bad JSON (%v): %.200s", f, err, out)
			}
		}
	}
}

// TestStackFormatFlag: --format json is --json; the stackwalk format refuses
// --json and --thread; an unknown format is a usage error.
func TestStackFormatFlag(t *testing.T) {
	f := writeDump(t, "synthetic.dmp", syntheticX64().Bytes())
	a, _, c1 := runCLI("stack", "--json", f)
	b, _, c2 := runCLI("stack", "--format", "json", f)
	if c1 != 0 || c2 != 0 || a != b {
		t.Errorf("--format json (exit %d) differs from --json (exit %d):\n%s\n%s", c2, c1, b, a)
	}
	for _, args := range [][]string{
		{"stack", "--format", "xml", f},
		{"stack", "--format", "stackwalk-json", "--json", f},
		{"stack", "--format", "stackwalk-json", "--thread", "4242", f},
	} {
		if out, _, code := runCLI(args...); code != exitUsage || out != "" {
			t.Errorf("%v: exit %d, output %q; want a usage error", args, code, out)
		}
	}
}
