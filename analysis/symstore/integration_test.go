package symstore

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dumpmap/dumpmap/analysis/internal/sharedtest"
	"github.com/dumpmap/dumpmap/analysis/pdb"
	"github.com/dumpmap/dumpmap/analysis/pe"
)

// TestImageToSymbols runs the whole chain the CLI will: a module's CodeView
// record (here from the image on disk) finds its PDB in the corpus store,
// and the PDB's symbols land inside the image's sections.
func TestImageToSymbols(t *testing.T) {
	corpus := sharedtest.Dir(t)
	tests := []struct {
		image, symbol string
		section       string
	}{
		{"crash.exe", "__security_cookie", ".data"},
		{"crash.exe", "_main", ".text"},
		{"CrashWithException.exe", "__security_cookie", ".data"},
	}
	p, err := Parse("srv*" + filepath.Join(corpus, "store"))
	if err != nil {
		t.Fatal(err)
	}
	store := New(p, Options{Cache: t.TempDir(), Client: noNetwork(t)})
	for _, tt := range tests {
		t.Run(tt.image+"!"+tt.symbol, func(t *testing.T) {
			img, err := pe.Open(filepath.Join(corpus, "images", tt.image))
			if err != nil {
				t.Fatal(err)
			}
			defer img.Close()
			cv, err := img.CodeView()
			if err != nil {
				t.Fatal(err)
			}
			path, tried, err := store.FindPDB(context.Background(), cv.PDBPath, cv.GUID, cv.Age)
			if err != nil {
				t.Fatalf("%v\n%s", err, strings.Join(tried, "\n"))
			}
			f, err := pdb.Open(path)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			syms, err := f.Lookup(tt.symbol)
			if err != nil || len(syms) == 0 {
				t.Fatalf("Lookup(%q) = %v, %v", tt.symbol, syms, err)
			}
			for _, s := range syms {
				var in string
				for _, sec := range img.Sections {
					if s.RVA >= sec.VirtualAddress && s.RVA < sec.VirtualAddress+max(sec.VirtualSize, sec.SizeOfRawData) {
						in = sec.Name
					}
				}
				if !s.HasRVA || in != tt.section {
					t.Errorf("%s %s at RVA %#x is in %q, want %q", s.Kind, s.Name, s.RVA, in, tt.section)
				}
			}
		})
	}
}
