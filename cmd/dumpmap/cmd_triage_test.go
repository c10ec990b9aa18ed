package main

import (
	"archive/zip"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/dumpmap/dumpmap/minidump"
	"github.com/dumpmap/dumpmap/minidump/minidumptest"
)

// triageDump is a 32-bit Windows dump of app.exe with a MemoryInfoList whose one
// free block (at 0x40000000) is freeSize bytes, and an exception at app.exe+off
// (none when code is 0).
func triageDump(freeSize uint64, code minidump.ExceptionCode, off uint64, stamp uint32) []byte {
	const top = 0x7fff0000
	mi := func(base, size uint64, state minidump.MemState, typ minidump.MemType) minidump.MemoryInfo {
		r := minidump.MemoryInfo{BaseAddress: base, AllocationBase: base, RegionSize: size, State: state, Type: typ,
			AllocationProtect: minidump.PageReadWrite, Protect: minidump.PageReadWrite}
		if state == minidump.MemFree {
			r.AllocationBase, r.AllocationProtect, r.Protect = 0, 0, minidump.PageNoAccess
		}
		return r
	}
	rs := []minidump.MemoryInfo{mi(0, 0x10000, minidump.MemFree, 0), mi(0x10000, 0x3f0000, minidump.MemReserve, minidump.MemPrivate),
		mi(0x400000, 0x10000, minidump.MemCommit, minidump.MemImage)}
	if freeSize == 0 {
		rs = append(rs, mi(0x410000, top-0x410000, minidump.MemReserve, minidump.MemPrivate))
	} else {
		rs = append(rs, mi(0x410000, 0x40000000-0x410000, minidump.MemReserve, minidump.MemPrivate),
			mi(0x40000000, freeSize, minidump.MemFree, 0),
			mi(0x40000000+freeSize, top-0x40000000-freeSize, minidump.MemReserve, minidump.MemPrivate))
	}
	b := minidumptest.New().SystemInfo(minidumptest.Windows7x86()).
		Module(minidumptest.Module{Base: 0x400000, Size: 0x10000, Name: `C:\App\app.exe`, Version: [4]uint16{2, 1, 0, 7}}).
		Region(rs...)
	b.TimeDateStamp = stamp
	if code != 0 {
		b.Exception(1, code, 0x400000+off)
	}
	return b.Bytes()
}

// triageSet writes the fixed set of the triage goldens into dir.
func triageSet(t *testing.T, dir string) {
	av := triageDump(256<<20, minidump.ExceptionAccessViolation, 0x1234, 0x60000000)
	gzipped := func(b []byte) []byte {
		var buf bytes.Buffer
		w := gzip.NewWriter(&buf)
		w.Write(b)
		w.Close()
		return buf.Bytes()
	}
	var zbuf bytes.Buffer
	zw := zip.NewWriter(&zbuf)
	for _, m := range []struct {
		name string
		data []byte
	}{
		{"a/oom.dmp", triageDump(0, minidump.ExceptionNoMemory, 0x50, 0x61000000)},
		{"a/frag.dmp.gz", gzipped(triageDump(256<<10, minidump.ExceptionCPlusPlus, 0x60, 0x61100000))},
		{"notes.txt", []byte("sent by the customer\n")},
	} {
		f, _ := zw.Create(m.name)
		f.Write(m.data)
	}
	zw.Close()
	files := map[string][]byte{
		"av.dmp":            av,
		"av-copy.dmp":       av,
		"av-later.dmp":      triageDump(256<<20, minidump.ExceptionAccessViolation, 0x1234, 0x62000000),
		"hang.dmp":          triageDump(4<<20, 0, 0, 0x60500000),
		"bundle.zip":        zbuf.Bytes(),
		"av.dmp.gz":         gzipped(av),
		"bad/readme.md":     []byte("# not a dump\n"),
		"bad/cut.dmp":       av[:24],
		"bad/zeros.bin":     make([]byte, 64),
		"bad/=cmd|calc.dmp": []byte("=cmd|' /C calc'!A0\n"),
	}
	for name, data := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func TestTriageGolden(t *testing.T) {
	dir := t.TempDir()
	triageSet(t, dir)
	home, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	t.Chdir(dir)
	for _, v := range []struct{ name, args string }{
		{"triage.table.txt", "triage ."},
		{"triage.by-verdict.txt", "triage --group-by verdict ."},
		{"triage.by-version.txt", "triage --group-by version -j 3 ."},
		{"triage.csv", "triage --format csv ."},
	} {
		out, errOut, code := runCLI(strings.Fields(v.args)...)
		if code != 0 || errOut != "" {
			t.Fatalf("%s: exit %d: %s", v.args, code, errOut)
		}
		t.Chdir(home)
		checkGolden(t, v.name, out)
		t.Chdir(dir)
	}
}

// ndjsonLines splits NDJSON output into records, groups and the summary.
func ndjsonLines(t *testing.T, out string) (recs, groups []map[string]any, summary map[string]any) {
	t.Helper()
	for i, line := range strings.Split(strings.TrimSuffix(out, "\n"), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("line %d is not JSON: %q", i+1, line)
		}
		switch m["kind"] {
		case "record":
			if summary != nil || groups != nil {
				t.Fatalf("line %d: a record after the groups", i+1)
			}
			recs = append(recs, m)
		case "group":
			groups = append(groups, m)
		case "summary":
			if summary != nil {
				t.Fatalf("line %d: a second summary", i+1)
			}
			summary = m
		default:
			t.Fatalf("line %d: kind %v", i+1, m["kind"])
		}
	}
	if summary == nil {
		t.Fatal("no summary line")
	}
	return
}

func TestTriageNDJSONAndResume(t *testing.T) {
	dir := t.TempDir()
	triageSet(t, dir)
	out, errOut, code := runCLI("triage", "--format", "ndjson", dir)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	recs, groups, sum := ndjsonLines(t, out)
	if len(recs) != 12 || sum["records"].(float64) != 12 || sum["files"].(float64) != 10 {
		t.Fatalf("%d records, summary %v", len(recs), sum)
	}
	var n float64
	for _, g := range groups {
		n += g["count"].(float64)
	}
	if n != 12 {
		t.Errorf("groups count %v records", n)
	}
	// --json: one object, the summary and the groups.
	out2, _, code := runCLI("triage", "--json", dir)
	var rep struct {
		Paths   []string
		Summary map[string]any
		Groups  []map[string]any
	}
	if err := json.Unmarshal([]byte(out2), &rep); err != nil || code != 0 || rep.Summary["records"].(float64) != 12 || len(rep.Groups) != len(groups) {
		t.Errorf("--json: exit %d, %v: %s", code, err, out2)
	}

	// An interrupted run: the first five records and half a line.
	outFile := filepath.Join(t.TempDir(), "out.ndjson")
	lines := strings.SplitAfter(out, "\n")
	os.WriteFile(outFile, []byte(strings.Join(lines[:5], "")+lines[5][:20]), 0o644)
	out3, errOut, code := runCLI("triage", "--resume", outFile, dir)
	if code != 0 || out3 != "" {
		t.Fatalf("resume: exit %d, stdout %q, stderr %s", code, out3, errOut)
	}
	data, _ := os.ReadFile(outFile)
	recs2, _, sum2 := ndjsonLines(t, string(data))
	if len(recs2) != 12 || sum2["resumed"].(float64) != 5 || sum2["records"].(float64) != 7 || sum2["skipped"].(float64) != 5 {
		t.Errorf("after resume: %d records, summary %v", len(recs2), sum2)
	}
	keys := map[string]bool{}
	for _, r := range recs2 {
		k := r["file"].(string) + "!" + str(r["member"])
		if keys[k] {
			t.Errorf("%s recorded twice", k)
		}
		keys[k] = true
	}
}

func str(v any) string {
	s, _ := v.(string)
	return s
}

func TestTriageShardCLI(t *testing.T) {
	dir := t.TempDir()
	triageSet(t, dir)
	var all []string
	for i := range 4 {
		out, errOut, code := runCLI("triage", "--format", "csv", "--shard", string(rune('0'+i))+"/4", dir)
		if code != 0 {
			t.Fatalf("shard %d: exit %d: %s", i, code, errOut)
		}
		rows := strings.Split(strings.TrimSpace(out), "\n")[1:]
		all = append(all, rows...)
	}
	full, _, _ := runCLI("triage", "--format", "csv", dir)
	want := strings.Split(strings.TrimSpace(full), "\n")[1:]
	sort.Strings(all)
	sort.Strings(want)
	if strings.Join(all, "\n") != strings.Join(want, "\n") {
		t.Errorf("the shards' rows differ from the full run's:\n%s\n---\n%s", strings.Join(all, "\n"), strings.Join(want, "\n"))
	}
}

func TestTriageUsage(t *testing.T) {
	dir := t.TempDir()
	for _, args := range [][]string{
		{"triage"},
		{"triage", "--format", "xml", dir},
		{"triage", "--group-by", "colour", dir},
		{"triage", "--shard", "4/4", dir},
		{"triage", "--shard", "x", dir},
		{"triage", "--jobs", "-2", dir},
		{"triage", "--timeout", "0s", dir},
		{"triage", "--max-unpacked", "lots", dir},
		{"triage", "--resume", filepath.Join(dir, "o"), "--format", "csv", dir},
		{"triage", "--resume", filepath.Join(dir, "o"), "-o", filepath.Join(dir, "p"), dir},
		{"triage", "--json", "--format", "csv", dir},
	} {
		if _, errOut, code := runCLI(args...); code != exitUsage {
			t.Errorf("%q: exit %d, want %d (%s)", args, code, exitUsage, errOut)
		}
	}
	if out, _, code := runCLI("help", "triage"); code != 0 || !strings.Contains(out, "--shard") {
		t.Errorf("help: %d %s", code, out)
	}
}

// TestTriageCorpus runs `dumpmap triage` on the whole shared corpus: every file is
// accounted for, and the groups are the ones the corpus holds.
func TestTriageCorpus(t *testing.T) {
	corpus := corpusDir(t)
	files := 0
	filepath.WalkDir(corpus, func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			files++
		}
		return nil
	})
	out, errOut, code := runCLI("triage", "--format", "ndjson", "--group-by", "signature", corpus)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	recs, groups, sum := ndjsonLines(t, out)
	if len(recs) != files || int(sum["records"].(float64)) != files || int(sum["files"].(float64)) != files {
		t.Fatalf("%d records for %d files; summary %v", len(recs), files, sum)
	}
	seen := map[string]map[string]any{}
	for _, r := range recs {
		rel, _ := filepath.Rel(corpus, r["file"].(string))
		if seen[rel] != nil {
			t.Errorf("%s recorded twice", rel)
		}
		seen[rel] = r
		if r["error_kind"] == "internal" {
			t.Errorf("%s: %v", rel, r["error"])
		}
		if r["error"] == nil && (r["sha256"] == nil || r["verdict"] == nil) {
			t.Errorf("%s: incomplete record %v", rel, r)
		}
	}
	if a, b := seen["breakpad/minidump2.dmp"], seen["rust-minidump/test.dmp"]; a["sha256"] != b["sha256"] || a["signature"] != "EXCEPTION_ACCESS_VIOLATION test_app.exe+0x429e" {
		t.Errorf("the two copies of minidump2: %v / %v", a, b)
	}
	if r := seen["breakpad/microdump-x86.dmp"]; r["error_kind"] != "not-minidump" || !strings.Contains(str(r["error"]), "microdump") {
		t.Errorf("microdump: %v", r)
	}
	if r := seen["mozilla-pgo/windows-x86.dmp"]; r["verdict"] != "ok" || r["map"] != "memory-info-list" || r["fits_1m"] != true {
		t.Errorf("windows-x86: %v", r)
	}
	if r := seen["radare2-testbins/mdmp-dos"]; r == nil {
		t.Error("mdmp-dos has no record")
	}
	byKey := map[string]float64{}
	for _, g := range groups {
		byKey[g["key"].(string)] = g["count"].(float64)
	}
	for key, n := range map[string]float64{
		"EXCEPTION_ACCESS_VIOLATION crashme.exe+0xa6cd":  6, // the six ascii_* crashes of Breakpad's crashme.exe
		"EXCEPTION_ACCESS_VIOLATION test_app.exe+0x429e": 2, // minidump2.dmp and its copy
		"EXCEPTION_STACK_OVERFLOW crashme.exe+0xa637":    1,
	} {
		if byKey[key] != n {
			t.Errorf("group %q: %v records, want %v", key, byKey[key], n)
		}
	}
	t.Logf("%d files, %d groups, %v dumps, %v errors %v", files, len(groups), sum["dumps"], sum["errors"], sum["error_kinds"])

	// Grouped by the stack's frames (the default): Breakpad's six ascii_*
	// crashes of crashme.exe crash at one place and share a signature, and the
	// records carry their frames.
	out, errOut, code = runCLI("triage", "--format", "ndjson", corpus)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	recs, groups, _ = ndjsonLines(t, out)
	byKey = map[string]float64{}
	for _, g := range groups {
		if g["by"] != "frames" {
			t.Fatalf("group by %v", g["by"])
		}
		byKey[g["key"].(string)] = g["count"].(float64)
	}
	if byKey["crashme.exe+0xa6cd"] != 6 {
		t.Errorf("frame groups %v", byKey)
	}
	withFrames := 0
	for _, r := range recs {
		if fr, ok := r["frames"].([]any); ok && len(fr) > 0 && r["frame_signature"] != nil {
			withFrames++
		}
	}
	if withFrames < 60 {
		t.Errorf("%d records with frames", withFrames)
	}
}

// TestTriageOutputInsideTree: the output file, in a folder being triaged, is not
// triaged itself, on the first run or on --resume.
func TestTriageOutputInsideTree(t *testing.T) {
	dir := t.TempDir()
	triageSet(t, dir)
	t.Chdir(dir)
	for _, args := range [][]string{
		{"triage", "--format", "ndjson", "-o", "out.ndjson", "."},
		{"triage", "--resume", "out.ndjson", "."},
		{"triage", "--resume", filepath.Join(dir, "out.ndjson"), dir},
	} {
		if _, errOut, code := runCLI(args...); code != 0 {
			t.Fatalf("%q: exit %d: %s", args, code, errOut)
		}
		data, _ := os.ReadFile("out.ndjson")
		if strings.Contains(string(data), `"file":"out.ndjson"`) || strings.Contains(string(data), `out.ndjson","size"`) {
			t.Errorf("%q: the output file was triaged", args)
		}
	}
}
