package pdb

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/dumpmap/dumpmap/analysis/internal/sharedtest"
)

const crashPDB = "store/crash.pdb/3249D99D0C4049318610F4E4FB0B69361/crash.pdb"

// BenchmarkOpen opens the 1 MB crash.pdb from disk: superblock, directory,
// info, DBI and section headers.
func BenchmarkOpen(b *testing.B) {
	p := filepath.Join(sharedtest.Dir(b), crashPDB)
	for b.Loop() {
		f, err := Open(p)
		if err != nil {
			b.Fatal(err)
		}
		f.Close()
	}
}

// BenchmarkOpenPublics opens crash.pdb from memory and lists its publics,
// which reads and walks the whole symbol record stream.
func BenchmarkOpenPublics(b *testing.B) {
	data, err := os.ReadFile(filepath.Join(sharedtest.Dir(b), crashPDB))
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		f, err := New(bytes.NewReader(data), int64(len(data)))
		if err != nil {
			b.Fatal(err)
		}
		pubs, err := f.Publics()
		if err != nil || len(pubs) != 339 {
			b.Fatal(len(pubs), err)
		}
	}
}

// BenchmarkLookup measures a name lookup on an open file (index built once).
func BenchmarkLookup(b *testing.B) {
	f, err := Open(filepath.Join(sharedtest.Dir(b), crashPDB))
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	for b.Loop() {
		if s, _ := f.Lookup("__security_cookie"); len(s) != 2 {
			b.Fatal(s)
		}
	}
}
