package main

import (
	"bytes"
	"debug/pe"
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/dumpmap/dumpmap/analysis/pdb"
	"github.com/dumpmap/dumpmap/analysis/symstore"
	"github.com/dumpmap/dumpmap/minidump"
	"github.com/dumpmap/dumpmap/minidump/minidumptest"
)

func init() {
	// Tests never read the developer's _NT_SYMBOL_PATH or image path: a
	// symbol server there would make them reach the network.
	getenv = func(string) string { return "" }
}

const lldDir = "../../analysis/testdata/lld"

func readLLD(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(lldDir, name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// lldModule returns the module-list entry of an lld fixture image at base, and
// the image mapped there.
func lldModule(t testing.TB, file, name string, base uint64) (minidumptest.Module, []byte) {
	t.Helper()
	b := readLLD(t, file)
	f, err := pe.NewFile(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	oh := f.OptionalHeader.(*pe.OptionalHeader64)
	img, err := minidumptest.MapImage(b, base)
	if err != nil {
		t.Fatal(err)
	}
	// The CodeView record of the image, as the dump writer copies it.
	var cv []byte
	for _, s := range f.Sections {
		d, _ := s.Data()
		if i := bytes.Index(d, []byte("RSDS")); i >= 0 {
			end := bytes.IndexByte(d[i+24:], 0)
			cv = d[i : i+24+end+1]
		}
	}
	return minidumptest.Module{Base: base, Size: oh.SizeOfImage, Name: name, Time: f.TimeDateStamp, CodeView: cv}, img
}

// crtDump is a 64-bit process whose main module imports malloc from
// msvcr90.dll (the lld crt-x64.dll), whose _crtheap holds a private heap; the
// UCRT is loaded too. It has a MemoryInfoList, so heaps have segments.
func crtDump(t testing.TB, captureCRT bool) []byte {
	const (
		appBase, crtBase, ucrtBase = 0x140000000, 0x7ffa10000000, 0x7ffa20000000
		procHeap, crtHeap          = 0x1f0000, 0xa10000
		teb, peb                   = 0x7ff5ffde000, 0x7ff5ffdf000
	)
	app, appImg := lldModule(t, "app-msvcr-x64.exe", `C:\app\app.exe`, appBase)
	crt, crtImg := lldModule(t, "crt-x64.dll", `C:\Windows\WinSxS\amd64_microsoft.vc90.crt\msvcr90.dll`, crtBase)
	binary.LittleEndian.PutUint64(crtImg[0x3000:], crtHeap) // _crtheap: .data, RVA 0x3000
	image := func(base uint64, size uint32) minidump.MemoryInfo {
		return minidump.MemoryInfo{BaseAddress: base, AllocationBase: base, RegionSize: uint64(size), State: minidump.MemCommit,
			Type: minidump.MemImage, Protect: minidump.PageReadOnly, AllocationProtect: minidump.PageExecuteWriteCopy}
	}
	private := func(alloc, base, size uint64, state minidump.MemState) minidump.MemoryInfo {
		r := minidump.MemoryInfo{BaseAddress: base, AllocationBase: alloc, RegionSize: size, State: state,
			Type: minidump.MemPrivate, Protect: minidump.PageReadWrite, AllocationProtect: minidump.PageReadWrite}
		if state == minidump.MemReserve {
			r.Protect = 0
		}
		return r
	}
	b := minidumptest.New().
		SystemInfo(minidumptest.Windows10x64()).
		Module(app).
		Module(minidumptest.Module{Base: ucrtBase, Size: 0xf8000, Name: `C:\Windows\System32\ucrtbase.dll`}).
		Module(crt).
		ProcessHeaps(true, 100, teb, peb, procHeap, crtHeap).
		NTHeapHeader(true, procHeap, 2).
		NTHeapHeader(true, crtHeap, 0x1002).
		Memory(appBase, appImg).
		Region(
			private(procHeap, procHeap, 0x40000, minidump.MemCommit), private(procHeap, procHeap+0x40000, 0xc0000, minidump.MemReserve),
			private(crtHeap, crtHeap, 0x8000, minidump.MemCommit), private(crtHeap, crtHeap+0x8000, 0x8000, minidump.MemReserve),
			image(appBase, app.Size), image(crtBase, crt.Size), image(ucrtBase, 0xf8000))
	if captureCRT {
		b.Memory(crtBase, crtImg)
	} else {
		b.Memory(crtBase+0x3000, crtImg[0x3000:0x3008])
	}
	b.Flags = minidump.DumpWithFullMemoryInfo | minidump.DumpWithDataSegs
	return b.Bytes()
}

// lldStore returns a symbol store holding the named lld PDBs.
func lldStore(t testing.TB, dir string, names ...string) string {
	t.Helper()
	for _, n := range names {
		b := readLLD(t, n)
		f, err := pdb.New(bytes.NewReader(b), int64(len(b)))
		if err != nil {
			t.Fatal(err)
		}
		d := filepath.Join(dir, n, symstore.Key(f.GUID, f.Age))
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(d, n), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// TestGoldenSymbolsHeaps keeps the text and JSON of symbols and heaps on the
// synthetic CRT dump and on corpus dumps as golden files.
func TestGoldenSymbolsHeaps(t *testing.T) {
	corpus := corpusDirOrEmpty(t)
	tmp := t.TempDir()
	crtFile := filepath.Join(tmp, "crt.dmp")
	os.WriteFile(crtFile, crtDump(t, true), 0o644)
	crtNoImage := filepath.Join(tmp, "crt-noimage.dmp")
	os.WriteFile(crtNoImage, crtDump(t, false), 0o644)
	store := lldStore(t, filepath.Join(tmp, "store"), "crt-x64.pdb")
	images := filepath.Join(tmp, "images")
	os.MkdirAll(images, 0o755)
	os.WriteFile(filepath.Join(images, "MSVCR90.DLL"), readLLD(t, "crt-x64.dll"), 0o644)

	cases := []struct {
		golden string
		corpus bool
		args   []string
	}{
		{"synthetic-crt.symbols_heap", false, []string{"symbols", crtFile, "*!*heap*", "--symbol-path", store}},
		{"synthetic-crt.symbols_noPDB", false, []string{"symbols", crtFile, "msvcr90!*"}},
		{"synthetic-crt.heaps_pdb", false, []string{"heaps", crtFile, "--symbol-path", store}},
		{"synthetic-crt.heaps", false, []string{"heaps", crtFile}},
		{"synthetic-crt-noimage.heaps", false, []string{"heaps", crtNoImage}},
		{"synthetic-crt.explain_malloc_pdb", false, []string{"explain", crtFile, "--size", "16K", "--via", "malloc", "--symbol-path", store}},
		{"synthetic-crt-noimage.explain_malloc", false, []string{"explain", crtNoImage, "--size", "16K", "--via", "malloc"}},
		{"synthetic-crt-noimage.heaps_imagepath", false, []string{"heaps", crtNoImage, "--image-path", images}},
		{"windows.symbols_security_cookie", true, []string{"symbols", "$CORPUS/symbolicator/windows.dmp", "crash!*security_cookie*", "--symbol-path", "$CORPUS/symbols/store"}},
		{"windows.symbols_cab_v", true, []string{"symbols", "$CORPUS/symbolicator/windows.dmp", "crash!__security_cookie", "-v",
			"--symbol-path", "cache*" + filepath.Join(tmp, "cache") + ";$CORPUS/symbols/store-cab;$CORPUS/symbols/store"}},
		{"windows.symbols_main", true, []string{"symbols", "$CORPUS/symbolicator/windows.dmp", "CRASH!*main*", "--symbol-path", "$CORPUS/symbols/store",
			"--image-path", "$CORPUS/symbols/images"}},
		{"windows.heaps", true, []string{"heaps", "$CORPUS/symbolicator/windows.dmp", "--symbol-path", "$CORPUS/symbols/store",
			"--image-path", "$CORPUS/symbols/images"}},
		{"windows-x86.heaps", true, []string{"heaps", "$CORPUS/mozilla-pgo/windows-x86.dmp"}},
		{"notepad-larger-32bit.heaps", true, []string{"heaps", "$CORPUS/syzygy/notepad-larger-32bit.dmp"}},
		{"stability-report.heaps", true, []string{"heaps", "$CORPUS/rust-minidump/stability-report.dmp"}},
		{"null_read_av.heaps", true, []string{"heaps", "$CORPUS/breakpad/null_read_av.dmp"}},
		// Windows 7 NT heaps (x64, in a WOW64 process) read and walked: the counts
		// agree with the heaps' own counters (analysis/ntheap's real_test states them).
		{"rizin-win7.heaps", true, []string{"heaps", "$CORPUS/rizin-testbins/crash-0a4b90615b8dd830e86ef1c4e5e80ea9"}},
		{"rizin-win7.heaps_stat", true, []string{"heaps", "$CORPUS/rizin-testbins/crash-0a4b90615b8dd830e86ef1c4e5e80ea9", "--stat", "0x20000"}},
		{"rizin-win7.heaps_walk", true, []string{"heaps", "$CORPUS/rizin-testbins/crash-0a4b90615b8dd830e86ef1c4e5e80ea9", "--walk", "0x10000"}},
	}
	for _, c := range cases {
		t.Run(c.golden, func(t *testing.T) {
			if c.corpus && corpus == "" {
				t.Skip("corpus not found")
			}
			args := make([]string, len(c.args))
			for i, a := range c.args {
				args[i] = strings.ReplaceAll(a, "$CORPUS", corpus)
			}
			for _, js := range []bool{false, true} {
				a, ext := args, ".txt"
				if js {
					a, ext = append(append([]string(nil), args...), "--json"), ".json"
				}
				out, errOut, code := runCLI(a...)
				got := normalize(out, corpus, tmp)
				if (!js && errOut != "") || code != 0 {
					got += fmt.Sprintf("--- stderr (exit %d)\n%s", code, normalize(errOut, corpus, tmp))
				}
				if js && code == 0 {
					checkOneJSONObject(t, out)
				}
				checkGolden(t, c.golden+ext, got)
			}
		})
	}
}

// TestSymbolsFlags: the environment is read when the flags are absent, bad
// paths and patterns are usage errors.
func TestSymbolsFlags(t *testing.T) {
	tmp := t.TempDir()
	file := filepath.Join(tmp, "crt.dmp")
	os.WriteFile(file, crtDump(t, true), 0o644)
	store := lldStore(t, filepath.Join(tmp, "store"), "crt-x64.pdb")

	env := map[string]string{}
	getenv = func(k string) string { return env[k] }
	defer func() { getenv = func(string) string { return "" } }()

	out, errOut, code := runCLI("symbols", file, "msvcr90!_crtheap")
	if code != 0 || !strings.Contains(out, "0 symbols") || !strings.Contains(out, "Hint: no symbol path") {
		t.Errorf("no symbol path: exit %d\n%s%s", code, out, errOut)
	}
	env["_NT_SYMBOL_PATH"] = "cache*" + filepath.Join(tmp, "cache") + ";" + store
	out, _, _ = runCLI("symbols", file, "msvcr90!_crtheap")
	if !regexp.MustCompile(`0x00007ffa10003000\s+msvcr90.dll\s+_crtheap\s+pdb-global \(also pdb-public\)`).MatchString(out) {
		t.Errorf("_NT_SYMBOL_PATH not used:\n%s", out)
	}
	// The flag wins over the environment.
	out, _, _ = runCLI("symbols", file, "msvcr90!_crtheap", "--symbol-path", filepath.Join(tmp, "nothing"))
	if !strings.Contains(out, "0 symbols") {
		t.Errorf("--symbol-path did not override:\n%s", out)
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"symbols", file, "msvcr90!"}, "names no symbol"},
		{[]string{"symbols", file}, "missing PATTERN"},
		{[]string{"symbols", file, "*!x", "--image-path", "srv*x*https://example.com"}, "only folders are supported"},
		{[]string{"heaps", file, "--image-path", "srv*x*https://example.com"}, "only folders are supported"},
		{[]string{"symbols", file, "*!x", "--symbol-path", "srv*a*b*ftp://example.com"}, "symbol path"},
	} {
		_, errOut, code := runCLI(c.args...)
		if code != 2 || !strings.Contains(errOut, c.want) {
			t.Errorf("%v: exit %d, stderr %q, want %q", c.args, code, errOut, c.want)
		}
	}
}

// unpackFixture returns a fixture dump of testdata/fixtures/dumps, unpacked
// when it is compressed (minidumptest.UnpackXZ); it skips when the fixture is
// missing.
func unpackFixture(t *testing.T, dir, name string) string {
	t.Helper()
	p := filepath.Join(repoRoot(t), "testdata", "fixtures", "dumps", name)
	if _, err := os.Stat(p); err != nil {
		t.Skipf("fixture %s: %v", name, err)
	}
	if !strings.HasSuffix(name, ".xz") {
		return p
	}
	return minidumptest.UnpackXZ(t, p)
}

// TestFixtureExplainMalloc: on the fixture lab's crtheap program (its own
// malloc on the private heap in _crtheap), explain --via malloc names the CRT
// heap found through the PDB, and heaps shows how; the goldens keep both.
func TestFixtureExplainMalloc(t *testing.T) {
	tmp := t.TempDir()
	dump := unpackFixture(t, tmp, "crtheap-full.dmp.xz")
	fixtures := filepath.Join(repoRoot(t), "testdata", "fixtures", "dumps")
	norm := func(s string) string {
		return strings.ReplaceAll(strings.ReplaceAll(s, tmp, "$TMP"), fixtures, "$FIXTURES")
	}
	out, errOut, code := runCLI("explain", dump, "--size", "64K", "--via", "malloc", "--symbol-path", fixtures)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	flat := func(s string) string { return strings.Join(strings.Fields(s), " ") }
	if !strings.Contains(flat(out), "the C runtime's heap, 0xfa0000 (PDB: crtheap.exe!_crtheap at 0x14000b170)") {
		t.Errorf("explain does not name the CRT heap found through the PDB:\n%s", out)
	}
	checkGolden(t, "crtheap-full.explain_malloc_pdb.txt", norm(out))
	out, _, _ = runCLI("heaps", dump, "--symbol-path", fixtures)
	checkGolden(t, "crtheap-full.heaps_pdb.txt", norm(out))
	out, _, _ = runCLI("symbols", dump, "*!_crtheap*", "--symbol-path", fixtures)
	checkGolden(t, "crtheap-full.symbols_crtheap.txt", norm(out))
	// Without the PDB, malloc's heap is unknown and explain says so.
	out, _, _ = runCLI("explain", dump, "--size", "64K", "--via", "malloc")
	if !strings.Contains(flat(out), "which this dump does not identify") {
		t.Errorf("explain without symbols:\n%s", out)
	}
}
