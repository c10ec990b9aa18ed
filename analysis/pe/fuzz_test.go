package pe

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/dumpmap/dumpmap/analysis/internal/sharedtest"
)

// FuzzNew reads arbitrary bytes in both layouts and calls every accessor.
// Seeds: the lld DLLs, their mapped images and the corpus executables.
func FuzzNew(f *testing.F) {
	seeds := []string{lld + "/fixture-x86.dll", lld + "/fixture-x64.dll"}
	// crash.exe from the crash fixtures carries a COFF symbol table (GNU ld).
	seeds = append(seeds, filepath.Join("../../testdata/fixtures/images/crash.exe/6B15EFD341000/crash.exe"))
	if d, ok := sharedtest.Find(); ok {
		seeds = append(seeds, filepath.Join(d, "images/crash.exe"), filepath.Join(d, "images/CrashWithException.exe"))
	}
	for _, p := range seeds {
		b, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		f.Add(b, false)
		f.Add(mapImage(f, b), true)
	}
	f.Fuzz(func(t *testing.T, data []byte, mapped bool) {
		l := LayoutFile
		if mapped {
			l = LayoutMapped
		}
		pf, err := newFile(bytes.NewReader(data), int64(len(data)), l)
		if err != nil {
			return
		}
		pf.Exports()
		pf.Imports()
		pf.CodeView()
		pf.COFFFunctions()
		var p [32]byte
		pf.ReadRVA(p[:], pf.EntryPoint)
	})
}
