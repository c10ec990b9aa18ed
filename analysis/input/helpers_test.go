package input_test

import (
	"archive/zip"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"os"
	"path/filepath"
	"testing"

	"github.com/dumpmap/dumpmap/analysis/cab"
	"github.com/dumpmap/dumpmap/analysis/cab/cabtest"
	"github.com/dumpmap/dumpmap/minidump/minidumptest"
	"github.com/klauspost/compress/zstd"
)

// fixture returns the fixture lab's pristine.dmp, a real dump of a process
// (docs/fixtures.md), or a synthetic dump when the fixture is absent.
func fixture(t testing.TB) []byte {
	b, err := os.ReadFile("../../testdata/fixtures/dumps/pristine.dmp")
	if err != nil {
		return synthetic()
	}
	return b
}

func synthetic() []byte {
	return minidumptest.New().SystemInfo(minidumptest.Windows7x86()).
		Module(minidumptest.Module{Base: 0x400000, Size: 0x10000, Name: `C:\app.exe`}).Bytes()
}

func gz(t testing.TB, data []byte) []byte {
	var buf bytes.Buffer
	w := gzip.NewWriter(&buf)
	w.Write(data)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func zst(t testing.TB, data []byte) []byte {
	enc, err := zstd.NewWriter(nil)
	if err != nil {
		t.Fatal(err)
	}
	defer enc.Close()
	return enc.EncodeAll(data, nil)
}

type member struct {
	name  string
	data  []byte
	store bool // zip.Store rather than Deflate
}

func zipOf(t testing.TB, ms ...member) []byte {
	var buf bytes.Buffer
	w := zip.NewWriter(&buf)
	for _, m := range ms {
		if m.data == nil { // a folder entry
			if _, err := w.Create(m.name + "/"); err != nil {
				t.Fatal(err)
			}
			continue
		}
		method := zip.Deflate
		if m.store {
			method = zip.Store
		}
		f, err := w.CreateHeader(&zip.FileHeader{Name: m.name, Method: method})
		if err != nil {
			t.Fatal(err)
		}
		f.Write(m.data)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func cabOf(ms ...member) []byte {
	var fs []cabtest.File
	for _, m := range ms {
		fs = append(fs, cabtest.File{Name: m.name, Data: m.data})
	}
	return cabtest.Build(fs, cabtest.Options{Compression: cab.MSZIP})
}

func write(t testing.TB, dir, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func sum(b []byte) [32]byte { return sha256.Sum256(b) }

// emptyDir fails t when dir holds anything: a temporary file left behind.
func emptyDir(t testing.TB, dir string) {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		t.Errorf("left in the temporary folder: %s", e.Name())
	}
}
