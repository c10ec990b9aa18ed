package pe

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
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

// TestImportsMatchObjdump reads the corpus executables' import tables in both
// layouts and compares them with llvm-objdump's listing (when installed).
func TestImportsMatchObjdump(t *testing.T) {
	dir := sharedtest.Dir(t)
	for _, name := range []string{"crash.exe", "CrashWithException.exe"} {
		t.Run(name, func(t *testing.T) {
			c := imageCase{path: filepath.Join("images", name), shared: true}
			b := c.read(t)
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
			if name == "crash.exe" && !strings.Contains(got, "DLL api-ms-win-crt-heap-l1-1-0.dll\n  25 malloc\n") {
				t.Errorf("crash.exe imports malloc from the UCRT heap API set; got\n%s", got)
			}
			out, err := exec.Command("llvm-objdump", "-p", filepath.Join(dir, "images", name)).Output()
			if err != nil {
				t.Skipf("llvm-objdump: %v", err)
			}
			var want strings.Builder
			dllRe := regexp.MustCompile(`^\s+DLL Name: (.*)$`)
			fnRe := regexp.MustCompile(`^\s+(\d+)\s+(\S+)$`)
			in := false
			for _, line := range strings.Split(string(out), "\n") {
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
			if got != want.String() {
				t.Errorf("imports:\n%s\nllvm-objdump:\n%s", got, want.String())
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
