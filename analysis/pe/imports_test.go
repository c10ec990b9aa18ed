package pe

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"

	"github.com/dumpmap/dumpmap/analysis/internal/sharedtest"
)

// importsListing formats imports the way llvm-objdump -p lists them: the DLL
// name, then "hint name" per function.
func importsListing(imps []Import) string {
	var b strings.Builder
	for _, imp := range imps {
		fmt.Fprintf(&b, "DLL %s\n", imp.DLL)
		for _, fn := range imp.Functions {
			if fn.ByOrdinal {
				fmt.Fprintf(&b, "  #%d\n", fn.Ordinal)
			} else {
				fmt.Fprintf(&b, "  %d %s\n", fn.Hint, fn.Name)
			}
		}
	}
	return b.String()
}

// objdumpImports extracts the import listing of llvm-objdump -p output.
func objdumpImports(out string) string {
	var want strings.Builder
	dllRe := regexp.MustCompile(`^\s+DLL Name: (.*)$`)
	fnRe := regexp.MustCompile(`^\s+(\d+)\s+(\S+)$`)
	in := false
	for _, line := range strings.Split(out, "\n") {
		switch {
		case strings.HasPrefix(line, "The Import Tables"):
			in = true
		case in && (strings.HasPrefix(line, "Export Table") || strings.HasPrefix(line, "The Delay")):
			in = false
		case in && dllRe.MatchString(line):
			fmt.Fprintf(&want, "DLL %s\n", dllRe.FindStringSubmatch(line)[1])
		case in && fnRe.MatchString(line):
			m := fnRe.FindStringSubmatch(line)
			fmt.Fprintf(&want, "  %s %s\n", m[1], m[2])
		}
	}
	return want.String()
}

// TestImportsMatchObjdump reads import tables in both layouts and compares
// them with llvm-objdump's listing: committed beside the lld fixtures, run on
// the corpus executables when llvm-objdump is installed.
func TestImportsMatchObjdump(t *testing.T) {
	cases := []struct {
		path    string
		shared  bool
		imports string // a line the listing must hold
	}{
		{lld + "/app-msvcr-x86.exe", false, "DLL msvcr90.dll\n  0 malloc\n"},
		{lld + "/app-msvcr-x64.exe", false, "DLL msvcr90.dll\n  0 malloc\n"},
		{lld + "/app-ucrt-x64.exe", false, "DLL api-ms-win-crt-heap-l1-1-0.dll\n  0 malloc\n"},
		{lld + "/app-static-x64.exe", false, ""},
		{"images/crash.exe", true, "DLL api-ms-win-crt-heap-l1-1-0.dll\n  25 malloc\n"},
		{"images/CrashWithException.exe", true, "DLL KERNEL32.dll\n"},
	}
	for _, c := range cases {
		t.Run(filepath.Base(c.path), func(t *testing.T) {
			ic := imageCase{path: c.path, shared: c.shared}
			b := ic.read(t)
			f, err := New(bytes.NewReader(b), int64(len(b)))
			if err != nil {
				t.Fatal(err)
			}
			imps, err := f.Imports()
			if err != nil {
				t.Fatal(err)
			}
			img := mapImage(t, b)
			mf, err := NewMapped(bytes.NewReader(img), int64(len(img)))
			if err != nil {
				t.Fatal(err)
			}
			mimps, err := mf.Imports()
			if err != nil {
				t.Fatal(err)
			}
			got := importsListing(imps)
			if m := importsListing(mimps); m != got {
				t.Errorf("mapped layout differs:\n%s\nfile layout:\n%s", m, got)
			}
			if !strings.Contains(got, c.imports) || (c.imports == "") != (got == "") {
				t.Errorf("imports:\n%s\nwant %q", got, c.imports)
			}
			var listing []byte
			if c.shared {
				p := filepath.Join(sharedtest.Dir(t), c.path)
				if listing, err = exec.Command("llvm-objdump", "-p", p).Output(); err != nil {
					t.Skipf("llvm-objdump: %v", err)
				}
			} else if listing, err = os.ReadFile(c.path + ".llvm-objdump.txt"); err != nil {
				t.Fatal(err)
			}
			if want := objdumpImports(string(listing)); got != want {
				t.Errorf("imports:\n%s\nllvm-objdump:\n%s", got, want)
			}
		})
	}
}

// TestImportsMalformed builds an image whose import table is damaged in each
// way the bounds guard against.
func TestImportsMalformed(t *testing.T) {
	b := mapImage(t, readLLD(t, "fixture-x64.dll"))
	f, err := NewMapped(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	if imps, err := f.Imports(); imps != nil || err != nil {
		t.Fatalf("fixture has no imports: %v, %v", imps, err)
	}
	le := binary.LittleEndian
	const dirRVA = 0x3800 // zeros in .data's mapped tail: build tables there
	if int(dirRVA)+0x400 > len(b) {
		t.Fatalf("image too small: %#x", len(b))
	}
	cases := []struct {
		name  string
		build func(img []byte)
		want  string
	}{
		{"name out of image", func(img []byte) {
			le.PutUint32(img[dirRVA+12:], 0xFFFFFF00)
			le.PutUint32(img[dirRVA+16:], dirRVA+0x100)
		}, "DLL name"},
		{"lookup not an RVA", func(img []byte) {
			le.PutUint32(img[dirRVA+0:], dirRVA+0x100)
			le.PutUint32(img[dirRVA+12:], dirRVA+0x200)
			le.PutUint32(img[dirRVA+16:], dirRVA+0x180)
			copy(img[dirRVA+0x200:], "X.dll\x00")
			le.PutUint64(img[dirRVA+0x100:], 0x7fff_0000_0000)
		}, "not an RVA"},
		{"unterminated directory", func(img []byte) {
			for off := dirRVA; off+20 <= len(img); off += 20 {
				le.PutUint32(img[off+12:], 1) // "Z\x90": a name, and no terminator before the end
			}
		}, "import descriptor"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			img := append([]byte(nil), b...)
			c.build(img)
			f, err := NewMapped(bytes.NewReader(img), int64(len(img)))
			if err != nil {
				t.Fatal(err)
			}
			f.DataDirectories[DirectoryImport] = DataDirectory{VirtualAddress: dirRVA, Size: 40}
			_, err = f.Imports()
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("Imports error %v, want %q", err, c.want)
			}
		})
	}
}

func readLLD(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(lld, name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestHugeClaimsAllocateLittle: a mapped image whose module size and export
// counts claim gigabytes that the dump never captured fails after reading
// what is there, without allocating what the counts claim.
func TestHugeClaimsAllocateLittle(t *testing.T) {
	img := mapImage(t, readLLD(t, "fixture-x64.dll"))
	le := binary.LittleEndian
	f, err := NewMapped(bytes.NewReader(img), int64(len(img)))
	if err != nil {
		t.Fatal(err)
	}
	ed := f.DataDirectories[DirectoryExport].VirtualAddress
	le.PutUint32(img[ed+20:], 0x3fff0000) // NumberOfFunctions
	le.PutUint32(img[ed+24:], 0x3fff0000) // NumberOfNames
	captured := func(p []byte, va uint64) (int, error) {
		if va >= uint64(len(img)) {
			clear(p)
			return 0, errors.New("not captured")
		}
		n := copy(p, img[va:])
		if n < len(p) {
			clear(p[n:])
			return n, errors.New("not captured")
		}
		return n, nil
	}
	f, err = NewMapped(MemoryReader(captured, 0), 0xFFFFF000)
	if err != nil {
		t.Fatal(err)
	}
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	_, err = f.Exports()
	runtime.ReadMemStats(&after)
	if err == nil || !strings.Contains(err.Error(), "not captured") {
		t.Errorf("Exports: %v", err)
	}
	if d := after.TotalAlloc - before.TotalAlloc; d > 16<<20 {
		t.Errorf("Exports allocated %d MB for a table the dump does not hold", d>>20)
	}
}
