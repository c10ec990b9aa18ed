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
		exerciseC13(pf)
	})
}

// exerciseC13 runs the procedure, line and frame lookups at addresses
// taken from the file itself, and at the edges.
func exerciseC13(pf *File) {
	procs, _ := pf.Procedures()
	rvas := []uint32{0, 1, 0x1000, 0xFFFFFFFF}
	for i, p := range procs {
		if i > 256 {
			break
		}
		rvas = append(rvas, p.RVA, p.RVA+p.Size/2, p.RVA+p.Size)
	}
	fd, _ := pf.FrameDataRecords()
	for i, r := range fd {
		if i > 256 {
			break
		}
		rvas = append(rvas, r.RVA, r.RVA+r.CodeSize)
	}
	pf.FPORecords()
	mods, _ := pf.Modules()
	for i := range mods {
		if i > 256 {
			break
		}
		pf.ModuleLines(i)
	}
	for _, a := range rvas {
		pf.FunctionAt(a)
		pf.LineAt(a)
		pf.WinFrameAt(a)
		pf.PublicAt(a)
	}
}

// FuzzModuleStream feeds arbitrary bytes to the module stream parsers
// (symbol records and C13 subsections), seeded with the module streams of
// the real PDBs.
func FuzzModuleStream(f *testing.F) {
	paths := []string{"../testdata/lld/fixture-x86.pdb", "../../testdata/fixtures/dumps/crtheap.pdb"}
	if d, ok := sharedtest.Find(); ok {
		paths = append(paths, filepath.Join(d, crashPDB))
	}
	for _, p := range paths {
		pf, err := Open(p)
		if err != nil {
			continue
		}
		mods, _ := pf.Modules()
		for i, m := range mods {
			if m.Stream < 0 || i > 40 {
				continue
			}
			if b, err := pf.m.readStream(m.Stream); err == nil {
				f.Add(b, m.SymBytes, m.C13Bytes)
			}
		}
		pf.Close()
	}
	secs := []Section{{Name: ".text", VirtualAddress: 0x1000, VirtualSize: 0x10000}, {Name: ".data", VirtualAddress: 0x20000}}
	f.Fuzz(func(t *testing.T, b []byte, symBytes, c13Bytes uint32) {
		m := &Module{Stream: 1, SymBytes: symBytes, C13Bytes: c13Bytes}
		if uint64(symBytes)+uint64(c13Bytes) > uint64(len(b)) || symBytes < 4 {
			parseC13(b, m, secs)
			parseProcs(b, m, secs)
			return
		}
		procs, _ := parseProcs(b[4:symBytes], m, secs)
		_, ranges, _, _ := parseC13(b[symBytes:symBytes+c13Bytes], m, secs)
		for _, p := range procs {
			procAt(procs, p.RVA)
		}
		for _, r := range ranges {
			if len(r.entries) > len(b) {
				t.Fatalf("%d entries from %d bytes", len(r.entries), len(b))
			}
		}
	})
}
