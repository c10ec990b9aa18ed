package modsym_test

import (
	"bufio"
	"context"
	"fmt"
	"github.com/dumpmap/dumpmap/analysis/modsym"
	"github.com/dumpmap/dumpmap/analysis/process"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/dumpmap/dumpmap/analysis/internal/sharedtest"
	"github.com/dumpmap/dumpmap/analysis/symstore"
	"github.com/dumpmap/dumpmap/minidump"
)

func lookup(t *testing.T, p *process.Process, pattern string) *modsym.Result {
	t.Helper()
	pat, err := modsym.ParsePattern(pattern)
	if err != nil {
		t.Fatal(err)
	}
	res, err := modsym.Lookup(context.Background(), p, pat)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// oracleSymbol is a record of llvm-pdbutil's dump.
type oracleSymbol struct {
	kind, name string
	seg        int
	off        uint64
}

// readOracle parses llvm-pdbutil's -publics -globals -section-headers dump:
// the S_PUB32, S_GDATA32 and S_LDATA32 records and the section addresses.
func readOracle(t *testing.T, path string) ([]oracleSymbol, []uint64) {
	t.Helper()
	fh, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	recRe := regexp.MustCompile("^\\s+\\d+ \\| (S_PUB32|S_GDATA32|S_LDATA32) \\[size = \\d+\\] `(.*)`$")
	addrRe := regexp.MustCompile(`addr = (\d{4}):(\d+)$`)
	vaRe := regexp.MustCompile(`^\s+([0-9A-F]+) virtual address$`)
	var syms []oracleSymbol
	var vas []uint64
	var cur *oracleSymbol
	inSections := false
	sc := bufio.NewScanner(fh)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.Contains(line, "Original Section Headers"):
			inSections = false
		case strings.Contains(line, "Section Headers"):
			inSections = true
		case recRe.MatchString(line):
			m := recRe.FindStringSubmatch(line)
			cur = &oracleSymbol{kind: m[1], name: m[2]}
		case cur != nil && addrRe.MatchString(line):
			m := addrRe.FindStringSubmatch(line)
			cur.seg, _ = strconv.Atoi(m[1])
			cur.off, _ = strconv.ParseUint(m[2], 10, 64)
			syms = append(syms, *cur)
			cur = nil
		case inSections && vaRe.MatchString(line):
			va, _ := strconv.ParseUint(vaRe.FindStringSubmatch(line)[1], 16, 64)
			vas = append(vas, va)
		}
	}
	return syms, vas
}

// TestCorpusWindowsDump: symbolicator's windows.dmp with the corpus store.
// Every module whose PDB the store holds (checked here by path) is found, the
// others say where they were looked for; crash.exe's publics and globals are
// all listed at the address the oracle gives (segment:offset + section VA +
// module base).
func TestCorpusWindowsDump(t *testing.T) {
	corpus := sharedtest.Dir(t)
	dump := filepath.Join(filepath.Dir(corpus), "symbolicator", "windows.dmp")
	f, err := minidump.Open(dump)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	store := filepath.Join(corpus, "store")
	r := process.New(f, options(t, store))
	defer r.Close()
	res := lookup(t, r, "*!*")
	if len(res.Modules) != 17 {
		t.Fatalf("%d modules", len(res.Modules))
	}
	withPDB := 0
	for _, mr := range res.Modules {
		cv := mr.Module.CodeView
		name, _ := symstore.SafeName(cv.PDBPath)
		_, err := os.Stat(filepath.Join(store, name, symstore.Key(cv.GUID, cv.Age), name))
		inStore := err == nil
		hasPDB := len(mr.Sources) > 0 && strings.HasPrefix(mr.Sources[0], "PDB ")
		if inStore != hasPDB {
			t.Errorf("%s: in store %v, PDB found %v: %v %v", mr.Module.FileName, inStore, hasPDB, mr.Sources, mr.Problems)
		}
		if inStore {
			withPDB++
		} else if !strings.Contains(strings.Join(mr.Problems, "\n"), "PDB not found on the symbol path") {
			t.Errorf("%s: problems %v", mr.Module.FileName, mr.Problems)
		}
	}
	if withPDB != 1 {
		t.Errorf("%d modules with a PDB, want crash.exe only", withPDB)
	}

	crash, _ := r.Main()
	type at struct {
		addr uint64
		name string
	}
	got := map[at]modsym.Symbol{}
	for _, s := range res.Symbols {
		if s.Module != "crash.exe" {
			t.Errorf("symbol of a module without symbols: %v", s)
		}
		got[at{s.Address, s.Name}] = s
		if s.Decorated != "" {
			got[at{s.Address, s.Decorated}] = s
		}
	}
	oracle, vas := readOracle(t, filepath.Join(corpus, "oracles", "crash.pdb.llvm-pdbutil.txt"))
	if len(vas) != 5 || vas[0] != 0x1000 || len(oracle) < 400 {
		t.Fatalf("oracle: %d symbols, sections %x", len(oracle), vas)
	}
	checked := 0
	for _, o := range oracle {
		if o.seg < 1 || o.seg > len(vas) {
			continue // absolute or in a section the image does not have
		}
		addr := crash.Base + vas[o.seg-1] + o.off
		s, ok := got[at{addr, o.name}]
		if !ok {
			t.Errorf("%s %s at %#x not listed", o.kind, o.name, addr)
			continue
		}
		want := modsym.SourcePDBPublic
		if o.kind != "S_PUB32" {
			want = modsym.SourcePDBGlobal
		}
		if s.Source != want && !slices.Contains(s.AlsoIn, want) {
			t.Errorf("%s %s: source %s, also %v", o.kind, o.name, s.Source, s.AlsoIn)
		}
		checked++
	}
	if checked < 380 {
		t.Errorf("only %d oracle symbols checked", checked)
	}
	// A few by hand, as WinDbg shows them.
	for _, c := range []struct {
		pattern string
		addr    uint64
		name    string
		src     modsym.Source
		also    []modsym.Source
	}{
		{"crash!main", 0x2a2910, "main", modsym.SourcePDBPublic, nil},
		{"CRASH.EXE!__security_cookie", 0x2a6000, "__security_cookie", modsym.SourcePDBGlobal, []modsym.Source{modsym.SourcePDBPublic}},
		{"*!?what@exception@std@@UBEPBDXZ", 0x2a0000 + 0x1000 + 7982, "?what@exception@std@@UBEPBDXZ", modsym.SourcePDBPublic, nil},
	} {
		res := lookup(t, r, c.pattern)
		if len(res.Symbols) != 1 {
			t.Errorf("%s: %v", c.pattern, res.Symbols)
			continue
		}
		s := res.Symbols[0]
		if s.Address != c.addr || s.Name != c.name || s.Source != c.src || !slices.Equal(s.AlsoIn, c.also) {
			t.Errorf("%s: %+v", c.pattern, s)
		}
	}
}

// TestCorpusStoreCab: the corpus CAB store holds a Breakpad text file under
// crash.pdb's key; the lookup says so.
func TestCorpusStoreCab(t *testing.T) {
	corpus := sharedtest.Dir(t)
	f, err := minidump.Open(filepath.Join(filepath.Dir(corpus), "symbolicator", "windows.dmp"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r := process.New(f, options(t, filepath.Join(corpus, "store-cab")))
	defer r.Close()
	res := lookup(t, r, "crash!*")
	if len(res.Symbols) != 0 || len(res.Modules) != 1 {
		t.Fatalf("%v %v", res.Symbols, res.Modules)
	}
	if p := strings.Join(res.Modules[0].Problems, "\n"); !strings.Contains(p, "looks like a Breakpad symbol file") {
		t.Errorf("problems:\n%s", p)
	}
}

// TestLookupCRT lists the crt DLL's symbols from its PDB and its exports, both
// x86 (decorated publics) and x64, and checks the de-duplication.
func TestLookupCRT(t *testing.T) {
	for _, x64 := range []bool{false, true} {
		arch, base := "x86", uint64(crtBase32)
		if x64 {
			arch, base = "x64", crtBase64
		}
		t.Run(arch, func(t *testing.T) {
			f := oldCRTScenario(x64).build(t)
			r := process.New(f, options(t, storeWith(t, "crt-"+arch+".pdb")))
			defer r.Close()
			res := lookup(t, r, "*!_crtheap*")
			want := []string{fmt.Sprintf("%#x MSVCR90.dll!_crtheap (pdb-global) also [pdb-public]", base+crtGlobal)}
			if got := symbolLines(res.Symbols); !slices.Equal(got, want) {
				t.Errorf("*!_crtheap*:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
			}
			res = lookup(t, r, "msvcr90!*")
			want = []string{
				fmt.Sprintf("%#x MSVCR90.dll!_get_heap_handle (pdb-public) also [export]", base+0x1000),
				fmt.Sprintf("%#x MSVCR90.dll!_DllMainCRTStartup (pdb-public)", base+0x1010),
				fmt.Sprintf("%#x MSVCR90.dll!_crtheap (pdb-global) also [pdb-public]", base+crtGlobal),
			}
			if got := symbolLines(res.Symbols); !slices.Equal(got, want) {
				t.Errorf("msvcr90!*:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
			}
			if !x64 {
				if s := res.Symbols[2]; s.Decorated != "__crtheap" {
					t.Errorf("x86 _crtheap decorated as %q", s.Decorated)
				}
			}
			// Exports alone, without the PDB.
			r2 := process.New(f, options(t, ""))
			defer r2.Close()
			res = lookup(t, r2, "msvcr90.DLL!*heap*")
			want = []string{fmt.Sprintf("%#x MSVCR90.dll!_get_heap_handle (export)", base+0x1000)}
			if got := symbolLines(res.Symbols); !slices.Equal(got, want) {
				t.Errorf("without PDB:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
			}
			if p := strings.Join(res.Modules[0].Problems, "\n"); !strings.Contains(p, "no PDB: no symbol path") {
				t.Errorf("problems: %s", p)
			}
		})
	}
}

func symbolLines(syms []modsym.Symbol) []string {
	var out []string
	for _, s := range syms {
		l := s.String()
		if len(s.AlsoIn) > 0 {
			l += fmt.Sprintf(" also %v", s.AlsoIn)
		}
		out = append(out, l)
	}
	return out
}

// TestImagePath finds a module's image on the image path, flat and in
// symbol-store layout, ignoring case, and refuses other builds.
func TestImagePath(t *testing.T) {
	s := oldCRTScenario(true)
	s.mods[2].capture = false
	f := s.build(t)
	crt := readFixture(t, "crt-x64.dll")
	other := readFixture(t, "fixture-x64.dll")

	flat := t.TempDir()
	os.WriteFile(filepath.Join(flat, "msvcr90.DLL"), other, 0o644) // same name, another build
	store := t.TempDir()
	mod := process.New(f, process.Options{}).Modules()[2]
	key := fmt.Sprintf("%08X%x", mod.TimeDateStamp, mod.Size)
	os.MkdirAll(filepath.Join(store, "MSVCR90.dll", key), 0o755)
	os.WriteFile(filepath.Join(store, "MSVCR90.dll", key, "msvcr90.dll"), crt, 0o644)

	r := process.New(f, process.Options{ImagePath: []string{flat, store}})
	defer r.Close()
	m := r.Modules()[2]
	img, err := m.DiskImage()
	if err != nil {
		t.Fatalf("%v\n%s", err, strings.Join(m.Report(), "\n"))
	}
	if img.SizeOfImage != m.Size || m.DiskImagePath() != filepath.Join(store, "MSVCR90.dll", key, "msvcr90.dll") {
		t.Errorf("image %s", m.DiskImagePath())
	}
	rep := strings.Join(m.Report(), "\n")
	if !strings.Contains(rep, filepath.Join(flat, "msvcr90.DLL")+": a different build") {
		t.Errorf("report:\n%s", rep)
	}
}

// hostileNames are PDB and module names a customer's dump may carry.
var hostileNames = []string{`..\..\evil.pdb`, `C:\x\y.pdb`, `/etc/passwd`, `..`, `a/../../../evil.pdb`, "nul\x00.pdb", `\\server\share\z.pdb`}

// TestHostileNames: a dump whose modules name PDBs and images with paths and
// traversals touches nothing outside the store, the cache and the image
// folders. Bait files wait in the folders the names point at; an inotify
// watch (Linux) proves they are never opened, and every place tried lies
// inside the given folders.
func TestHostileNames(t *testing.T) {
	pdbBytes := readFixture(t, "crt-x64.pdb")
	key, _ := pdbKey(pdbBytes)
	s := scenario{x64: true}
	for i, n := range hostileNames {
		s.mods = append(s.mods, module{name: n, fixture: "crt-x64.dll", base: 0x7ff000000000 + uint64(i)<<24, pdbName: n})
	}
	s.mods = append(s.mods, module{name: `..\evil.dll`, base: 0x10000000, size: 0x4000, pdbName: `C:\..\..\evil.pdb`})
	f := s.build(t)

	root := t.TempDir()
	t.Chdir(root) // a name used as a relative path would land here
	store := filepath.Join(root, "store", "inner")
	cache := filepath.Join(root, "cache")
	images := filepath.Join(root, "images")
	for _, d := range []string{store, cache, images} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	baits := []string{"evil.pdb", `..\..\evil.pdb`, "y.pdb", "passwd", "z.pdb", "evil.dll", `..\evil.dll`}
	for _, b := range baits {
		// A valid PDB under every bait name, and in the store layout beside
		// the store, so that a lookup escaping the store would succeed.
		os.WriteFile(filepath.Join(root, b), pdbBytes, 0o644)
		os.MkdirAll(filepath.Join(root, "store", b, key), 0o755)
		os.WriteFile(filepath.Join(root, "store", b, key, b), pdbBytes, 0o644)
	}
	watch := watchOpens(t, root, store, cache, images)

	p, err := symstore.Parse("cache*" + cache + ";" + store)
	if err != nil {
		t.Fatal(err)
	}
	r := process.New(f, process.Options{SymbolPath: p, ImagePath: []string{images}, Store: symstore.Options{Cache: cache, Client: noNetwork(t)}})
	defer r.Close()
	res := lookup(t, r, "*!*")
	if len(res.Symbols) != 0 {
		t.Errorf("symbols found through hostile names: %v", res.Symbols)
	}
	for _, mr := range res.Modules {
		for _, line := range mr.Problems {
			line = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(line), "tried "))
			if strings.HasPrefix(line, "/") && !strings.HasPrefix(line, store+"/") && !strings.HasPrefix(line, cache+"/") && !strings.HasPrefix(line, images+"/") {
				t.Errorf("%q: tried a place outside the store, cache and image folders: %s", mr.Module.Name, line)
			}
		}
		t.Logf("%q:\n\t%s", mr.Module.Name, strings.Join(mr.Problems, "\n\t"))
	}
	if opened := watch(); len(opened) > 0 {
		t.Errorf("opened outside the store: %v", opened)
	}
	// The watch itself works: reading a bait is seen.
	if _, err := os.ReadFile(filepath.Join(root, "store", "evil.pdb", key, "evil.pdb")); err != nil {
		t.Fatal(err)
	}
	if opened := watch(); runtime.GOOS == "linux" && len(opened) == 0 {
		t.Errorf("the inotify watch did not see a bait being read")
	}
	// Nothing was written either.
	for _, d := range []string{cache, images} {
		if ents, _ := os.ReadDir(d); len(ents) > 0 {
			t.Errorf("%s was written to: %v", d, ents)
		}
	}
}

// TestSymbolServer downloads a PDB from an httptest server named on the symbol
// path into the cache, and never asks a server when the path names none.
func TestSymbolServer(t *testing.T) {
	pdbBytes := readFixture(t, "crt-x64.pdb")
	key, _ := pdbKey(pdbBytes)
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		hits.Add(1)
		if req.URL.Path == "/crt-x64.pdb/"+key+"/crt-x64.pdb" {
			w.Write(pdbBytes)
			return
		}
		http.NotFound(w, req)
	}))
	defer srv.Close()
	f := oldCRTScenario(true).build(t)
	cache := t.TempDir()
	p, err := symstore.Parse("srv*" + cache + "*" + srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	r := process.New(f, process.Options{SymbolPath: p, Store: symstore.Options{Cache: t.TempDir(), Client: srv.Client()}})
	defer r.Close()
	res := lookup(t, r, "msvcr90!_crtheap")
	if len(res.Symbols) != 1 {
		t.Fatalf("%v %+v", res.Symbols, res.Modules)
	}
	if _, err := os.Stat(filepath.Join(cache, "crt-x64.pdb", key, "crt-x64.pdb")); err != nil {
		t.Errorf("not in the cache: %v", err)
	}
	if hits.Load() != 1 {
		t.Errorf("%d requests, want 1 (only the module looked up)", hits.Load())
	}
	// A second resolver finds it in the cache without asking.
	r2 := process.New(f, process.Options{SymbolPath: p, Store: symstore.Options{Client: noNetwork(t)}})
	defer r2.Close()
	if res := lookup(t, r2, "msvcr90!_crtheap"); len(res.Symbols) != 1 {
		t.Errorf("from the cache: %v", res.Symbols)
	}
}
