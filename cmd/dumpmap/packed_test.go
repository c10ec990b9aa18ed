package main

import (
	"archive/zip"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dumpmap/dumpmap/analysis/cab"
	"github.com/dumpmap/dumpmap/analysis/cab/cabtest"
	"github.com/klauspost/compress/zstd"
)

// packedForms writes the dump at plain in every packing a user may receive it in
// and returns the paths by form. "wer.cab" is gcab's cabinet of the same fixture
// (analysis/input/testdata/gen.sh), an independent writer.
func packedForms(t *testing.T, plain string) map[string]string {
	dump, err := os.ReadFile(plain)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	readme := []byte("Sent by a customer: the app crashed at start.\n")
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(dump)
	zw.Close()
	enc, _ := zstd.NewWriter(nil)
	zst := enc.EncodeAll(dump, nil)
	enc.Close()
	var zb bytes.Buffer
	w := zip.NewWriter(&zb)
	for _, m := range []struct {
		name string
		data []byte
	}{{"readme.txt", readme}, {"dumps/pristine.dmp", dump}} {
		f, _ := w.Create(m.name)
		f.Write(m.data)
	}
	w.Close()
	cb := cabtest.Build([]cabtest.File{{Name: "Report.wer", Data: readme}, {Name: `WER\pristine.mdmp`, Data: dump}},
		cabtest.Options{Compression: cab.MSZIP})
	forms := map[string]string{"plain": plain}
	for form, data := range map[string][]byte{"gzip": gz.Bytes(), "zstd": zst, "zip": zb.Bytes(), "cab": cb} {
		p := filepath.Join(dir, "crash-"+form)
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		forms[form] = p
	}
	if wer := filepath.Join(repoRoot(t), "analysis", "input", "testdata", "wer.cab"); filepath.Base(plain) == "pristine.dmp" {
		forms["gcab"] = wer
	}
	forms["stdin"] = "-"
	forms["stdin-gzip"] = "-" + forms["gzip"] // "-" with this file as standard input
	return forms
}

// runWithStdin runs dumpmap with the file at in (if any) as standard input.
func runWithStdin(t *testing.T, in string, args ...string) (string, string, int) {
	if in == "" {
		return runCLI(args...)
	}
	f, err := os.Open(in)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	old := os.Stdin
	os.Stdin = f
	defer func() { os.Stdin = old }()
	return runCLI(args...)
}

// TestEveryCommandOnPackedInputs runs every command on a fixture dump and on its
// .gz, .zst, .zip and .cab forms and standard input, and requires the same exit
// status, stdout and stderr as for the plain file once the name each prints is
// replaced: opening a packed dump must give exactly what the dump gives.
func TestEveryCommandOnPackedInputs(t *testing.T) {
	plain := filepath.Join(repoRoot(t), "testdata", "fixtures", "dumps", "pristine.dmp")
	if _, err := os.Stat(plain); err != nil {
		plain = writeDump(t, "synthetic.dmp", syntheticX64().Bytes())
	}
	forms := packedForms(t, plain)
	names := map[string]string{
		"gzip": forms["gzip"], "zstd": forms["zstd"], "zip": forms["zip"] + ":dumps/pristine.dmp",
		"cab": forms["cab"] + ":WER/pristine.mdmp", "gcab": forms["gcab"] + ":WER4A1B.tmp.mdmp", "stdin": "<stdin>", "stdin-gzip": "<stdin>",
	}
	tmpBefore := tempFiles(t)
	for _, c := range sortedCommands() {
		if c.name == "triage" {
			continue // reads folders of files, not one FILE: TestTriagePackedInputs
		}
		for _, js := range []bool{false, true} {
			args := func(file string) []string {
				a := []string{c.name, file}
				switch c.name {
				case "explain":
					a = append(a, "--size", "64K")
				case "read":
					a = append(a, firstCaptured(t, plain), "64")
				case "symbols":
					a = append(a, "*!*")
				}
				if js {
					a = append(a, "--json")
				}
				return a
			}
			wantOut, wantErr, wantCode := runCLI(args(plain)...)
			want := func(s string) string { return replaceName(s, plain, "$DUMP") }
			for form, p := range forms {
				if form == "plain" {
					continue
				}
				t.Run(strings.Join(args(form), " "), func(t *testing.T) {
					in := ""
					if strings.HasPrefix(form, "stdin") {
						in, p = strings.TrimPrefix(p, "-"), "-"
						if in == "" {
							in = plain
						}
					}
					out, errOut, code := runWithStdin(t, in, args(p)...)
					got := func(s string) string {
						// report titles itself with the base name of its argument.
						if c.name == "report" {
							// A report names the dump by the base of its display name
							// ("app.dmp" of "crash.zip:dumps/app.dmp", "<stdin>").
							s = replaceName(s, filepath.Base(names[form]), filepath.Base(plain))
						}
						s = replaceName(s, names[form], "$DUMP")
						if p == "-" {
							return s
						}
						return replaceName(s, filepath.Base(p), filepath.Base(plain))
					}
					if code != wantCode || got(out) != want(wantOut) || got(errOut) != want(wantErr) {
						t.Errorf("exit %d, want %d\nstdout:\n%s\nwant:\n%s\nstderr:\n%s\nwant:\n%s", code, wantCode,
							head(got(out)), head(want(wantOut)), got(errOut), want(wantErr))
					}
				})
			}
		}
	}
	if after := tempFiles(t); after > tmpBefore {
		t.Errorf("%d temporary files left behind", after-tmpBefore)
	}
}

// replaceName replaces name in s, as written in text and in JSON strings.
func replaceName(s, name, with string) string {
	s = strings.ReplaceAll(s, name, with)
	j, _ := json.Marshal(name)
	return strings.ReplaceAll(s, string(j[1:len(j)-1]), with)
}

func head(s string) string {
	if len(s) > 3000 {
		return s[:3000] + "..."
	}
	return s
}

// tempFiles counts dumpmap's temporary files in os.TempDir.
func tempFiles(t *testing.T) int {
	m, _ := filepath.Glob(filepath.Join(os.TempDir(), "dumpmap-*"))
	return len(m)
}

// TestPackedInputErrors: what a user sees for the packed inputs that cannot be
// opened: the member is named.
func TestPackedInputErrors(t *testing.T) {
	dump := syntheticX64().Bytes()
	var zb bytes.Buffer
	w := zip.NewWriter(&zb)
	for _, n := range []string{"a.dmp", "b.dmp"} {
		f, _ := w.Create(n)
		f.Write(dump)
	}
	f, _ := w.Create("notes.txt")
	f.Write([]byte("notes\n"))
	w.Close()
	two := writeDump(t, "two.zip", zb.Bytes())
	text := writeDump(t, "text.cab", cabtest.Build([]cabtest.File{{Name: "notes.txt", Data: []byte("notes\n")}}, cabtest.Options{}))
	for _, tt := range []struct {
		file string
		want string
	}{
		{two, "dumpmap: " + two + ": zip archive holds 2 minidumps: a.dmp, b.dmp; open one at a time (unpack it first), or read them all with `dumpmap triage`\n"},
		{text, "dumpmap: " + text + ":notes.txt: not a minidump: looks like a text file (starts with \"notes\")\n"},
	} {
		out, errOut, code := runCLI("info", tt.file)
		if code != 1 || out != "" || errOut != tt.want {
			t.Errorf("info %s: exit %d, stdout %q, stderr %q; want %q", tt.file, code, out, errOut, tt.want)
		}
	}
}

// TestTriagePackedInputs: triage reads every packed form of the dump as the same
// dump (same hash and signature), cabinets included.
func TestTriagePackedInputs(t *testing.T) {
	plain := writeDump(t, "synthetic.dmp", syntheticX64().Bytes())
	dir := t.TempDir()
	for form, p := range packedForms(t, plain) {
		if strings.HasPrefix(form, "stdin") || form == "gcab" {
			continue
		}
		b, _ := os.ReadFile(p)
		os.WriteFile(filepath.Join(dir, form), b, 0o644)
	}
	out, errOut, code := runCLI("triage", "--format", "ndjson", dir)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	recs, _, _ := ndjsonLines(t, out)
	dumps := 0
	var sum string
	for _, r := range recs {
		if r["error"] != nil {
			continue // the readme beside the dump
		}
		dumps++
		if sum == "" {
			sum = str(r["sha256"])
		}
		if str(r["sha256"]) != sum {
			t.Errorf("%s!%s: sha256 %s, want %s", r["file"], r["member"], r["sha256"], sum)
		}
	}
	if dumps != 5 {
		t.Errorf("%d dumps, want 5 (plain, gzip, zstd, zip, cab):\n%s", dumps, out)
	}
}
