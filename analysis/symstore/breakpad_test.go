package symstore

import (
	"context"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/dumpmap/dumpmap/analysis/cab"
	"github.com/dumpmap/dumpmap/analysis/cab/cabtest"
	"github.com/dumpmap/dumpmap/analysis/pe"
)

// The Breakpad symbol file of the x86-64 CFI fixture (written by dump_syms).
const (
	symSrc  = "../breakpad/testdata/cfi-x64/prog.sym"
	symName = "cfi-x64-prog" // debug file name
	symID   = "AAC2A7BE3AE1330DCAF0E832F98D5BCA0"
	symFile = "cfi-x64-prog.sym"
)

func TestBreakpadFileName(t *testing.T) {
	for in, want := range map[string]string{
		"crash.pdb": "crash.sym", "CRASH.PDB": "CRASH.sym", "libxul.so": "libxul.so.sym",
		".pdb": ".pdb.sym", "a.pdbx": "a.pdbx.sym", "XUL": "XUL.sym",
	} {
		if got := BreakpadFileName(in); got != want {
			t.Errorf("BreakpadFileName(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestFindBreakpadLayouts(t *testing.T) {
	other := "0123456789ABCDEF0123456789ABCDEF0"
	tests := []struct {
		name  string
		setup func(t *testing.T, store string)
		want  string // path under store, "" = not found
		note  string // a tried line must contain this
	}{
		{"one-tier", func(t *testing.T, s string) { put(t, symSrc, filepath.Join(s, symName, symID, symFile)) },
			symName + "/" + symID + "/" + symFile, "found"},
		{"flat", func(t *testing.T, s string) { put(t, symSrc, filepath.Join(s, symFile)) }, symFile, "found"},
		{"two-tier", func(t *testing.T, s string) {
			os.WriteFile(filepath.Join(s, "index2.txt"), nil, 0o644)
			put(t, symSrc, filepath.Join(s, "cf", symName, symID, symFile))
		}, "cf/" + symName + "/" + symID + "/" + symFile, "found"},
		{"lower-case id folder is not the key", func(t *testing.T, s string) {
			put(t, symSrc, filepath.Join(s, symName, strings.ToLower(symID), symFile))
		}, "", "no such folder"},
		{"wrong id in the file", func(t *testing.T, s string) {
			put(t, symSrc, filepath.Join(s, symName, other, symFile))
		}, "", "no such folder"},
		{"file at the key with another id", func(t *testing.T, s string) {
			b := strings.Replace(string(mustRead(t, symSrc)), symID, other, 1)
			os.MkdirAll(filepath.Join(s, symName, symID), 0o755)
			os.WriteFile(filepath.Join(s, symName, symID, symFile), []byte(b), 0o644)
		}, "", "debug id mismatch"},
		{"a PDB where the symbol file should be", func(t *testing.T, s string) {
			put(t, x64PDB, filepath.Join(s, symName, symID, symFile))
		}, "", "not a Breakpad symbol file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			store := t.TempDir()
			tt.setup(t, store)
			p, _ := Parse(store)
			got, tried, err := New(p, Options{Cache: t.TempDir(), Client: noNetwork(t)}).FindBreakpad(context.Background(), symName, symID)
			if tt.want == "" {
				if !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), "Breakpad symbol file not found") {
					t.Errorf("got %q, %v", got, err)
				}
			} else if err != nil || got != filepath.Join(store, filepath.FromSlash(tt.want)) {
				t.Errorf("got %q, %v; want %s\n%s", got, err, tt.want, strings.Join(tried, "\n"))
			}
			if !slices.ContainsFunc(tried, func(s string) bool { return strings.Contains(s, tt.note) }) {
				t.Errorf("no tried line says %q:\n%s", tt.note, strings.Join(tried, "\n"))
			}
		})
	}
}

// TestFindBreakpadCompressed: a "name.sy_" cabinet in a read-only store is
// expanded into the cache at the key, and checked.
func TestFindBreakpadCompressed(t *testing.T) {
	store, cache := t.TempDir(), t.TempDir()
	dir := filepath.Join(store, symName, symID)
	os.MkdirAll(dir, 0o755)
	os.WriteFile(filepath.Join(dir, "cfi-x64-prog.sy_"), cabtest.Build([]cabtest.File{{Name: symFile, Data: mustRead(t, symSrc)}}, cabtest.Options{Compression: cab.MSZIP}), 0o644)
	p, _ := Parse(store)
	got, tried, err := New(p, Options{Cache: cache}).FindBreakpad(context.Background(), symName, symID)
	want := filepath.Join(cache, symName, symID, symFile)
	if err != nil || got != want {
		t.Fatalf("got %q, %v; want %q\n%s", got, err, want, strings.Join(tried, "\n"))
	}
	if b, _ := os.ReadFile(got); string(b) != string(mustRead(t, symSrc)) {
		t.Errorf("expanded file differs")
	}
}

// TestFindBreakpadServer downloads from an HTTP server in Breakpad's layout
// into the downstream store; a served file with another id is refused and
// leaves nothing behind.
func TestFindBreakpadServer(t *testing.T) {
	srv, ts := newSymServer(t)
	srv.files["/sym/"+symName+"/"+symID+"/"+symFile] = mustRead(t, symSrc)
	outer := t.TempDir()
	cache := filepath.Join(outer, "cache")
	p, _ := Parse("srv*" + cache + "*" + ts.URL + "/sym")
	got, tried, err := New(p, Options{}).FindBreakpad(context.Background(), symName, strings.ToLower(symID))
	if err != nil || got != filepath.Join(cache, symName, symID, symFile) {
		t.Fatalf("got %q, %v\n%s", got, err, strings.Join(tried, "\n"))
	}
	if r := srv.reqs(); len(r) != 1 || r[0] != "/sym/"+symName+"/"+symID+"/"+symFile {
		t.Errorf("requests %q", r)
	}
	// A second lookup finds it in the cache without a request.
	if _, _, err := New(p, Options{}).FindBreakpad(context.Background(), symName, symID); err != nil || len(srv.reqs()) != 1 {
		t.Errorf("cached lookup: %v, %d requests", err, len(srv.reqs()))
	}

	// Another module's file served at this key.
	other := "0123456789ABCDEF0123456789ABCDEF0"
	srv.files["/sym/"+symName+"/"+other+"/"+symFile] = mustRead(t, symSrc)
	_, tried, err = New(p, Options{}).FindBreakpad(context.Background(), symName, other)
	if !errors.Is(err, ErrNotFound) || !slices.ContainsFunc(tried, func(s string) bool { return strings.Contains(s, "debug id mismatch") }) {
		t.Errorf("mismatch: %v\n%s", err, strings.Join(tried, "\n"))
	}
	if fs := files(t, outer); !slices.Equal(fs, []string{"cache/" + symName + "/" + symID + "/" + symFile}) {
		t.Errorf("files %q", fs)
	}
}

// TestBreakpadHostile: debug file names are reduced to safe base names as
// for PDBs, and a debug id that is not hex never reaches a path or a URL.
func TestBreakpadHostile(t *testing.T) {
	srv, ts := newSymServer(t)
	srv.handler = func(w http.ResponseWriter, r *http.Request) bool {
		w.Write(mustRead(t, symSrc)) // bait: every path answers
		return true
	}
	tests := []struct {
		name, id string
		ok       bool // the lookup runs (and finds the bait at the key)
	}{
		{symName, symID, true},
		{`..\..\` + symName, symID, true},
		{"/etc/" + symName, symID, true},
		{symName, "../" + symID, false},
		{symName, symID + "/..", false},
		{symName, "%2e%2e", false},
		{symName, "", false},
		{symName, strings.Repeat("A", 65), false},
		{symName, symID + "\x00", false},
		{"..", symID, false},
		{"a\x00b", symID, false},
	}
	for _, tt := range tests {
		t.Run(truncate(tt.name+" "+tt.id), func(t *testing.T) {
			outer := t.TempDir()
			cache := filepath.Join(outer, "cache")
			p, _ := Parse("srv*" + cache + "*" + ts.URL + "/sym")
			before := len(srv.reqs())
			got, tried, err := New(p, Options{}).FindBreakpad(context.Background(), tt.name, tt.id)
			reqs := srv.reqs()[before:]
			if !tt.ok {
				if err == nil || errors.Is(err, ErrNotFound) || len(tried) != 0 || len(reqs) != 0 || len(files(t, outer)) != 0 {
					t.Fatalf("not refused: %q %v tried %q requests %q", got, err, tried, reqs)
				}
				return
			}
			if err != nil || got != filepath.Join(cache, symName, symID, symFile) {
				t.Fatalf("got %q, %v", got, err)
			}
			for _, r := range reqs {
				if r != "/sym/"+symName+"/"+symID+"/"+symFile {
					t.Errorf("request %q", r)
				}
			}
		})
	}
}

// imageIdentity reads the key fields of a test image.
func imageIdentity(t *testing.T, path string) (uint32, uint32) {
	t.Helper()
	f, err := pe.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	return f.TimeDateStamp, f.SizeOfImage
}

func TestImageKey(t *testing.T) {
	// The example of docs/symbols.md: msvcr90.dll 4A5BDB3B, 0x9B000.
	if k := ImageKey(0x4A5BDB3B, 0x9B000); k != "4A5BDB3B9B000" {
		t.Errorf("ImageKey = %s", k)
	}
	if k := ImageKey(0x1, 0x1000); k != "000000011000" {
		t.Errorf("ImageKey = %s", k)
	}
}

func TestFindImage(t *testing.T) {
	const dll = "../testdata/lld/fixture-x64.dll"
	const name = "fixture-x64.dll"
	ts, size := imageIdentity(t, dll)
	key := ImageKey(ts, size)
	other := "../testdata/lld/crt-x64.dll"
	tests := []struct {
		name  string
		query string // the module's name as the dump has it
		setup func(t *testing.T, store string)
		want  string
		note  string
	}{
		{"store", name, func(t *testing.T, s string) { put(t, dll, filepath.Join(s, name, key, name)) }, name + "/" + key + "/" + name, "found"},
		{"upper-case module name, lower-case store", `C:\X\FIXTURE-X64.DLL`, func(t *testing.T, s string) {
			put(t, dll, filepath.Join(s, name, key, name))
		}, name + "/" + key + "/" + name, "found"},
		{"flat", name, func(t *testing.T, s string) { put(t, dll, filepath.Join(s, name)) }, name, "found"},
		{"another build at the key", name, func(t *testing.T, s string) { put(t, other, filepath.Join(s, name, key, name)) }, "", "a different build"},
		{"not an image", name, func(t *testing.T, s string) { put(t, symSrc, filepath.Join(s, name, key, name)) }, "", "not a usable image"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			store := t.TempDir()
			tt.setup(t, store)
			p, _ := Parse(store)
			got, tried, err := New(p, Options{Cache: t.TempDir(), Client: noNetwork(t)}).FindImage(context.Background(), tt.query, ts, size)
			if tt.want == "" {
				if !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), "image not found") {
					t.Errorf("got %q, %v", got, err)
				}
			} else if err != nil || got != filepath.Join(store, filepath.FromSlash(tt.want)) {
				t.Errorf("got %q, %v; want %s\n%s", got, err, tt.want, strings.Join(tried, "\n"))
			}
			if !slices.ContainsFunc(tried, func(s string) bool { return strings.Contains(s, tt.note) }) {
				t.Errorf("no tried line says %q:\n%s", tt.note, strings.Join(tried, "\n"))
			}
		})
	}
}

// TestFindImageServer downloads an image compressed as "name.dl_" (as
// Microsoft's server serves binaries) into the cache at its key; hostile
// names never leave the key.
func TestFindImageServer(t *testing.T) {
	const dll = "../testdata/lld/fixture-x64.dll"
	const name = "fixture-x64.dll"
	ts0, size := imageIdentity(t, dll)
	key := ImageKey(ts0, size)
	srv, ts := newSymServer(t)
	srv.files["/"+name+"/"+key+"/fixture-x64.dl_"] = cabtest.Build([]cabtest.File{{Name: `..\..\` + name, Data: mustRead(t, dll)}}, cabtest.Options{Compression: cab.MSZIP})
	for _, in := range []string{name, `C:\Windows\System32\..\..\` + name, "../../" + name} {
		outer := t.TempDir()
		cache := filepath.Join(outer, "cache")
		p, _ := Parse("cache*" + cache + ";srv*" + ts.URL)
		got, tried, err := New(p, Options{}).FindImage(context.Background(), in, ts0, size)
		want := filepath.Join(cache, name, key, name)
		if err != nil || got != want {
			t.Fatalf("%s: got %q, %v\n%s", in, got, err, strings.Join(tried, "\n"))
		}
		if fs := files(t, outer); !slices.Equal(fs, []string{"cache/" + name + "/" + key + "/" + name}) {
			t.Errorf("%s: files %q", in, fs)
		}
	}
	for _, r := range srv.reqs() {
		if !strings.HasPrefix(r, "/"+name+"/"+key+"/") || strings.Contains(r, "..") {
			t.Errorf("request %q", r)
		}
	}
	if _, _, err := New(mustParse(t, "srv*"+t.TempDir()+"*"+ts.URL), Options{}).FindImage(context.Background(), "..", ts0, size); err == nil || errors.Is(err, ErrNotFound) {
		t.Errorf("'..' not refused: %v", err)
	}
}

func mustParse(t *testing.T, s string) SymbolPath {
	t.Helper()
	p, err := Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return p
}
