package codeview

import (
	"testing"
)

// FuzzParse decodes arbitrary CodeView records: a record or an error, never a
// panic; a decoded record's PDB name stays within the input.
func FuzzParse(f *testing.F) {
	rsds := append([]byte("RSDS"), make([]byte, 20)...)
	f.Add(append(rsds, []byte("C:\\build\\app.pdb\x00")...))
	f.Add(append([]byte("NB10"), append(make([]byte, 12), []byte("app.pdb\x00")...)...))
	f.Add([]byte("RSDS"))
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := Parse(b)
		if err != nil {
			return
		}
		if len(r.PDBName()) > len(b) {
			t.Fatalf("PDB name of %d bytes from a %d-byte record", len(r.PDBName()), len(b))
		}
	})
}
