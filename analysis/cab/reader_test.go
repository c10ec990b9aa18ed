package cab_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dumpmap/dumpmap/analysis/cab"
	"github.com/dumpmap/dumpmap/analysis/cab/cabtest"
	"github.com/dumpmap/dumpmap/analysis/internal/sharedtest"
)

// Offsets of [MS-CAB]'s structures in a cabinet cabtest.Build writes: the
// 36-byte CFHEADER, one 8-byte CFFOLDER, then the CFFILE entries.
const (
	headerSize = 36
	folderSize = 8
	dataHeader = 8
)

func one(t testing.TB, data []byte, typ cab.Compression, blockSize int, name string, noSum bool) []byte {
	return cabtest.Build([]cabtest.File{{Name: name, Data: data}}, cabtest.Options{Compression: typ, BlockSize: blockSize, NoChecksum: noSum})
}

func extract(t testing.TB, b []byte, i int, limit int64) ([]byte, string, error) {
	c, err := cab.NewReader(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		return nil, "", err
	}
	var out bytes.Buffer
	err = c.Extract(i, &out, limit)
	return out.Bytes(), c.Files[i].Name, err
}

func mustRead(t testing.TB, p string) []byte {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestCorpus expands the corpus store-cab file. Despite its place in a PDB
// store it holds a Breakpad text symbol file, not a PDB: the test pins that down
// so a lookup's "not a PDB" answer there is understood.
func TestCorpus(t *testing.T) {
	b := mustRead(t, filepath.Join(sharedtest.Dir(t), "store-cab/crash.pdb/3249D99D0C4049318610F4E4FB0B69361/crash.pdb"))
	out, name, err := extract(t, b, 0, 1<<30)
	if err != nil {
		t.Fatal(err)
	}
	if name != "debug/debug.pdb" || len(out) != 46361 || !bytes.HasPrefix(out, []byte("MODULE windows x86 3249D99D0C4049318610F4E4FB0B69361 crash.pdb\r\n")) && !bytes.HasPrefix(out, []byte("MODULE windows x86 3249D99D0C4049318610F4E4FB0B69361 crash.pdb\n")) {
		t.Errorf("member %q, %d bytes, starts %q", name, len(out), out[:min(80, len(out))])
	}
}

// TestFixtures expands gcab's cabinets (an independent writer) and cabtest's,
// in both supported compressions.
func TestFixtures(t *testing.T) {
	want := mustRead(t, "../testdata/lld/fixture-x64.pdb")
	// Random data repeated across blocks: later blocks compress to
	// back-references into the previous block, so only a reader that primes
	// each block with its predecessor decodes them.
	rnd := make([]byte, 20000)
	r := rand.New(rand.NewPCG(1, 2))
	for i := range rnd {
		rnd[i] = byte(r.Uint32())
	}
	repeated := bytes.Repeat(rnd, 5)
	tests := []struct {
		name string
		cab  func() []byte
		want []byte
	}{
		{"gcab MSZIP", func() []byte { return mustRead(t, "../testdata/cab/fixture-x64.pd_") }, want},
		{"gcab stored", func() []byte { return mustRead(t, "../testdata/cab/fixture-x64-stored.pd_") }, want},
		{"MSZIP with cross-block dictionary", func() []byte { return one(t, repeated, cab.MSZIP, cab.MaxBlock, "x.pdb", false) }, repeated},
		{"stored", func() []byte { return one(t, repeated, cab.None, cab.MaxBlock, "x.pdb", false) }, repeated},
		{"no checksums", func() []byte { return one(t, repeated, cab.MSZIP, 1000, "x.pdb", true) }, repeated},
		{"empty file", func() []byte { return one(t, nil, cab.None, cab.MaxBlock, "x.pdb", false) }, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, _, err := extract(t, tt.cab(), 0, 1<<30)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, tt.want) {
				t.Errorf("expanded %d bytes, want %d (equal prefix %v)", len(got), len(tt.want), bytes.HasPrefix(tt.want, got))
			}
		})
	}
}

// TestMultiFile reads gcab's four-file cabinet (testdata/gen.sh): every file
// against the file it was made from, and Peek against the files' first bytes.
func TestMultiFile(t *testing.T) {
	b := mustRead(t, "testdata/multi.cab")
	c, err := cab.NewReader(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	names := []string{"Report.wer", "sub/WERInternalMetadata.xml", "memory.bin", "empty.txt"}
	if len(c.Files) != len(names) || len(c.Folders) != 1 || c.Folders[0].Compression != cab.MSZIP {
		t.Fatalf("files %+v folders %+v", c.Files, c.Folders)
	}
	heads, err := c.Peek(16, 1<<30)
	if err != nil {
		t.Fatal(err)
	}
	for i, n := range names {
		want := mustRead(t, filepath.Join("testdata/multi", n))
		// gcab stores the path as given, with '/' or '\' depending on version.
		if got := strings.ReplaceAll(c.Files[i].Name, `\`, "/"); got != n {
			t.Errorf("file %d is %q, want %q", i, got, n)
		}
		if c.Files[i].Size != int64(len(want)) {
			t.Errorf("%s: size %d, want %d", n, c.Files[i].Size, len(want))
		}
		var out bytes.Buffer
		if err := c.Extract(i, &out, 1<<30); err != nil {
			t.Fatalf("%s: %v", n, err)
		}
		if !bytes.Equal(out.Bytes(), want) {
			t.Errorf("%s: extracted %d bytes that differ from the file's %d", n, out.Len(), len(want))
		}
		if !bytes.Equal(heads[i], want[:min(16, len(want))]) {
			t.Errorf("%s: Peek %q, want %q", n, heads[i], want[:min(16, len(want))])
		}
	}
	// Backwards, each file from a fresh decoder, and again forwards, each
	// continuing the last: the same bytes.
	for _, order := range [][]int{{3, 2, 1, 0}, {0, 1, 2, 3}, {0, 2, 1, 3}} {
		for _, i := range order {
			var out bytes.Buffer
			if err := c.Extract(i, &out, 1<<30); err != nil || !bytes.Equal(out.Bytes(), mustRead(t, filepath.Join("testdata/multi", names[i]))) {
				t.Errorf("order %v, file %d: %d bytes, %v", order, i, out.Len(), err)
			}
		}
	}
	// A limit below memory.bin's offset: no head for it, and no error.
	heads, err = c.Peek(16, 30000)
	if err != nil || heads[2] != nil || len(heads[1]) != 16 {
		t.Errorf("Peek with a limit: %q, %v", heads, err)
	}
}

func TestMalformed(t *testing.T) {
	le := binary.LittleEndian
	data := bytes.Repeat([]byte("symbols "), 10000)
	good := one(t, data, cab.MSZIP, cab.MaxBlock, "x.pdb", false)
	folderOff := headerSize
	dataOff := int(le.Uint32(good[folderOff:]))
	fileOff := headerSize + folderSize
	mod := func(f func(b []byte)) []byte { b := bytes.Clone(good); f(b); return b }
	tests := []struct {
		name  string
		in    []byte
		limit int64
		want  string
		typ   any // the error's type, when it has one
	}{
		{"empty", nil, 0, "too small", &cab.FormatError{}},
		{"not a cab", bytes.Repeat([]byte("x"), 100), 0, "no MSCF", &cab.FormatError{}},
		{"LZX", mod(func(b []byte) { le.PutUint16(b[folderOff+6:], 0x1503) }), 0, "LZX compression, which is not supported", &cab.UnsupportedError{}},
		{"Quantum", mod(func(b []byte) { le.PutUint16(b[folderOff+6:], 0x0002) }), 0, "Quantum compression", &cab.UnsupportedError{}},
		{"bad checksum", mod(func(b []byte) { b[dataOff+dataHeader+5] ^= 0xff }), 0, "checksum", &cab.FormatError{}},
		{"truncated", good[:len(good)-10], 0, "claims", &cab.FormatError{}},
		{"truncated blocks", mod(func(b []byte) { le.PutUint32(b[8:], uint32(len(b))) })[:dataOff+20], 0, "claims", nil},
		{"multi-cabinet", mod(func(b []byte) { le.PutUint16(b[30:], 0x0002) }), 0, "multi-cabinet", &cab.UnsupportedError{}},
		{"bad version", mod(func(b []byte) { b[25] = 2 }), 0, "version", nil},
		{"too many folders", mod(func(b []byte) { le.PutUint16(b[26:], 0xFFFF) }), 0, "do not fit", nil},
		{"file table out of range", mod(func(b []byte) { le.PutUint32(b[16:], 0xFFFFFF) }), 0, "out of range", nil},
		{"file in missing folder", mod(func(b []byte) { le.PutUint16(b[fileOff+8:], 5) }), 0, "folder 5", nil},
		{"file larger than folder", mod(func(b []byte) { le.PutUint32(b[fileOff:], uint32(len(data)+100000)) }), 0, "folder ends", nil},
		{"over the limit", good, 1000, "over the 1000-byte limit", &cab.LimitError{}},
		{"starts past the limit", mod(func(b []byte) { le.PutUint32(b[fileOff:], 10); le.PutUint32(b[fileOff+4:], 5000) }), 1000, "starts 5000 bytes into its folder", &cab.LimitError{}},
		{"lying uncompressed size", mod(func(b []byte) {
			le.PutUint16(b[dataOff+6:], 100)
			le.PutUint32(b[dataOff:], 0)
		}), 0, "inflates to", nil},
		{"huge uncompressed size", mod(func(b []byte) { le.PutUint16(b[dataOff+6:], 0xFFFF) }), 0, "max 32768", nil},
		{"no CK", mod(func(b []byte) { b[dataOff+dataHeader] = 'X'; le.PutUint32(b[dataOff:], 0) }), 0, "CK signature", nil},
		{"continued block", mod(func(b []byte) { le.PutUint16(b[dataOff+6:], 0) }), 0, "another cabinet", nil},
	}
	two := cabtest.Build([]cabtest.File{{Name: "a", Data: data}, {Name: "b", Data: data}}, cabtest.Options{Compression: cab.MSZIP})
	// The second CFFILE (after the first's 16 bytes and "a\x00") starts at offset 0.
	le.PutUint32(two[fileOff+18+4:], 0)
	tests = append(tests, struct {
		name  string
		in    []byte
		limit int64
		want  string
		typ   any
	}{"overlapping files", two, 0, "before the end (80000) of the file before it", &cab.FormatError{}})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			limit := tt.limit
			if limit == 0 {
				limit = 1 << 30
			}
			_, _, err := extract(t, tt.in, 0, limit)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want %q", err, tt.want)
			}
			switch tt.typ.(type) {
			case *cab.FormatError:
				var e *cab.FormatError
				if !errors.As(err, &e) {
					t.Errorf("%T is not a *FormatError", err)
				}
			case *cab.UnsupportedError:
				var e *cab.UnsupportedError
				if !errors.As(err, &e) {
					t.Errorf("%T is not an *UnsupportedError", err)
				}
			case *cab.LimitError:
				var e *cab.LimitError
				if !errors.As(err, &e) || e.Limit != limit {
					t.Errorf("%v is not a *LimitError at %d", err, limit)
				}
			}
		})
	}
}

// TestNames: a name flagged UTF-8 is kept; one in an unknown code page is read
// as Latin-1, so the result is always valid UTF-8.
func TestNames(t *testing.T) {
	b := cabtest.Build([]cabtest.File{{Name: "dümp.dmp", Data: []byte("a")}, {Name: "plain\\x.dmp", Data: []byte("b")}}, cabtest.Options{})
	c, err := cab.NewReader(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	if c.Files[0].Name != "dümp.dmp" || c.Files[1].Name != `plain\x.dmp` {
		t.Errorf("names %q %q", c.Files[0].Name, c.Files[1].Name)
	}
	// Clear _A_NAME_IS_UTF: the two UTF-8 bytes of ü become two Latin-1 runes.
	i := bytes.Index(b, []byte("dümp"))
	binary.LittleEndian.PutUint16(b[i-2:], 0x20)
	c, err = cab.NewReader(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	if c.Files[0].Name != "dÃ¼mp.dmp" {
		t.Errorf("code-page name %q", c.Files[0].Name)
	}
}

// FuzzCAB feeds arbitrary cabinets to the reader: it may fail, never panic or
// write past its limit.
func FuzzCAB(f *testing.F) {
	for _, p := range []string{"../testdata/cab/fixture-x64.pd_", "../testdata/cab/fixture-x64-stored.pd_", "testdata/multi.cab"} {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
		}
	}
	if d, ok := sharedtest.Find(); ok {
		if b, err := os.ReadFile(filepath.Join(d, "store-cab/crash.pdb/3249D99D0C4049318610F4E4FB0B69361/crash.pdb")); err == nil {
			f.Add(b)
		}
	}
	f.Add(one(f, bytes.Repeat([]byte("abc"), 30000), cab.MSZIP, 4000, "x.pdb", false))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := cab.NewReader(bytes.NewReader(data), int64(len(data)))
		if err != nil {
			return
		}
		const limit = 1 << 20
		heads, _ := c.Peek(8, limit)
		for i, f := range c.Files {
			var w countWriter
			if err := c.Extract(i, &w, limit); err == nil {
				if w.n > limit || w.n != f.Size {
					t.Fatalf("file %d: wrote %d bytes, size %d, limit %d", i, w.n, f.Size, limit)
				}
			}
			if len(heads[i]) > 8 {
				t.Fatalf("head of %d bytes", len(heads[i]))
			}
		}
	})
}

type countWriter struct{ n int64 }

func (w *countWriter) Write(p []byte) (int, error) { w.n += int64(len(p)); return len(p), nil }
