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

// BenchmarkOpenFirstLookup opens crash.pdb from memory and names one
// address: the module list, one module's symbols and lines, and the FPO
// tables are read on this first lookup.
func BenchmarkOpenFirstLookup(b *testing.B) {
	data, err := os.ReadFile(filepath.Join(sharedtest.Dir(b), crashPDB))
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		f, err := New(bytes.NewReader(data), int64(len(data)))
		if err != nil {
			b.Fatal(err)
		}
		if _, ok := f.FunctionAt(0x2a3d); !ok {
			b.Fatal("no function")
		}
		if _, ok := f.LineAt(0x2a3d); !ok {
			b.Fatal("no line")
		}
		if _, ok := f.WinFrameAt(0x2a3d); !ok {
			b.Fatal("no frame data")
		}
	}
}

// BenchmarkLookupRVA measures the steady state: FunctionAt, LineAt and
// WinFrameAt for every procedure start of crash.pdb in turn.
func BenchmarkLookupRVA(b *testing.B) {
	f, err := Open(filepath.Join(sharedtest.Dir(b), crashPDB))
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	procs, err := f.Procedures()
	if err != nil {
		b.Fatal(err)
	}
	var rvas []uint32
	for _, p := range procs {
		if p.HasRVA && p.Size > 4 {
			rvas = append(rvas, p.RVA+p.Size/2)
		}
	}
	i := 0
	for b.Loop() {
		a := rvas[i%len(rvas)]
		i++
		f.FunctionAt(a)
		f.LineAt(a)
		f.WinFrameAt(a)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "lookups/s")
}
