package pdb

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/dumpmap/dumpmap/analysis/internal/sharedtest"
)

// FuzzNew feeds arbitrary bytes to New and, when it succeeds, to every
// symbol accessor: none may panic or allocate beyond the input's bounds.
// Seeds: the synthetic PDB, the lld fixtures and, when present, the shared
// corpus PDBs (read in place).
func FuzzNew(f *testing.F) {
	f.Add(synthPDB())
	seeds := []string{"../testdata/lld/fixture-x86.pdb", "../testdata/lld/fixture-x64.pdb"}
	if d, ok := sharedtest.Find(); ok {
		seeds = append(seeds,
			filepath.Join(d, "store/CrashWithException.pdb/F535C5FB2AE84BB8AA206C30BE566C5A1/CrashWithException.pdb"),
			filepath.Join(d, crashPDB))
	}
	for _, p := range seeds {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		pf, err := New(bytes.NewReader(data), int64(len(data)))
		if err != nil {
			return
		}
		pf.Publics()
		pf.Globals()
		pf.Lookup("_crtheap")
	})
}
