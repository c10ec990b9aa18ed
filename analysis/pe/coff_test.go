package pe

import (
	stdpe "debug/pe"
	"path/filepath"
	"testing"
)

// TestCOFFFunctions reads the COFF symbol tables of the fixture images (crash.exe
// linked by GNU ld, Wine's msvcr120.dll and ntdll.dll) and checks every function
// against Go's debug/pe, an independent reader of the same table.
func TestCOFFFunctions(t *testing.T) {
	for _, name := range []string{"crash.exe", "msvcr120.dll", "ntdll.dll"} {
		t.Run(name, func(t *testing.T) {
			paths, _ := filepath.Glob(filepath.Join("../../testdata/fixtures/images", name, "*", name))
			if len(paths) == 0 {
				t.Skip("fixture image not present")
			}
			f, err := Open(paths[0])
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			got, err := f.COFFFunctions()
			if err != nil {
				t.Fatal(err)
			}
			ref, err := stdpe.Open(paths[0])
			if err != nil {
				t.Fatal(err)
			}
			defer ref.Close()
			want := map[COFFFunction]bool{}
			for _, s := range ref.Symbols {
				if s.Type&0xf0 == 0x20 && (s.StorageClass == 2 || s.StorageClass == 3) && s.SectionNumber > 0 {
					sec := ref.Sections[s.SectionNumber-1]
					want[COFFFunction{Name: s.Name, RVA: sec.VirtualAddress + s.Value}] = true
				}
			}
			if len(want) < 50 {
				t.Fatalf("debug/pe finds only %d functions", len(want))
			}
			seen := map[COFFFunction]bool{}
			for i, g := range got {
				if i > 0 && got[i-1].RVA > g.RVA {
					t.Fatalf("not sorted at %d", i)
				}
				if !want[g] {
					t.Errorf("%s at %#x is not a function debug/pe reads", g.Name, g.RVA)
				}
				seen[g] = true
			}
			for w := range want {
				if !seen[w] {
					t.Errorf("missing %s at %#x", w.Name, w.RVA)
				}
			}
			t.Logf("%d functions", len(got))
		})
	}
}
