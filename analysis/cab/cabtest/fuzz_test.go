package cabtest

import (
	"bytes"
	"testing"
	"unicode/utf8"

	"github.com/dumpmap/dumpmap/analysis/cab"
)

// FuzzBuild writes cabinets of arbitrary files, stored and MSZIP-compressed in
// blocks of any size, and reads each back with package cab: every file must
// come back byte for byte (a round trip through the writer the cab tests rely
// on and the reader users rely on).
func FuzzBuild(f *testing.F) {
	f.Add("a.dmp", []byte("MDMP\x93\xa7"), "b\\c.txt", []byte("hello"), true, uint16(0))
	f.Add("x", bytes.Repeat([]byte{0}, 70000), "y", []byte{}, false, uint16(100))
	f.Fuzz(func(t *testing.T, n1 string, d1 []byte, n2 string, d2 []byte, mszip bool, block uint16) {
		// Names are UTF-8 (the writer flags non-ASCII ones so); others are not
		// cabinet names.
		if n1 == "" || n2 == "" || len(n1) > 200 || len(n2) > 200 || bytes.IndexByte([]byte(n1+n2), 0) >= 0 ||
			!utf8.ValidString(n1) || !utf8.ValidString(n2) {
			return
		}
		opt := Options{BlockSize: int(block)}
		if mszip {
			opt.Compression = cab.MSZIP
		}
		files := []File{{n1, d1}, {n2, d2}}
		raw := Build(files, opt)
		r, err := cab.NewReader(bytes.NewReader(raw), int64(len(raw)))
		if err != nil {
			t.Fatal(err)
		}
		if len(r.Files) != len(files) {
			t.Fatalf("%d files read back, %d written", len(r.Files), len(files))
		}
		for i, want := range files {
			var b bytes.Buffer
			if err := r.Extract(i, &b, 1<<24); err != nil {
				t.Fatalf("file %d: %v", i, err)
			}
			if !bytes.Equal(b.Bytes(), want.Data) || r.Files[i].Name != want.Name {
				t.Fatalf("file %d (%q) does not come back as written", i, want.Name)
			}
		}
	})
}
