package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestReportFormats(t *testing.T) {
	dump := writeDump(t, "synthetic.dmp", syntheticX64().Bytes())
	out, errOut, code := runCLI("report", dump)
	if code != 0 || !strings.HasPrefix(out, "# dumpmap report: seed.exe 1.2.3.4\n") {
		t.Fatalf("md: exit %d, stderr %q, out starts %q", code, errOut, out[:min(len(out), 80)])
	}
	out, _, code = runCLI("report", "--format", "html", dump)
	if code != 0 || !strings.HasPrefix(out, "<!DOCTYPE html>") || !strings.Contains(out, `<svg id="addrmap"`) {
		t.Fatalf("html: exit %d", code)
	}
	for _, args := range [][]string{{"report", "--json", dump}, {"report", "--format", "json", dump}} {
		out, _, code = runCLI(args...)
		var v map[string]any
		if code != 0 || json.Unmarshal([]byte(out), &v) != nil || v["file"] != "synthetic.dmp" || v["report_version"] != 1.0 {
			t.Fatalf("%v: exit %d, %.200s", args, code, out)
		}
	}
	// Sizes and paths from the command line.
	out, _, code = runCLI("report", "--json", "--size", "50K", "--size", "0x100000", "--via", "virtualalloc,heap", "--below", "2G", dump)
	var r struct {
		Requests struct {
			ChosenBy string   `json:"chosen_by"`
			Sizes    []uint64 `json:"sizes"`
			Vias     []string `json:"vias"`
			Below    string   `json:"below"`
		} `json:"requests"`
		Explanations []json.RawMessage `json:"explanations"`
	}
	if code != 0 || json.Unmarshal([]byte(out), &r) != nil {
		t.Fatalf("exit %d: %.200s", code, out)
	}
	if r.Requests.ChosenBy != "options" || len(r.Requests.Sizes) != 2 || r.Requests.Sizes[0] != 50<<10 || r.Requests.Sizes[1] != 1<<20 ||
		strings.Join(r.Requests.Vias, ",") != "virtualalloc,heap" || r.Requests.Below != "0x80000000" || len(r.Explanations) != 4 {
		t.Errorf("requests = %+v, %d explanations", r.Requests, len(r.Explanations))
	}
}

func TestReportOutputFile(t *testing.T) {
	dump := writeDump(t, "synthetic.dmp", syntheticX64().Bytes())
	dir := t.TempDir()
	html := filepath.Join(dir, "r.html")
	out, errOut, code := runCLI("report", "-o", html, dump)
	if code != 0 || out != "" {
		t.Fatalf("exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	data, err := os.ReadFile(html)
	if err != nil || !strings.HasPrefix(string(data), "<!DOCTYPE html>") {
		t.Fatalf("-o r.html did not write HTML (format from the extension): %v", err)
	}
	// An existing file is kept without --force...
	if err := os.WriteFile(html, []byte("keep me"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, errOut, code = runCLI("report", "-o", html, dump)
	if code != 1 || !strings.Contains(errOut, "exists (use --force to overwrite it)") {
		t.Errorf("existing file: exit %d, %q", code, errOut)
	}
	if b, _ := os.ReadFile(html); string(b) != "keep me" {
		t.Errorf("the existing file was changed")
	}
	// ...and replaced with it.
	if _, errOut, code = runCLI("report", "-o", html, "--force", dump); code != 0 {
		t.Fatalf("--force: exit %d: %s", code, errOut)
	}
	if b, _ := os.ReadFile(html); !strings.HasPrefix(string(b), "<!DOCTYPE html>") {
		t.Errorf("--force did not overwrite")
	}
	// Extensions choose the format; --format wins.
	for name, prefix := range map[string]string{"r.json": "{", "r.md": "# dumpmap report", "r.txt": "# dumpmap report"} {
		p := filepath.Join(dir, name)
		if _, errOut, code := runCLI("report", "-o", p, dump); code != 0 {
			t.Fatalf("%s: exit %d: %s", name, code, errOut)
		}
		if b, _ := os.ReadFile(p); !strings.HasPrefix(string(b), prefix) {
			t.Errorf("%s starts %.30q, want %q", name, b, prefix)
		}
	}
	p := filepath.Join(dir, "forced.html")
	if _, _, code := runCLI("report", "--format", "md", "-o", p, dump); code != 0 {
		t.Fatal(code)
	}
	if b, _ := os.ReadFile(p); !strings.HasPrefix(string(b), "# dumpmap report") {
		t.Errorf("--format md -o x.html wrote %.30q", b)
	}
	// A directory is never replaced, and a missing directory is not created.
	if _, _, code := runCLI("report", "-o", dir, "--force", dump); code != 1 {
		t.Errorf("-o DIR --force: exit %d", code)
	}
	if _, _, code := runCLI("report", "-o", filepath.Join(dir, "no", "such", "r.md"), dump); code != 1 {
		t.Errorf("-o in a missing directory: exit %d", code)
	}
	if _, err := os.Stat(filepath.Join(dir, "no")); err == nil {
		t.Errorf("a directory was created")
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 5 { // r.html r.json r.md r.txt forced.html
		var names []string
		for _, e := range entries {
			names = append(names, e.Name())
		}
		t.Errorf("files in the output directory: %v", names)
	}
}

func TestReportUsageErrors(t *testing.T) {
	dump := writeDump(t, "synthetic.dmp", syntheticX64().Bytes())
	for _, args := range [][]string{
		{"report", "--format", "pdf", dump},
		{"report", "--size", "lots", dump},
		{"report", "--size", "0", dump},
		{"report", "--via", "mmap", dump},
		{"report", "--below", "nowhere", dump},
		{"report", "--force", dump},
		{"report", "--top", "0", dump},
		{"report", "--json", "--format", "html", dump},
		{"report"},
	} {
		out, errOut, code := runCLI(args...)
		if code != 2 || out != "" || !strings.Contains(errOut, "dumpmap report") {
			t.Errorf("%v: exit %d, stdout %q, stderr %q", args, code, out, errOut)
		}
	}
	if _, errOut, code := runCLI("report", filepath.Join(t.TempDir(), "missing.dmp")); code != 1 {
		t.Errorf("missing dump: exit %d: %s", code, errOut)
	}
}
