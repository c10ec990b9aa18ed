package symstore

import (
	"bytes"
	"compress/flate"
	"encoding/binary"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dumpmap/dumpmap/analysis/internal/sharedtest"
)

// buildCAB writes a one-folder, one-file cabinet holding data in blocks of
// blockSize, compressed with typ (none or MSZIP: each block a deflate stream
// primed with the previous block, as the format requires). name is stored
// as the member name. Checksums are computed unless zeroSum.
func buildCAB(t testing.TB, data []byte, typ uint16, blockSize int, name string, zeroSum bool) []byte {
	t.Helper()
	le := binary.LittleEndian
	var blocks [][]byte
	var dict []byte
	for off := 0; off < len(data) || off == 0; off += blockSize {
		chunk := data[off:min(off+blockSize, len(data))]
		var payload []byte
		if typ == compressMSZIP {
			var buf bytes.Buffer
			buf.WriteString("CK")
			fw, err := flate.NewWriterDict(&buf, flate.BestCompression, dict)
			if err != nil {
				t.Fatal(err)
			}
			fw.Write(chunk)
			fw.Close()
			payload = buf.Bytes()
		} else {
			payload = chunk
		}
		dict = chunk
		hdr := make([]byte, cabDataSize)
		le.PutUint16(hdr[4:], uint16(len(payload)))
		le.PutUint16(hdr[6:], uint16(len(chunk)))
		if !zeroSum {
			le.PutUint32(hdr, cabChecksum(hdr[4:8], cabChecksum(payload, 0)))
		}
		blocks = append(blocks, append(hdr, payload...))
		if len(data) == 0 {
			break
		}
	}
	fileEntry := make([]byte, cabFileSize)
	le.PutUint32(fileEntry, uint32(len(data)))
	fileEntry = append(append(fileEntry, name...), 0)
	filesOff := cabHeaderSize + cabFolderSize
	dataOff := filesOff + len(fileEntry)
	var body []byte
	for _, b := range blocks {
		body = append(body, b...)
	}
	h := make([]byte, cabHeaderSize)
	copy(h, cabMagic)
	le.PutUint32(h[8:], uint32(dataOff+len(body)))
	le.PutUint32(h[16:], uint32(filesOff))
	h[24], h[25] = 3, 1
	le.PutUint16(h[26:], 1)
	le.PutUint16(h[28:], 1)
	folder := make([]byte, cabFolderSize)
	le.PutUint32(folder, uint32(dataOff))
	le.PutUint16(folder[4:], uint16(len(blocks)))
	le.PutUint16(folder[6:], typ)
	out := append(append(append(h, folder...), fileEntry...), body...)
	return out
}

func extractAll(t testing.TB, b []byte, limit int64) ([]byte, string, error) {
	c, err := openCAB(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		return nil, "", err
	}
	var out bytes.Buffer
	err = c.extract(0, &out, limit)
	return out.Bytes(), c.files[0].name, err
}

// TestCABCorpus expands the corpus store-cab file. Despite its place in a
// PDB store it holds a Breakpad text symbol file, not a PDB: the test pins
// that down so a lookup's "not a PDB" answer there is understood.
func TestCABCorpus(t *testing.T) {
	p := filepath.Join(sharedtest.Dir(t), "store-cab/crash.pdb/3249D99D0C4049318610F4E4FB0B69361/crash.pdb")
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	out, name, err := extractAll(t, b, 1<<30)
	if err != nil {
		t.Fatal(err)
	}
	if name != "debug/debug.pdb" || len(out) != 46361 || !bytes.HasPrefix(out, []byte("MODULE windows x86 3249D99D0C4049318610F4E4FB0B69361 crash.pdb\r\n")) && !bytes.HasPrefix(out, []byte("MODULE windows x86 3249D99D0C4049318610F4E4FB0B69361 crash.pdb\n")) {
		t.Errorf("member %q, %d bytes, starts %q", name, len(out), out[:min(80, len(out))])
	}
}

// TestCABFixtures expands gcab's cabinets (an independent writer) and this
// package's own writer, in both supported compressions.
func TestCABFixtures(t *testing.T) {
	want, err := os.ReadFile("../testdata/lld/fixture-x64.pdb")
	if err != nil {
		t.Fatal(err)
	}
	// Random data repeated across blocks: later blocks compress to
	// back-references into the previous block, so only a reader that
	// primes each block with its predecessor decodes them.
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
		{"MSZIP with cross-block dictionary", func() []byte { return buildCAB(t, repeated, compressMSZIP, cabMaxBlock, "x.pdb", false) }, repeated},
		{"stored", func() []byte { return buildCAB(t, repeated, compressNone, cabMaxBlock, "x.pdb", false) }, repeated},
		{"no checksums", func() []byte { return buildCAB(t, repeated, compressMSZIP, 1000, "x.pdb", true) }, repeated},
		{"empty file", func() []byte { return buildCAB(t, nil, compressNone, cabMaxBlock, "x.pdb", false) }, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, _, err := extractAll(t, tt.cab(), 1<<30)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, tt.want) {
				t.Errorf("expanded %d bytes, want %d (equal prefix %v)", len(got), len(tt.want), bytes.HasPrefix(tt.want, got))
			}
		})
	}
}

func mustRead(t testing.TB, p string) []byte {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestCABMalformed(t *testing.T) {
	le := binary.LittleEndian
	data := bytes.Repeat([]byte("symbols "), 10000)
	good := buildCAB(t, data, compressMSZIP, cabMaxBlock, "x.pdb", false)
	folderOff := cabHeaderSize
	dataOff := int(le.Uint32(good[folderOff:]))
	mod := func(f func(b []byte)) []byte { b := bytes.Clone(good); f(b); return b }
	tests := []struct {
		name  string
		in    []byte
		limit int64
		want  string
	}{
		{"empty", nil, 0, "too small"},
		{"not a cab", bytes.Repeat([]byte("x"), 100), 0, "no MSCF"},
		{"LZX", mod(func(b []byte) { le.PutUint16(b[folderOff+6:], 0x1503) }), 0, "LZX compression, which is not supported"},
		{"Quantum", mod(func(b []byte) { le.PutUint16(b[folderOff+6:], 0x0002) }), 0, "Quantum compression"},
		{"bad checksum", mod(func(b []byte) { b[dataOff+cabDataSize+5] ^= 0xff }), 0, "checksum"},
		{"truncated", good[:len(good)-10], 0, "claims"},
		{"truncated blocks", mod(func(b []byte) { le.PutUint32(b[8:], uint32(len(b))) })[:dataOff+20], 0, "claims"},
		{"multi-cabinet", mod(func(b []byte) { le.PutUint16(b[30:], cabFlagNext) }), 0, "multi-cabinet"},
		{"bad version", mod(func(b []byte) { b[25] = 2 }), 0, "version"},
		{"too many folders", mod(func(b []byte) { le.PutUint16(b[26:], 0xFFFF) }), 0, "do not fit"},
		{"file table out of range", mod(func(b []byte) { le.PutUint32(b[16:], 0xFFFFFF) }), 0, "out of range"},
		{"file in missing folder", mod(func(b []byte) { le.PutUint16(b[cabHeaderSize+cabFolderSize+8:], 5) }), 0, "folder 5"},
		{"file larger than folder", mod(func(b []byte) { le.PutUint32(b[cabHeaderSize+cabFolderSize:], uint32(len(data)+100000)) }), 0, "folder ends"},
		{"over the limit", good, 1000, "over the 1000-byte limit"},
		{"lying uncompressed size", mod(func(b []byte) {
			le.PutUint16(b[dataOff+6:], 100)
			le.PutUint32(b[dataOff:], 0)
		}), 0, "inflates to"},
		{"huge uncompressed size", mod(func(b []byte) { le.PutUint16(b[dataOff+6:], 0xFFFF) }), 0, "max 32768"},
		{"no CK", mod(func(b []byte) { b[dataOff+cabDataSize] = 'X'; le.PutUint32(b[dataOff:], 0) }), 0, "CK signature"},
		{"continued block", mod(func(b []byte) { le.PutUint16(b[dataOff+6:], 0) }), 0, "another cabinet"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			limit := tt.limit
			if limit == 0 {
				limit = 1 << 30
			}
			_, _, err := extractAll(t, tt.in, limit)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want %q", err, tt.want)
			}
		})
	}
}

// FuzzCAB feeds arbitrary cabinets to the reader: it may fail, never panic
// or write past its limit.
func FuzzCAB(f *testing.F) {
	for _, p := range []string{"../testdata/cab/fixture-x64.pd_", "../testdata/cab/fixture-x64-stored.pd_"} {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
		}
	}
	if d, ok := sharedtest.Find(); ok {
		if b, err := os.ReadFile(filepath.Join(d, "store-cab/crash.pdb/3249D99D0C4049318610F4E4FB0B69361/crash.pdb")); err == nil {
			f.Add(b)
		}
	}
	f.Add(buildCAB(f, bytes.Repeat([]byte("abc"), 30000), compressMSZIP, 4000, "x.pdb", false))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := openCAB(bytes.NewReader(data), int64(len(data)))
		if err != nil {
			return
		}
		for i := range c.files {
			var w countWriter
			if err := c.extract(i, &w, 1<<20); err == nil && w.n > 1<<20 {
				t.Fatalf("wrote %d bytes past the limit", w.n)
			}
		}
	})
}

type countWriter struct{ n int64 }

func (w *countWriter) Write(p []byte) (int, error) { w.n += int64(len(p)); return len(p), nil }
