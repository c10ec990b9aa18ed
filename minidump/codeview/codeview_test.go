package codeview

import (
	"encoding/hex"
	"testing"
)

func TestGUIDRoundTrip(t *testing.T) {
	tests := []struct {
		in, str, hex string
	}{
		{"{3249D99D-0C40-4931-8610-F4E4FB0B6936}", "{3249D99D-0C40-4931-8610-F4E4FB0B6936}", "3249D99D0C4049318610F4E4FB0B6936"},
		{"f535c5fb2ae84bb8aa206c30be566c5a", "{F535C5FB-2AE8-4BB8-AA20-6C30BE566C5A}", "F535C5FB2AE84BB8AA206C30BE566C5A"},
	}
	for _, tt := range tests {
		g, err := ParseGUID(tt.in)
		if err != nil {
			t.Fatalf("ParseGUID(%q): %v", tt.in, err)
		}
		if g.String() != tt.str || g.Hex() != tt.hex {
			t.Errorf("ParseGUID(%q) = %s / %s, want %s / %s", tt.in, g, g.Hex(), tt.str, tt.hex)
		}
	}
	for _, bad := range []string{"", "xyz", "{3249D99D-0C40-4931-8610-F4E4FB0B69}", "3249D99D0C4049318610F4E4FB0B6936AA"} {
		if _, err := ParseGUID(bad); err == nil {
			t.Errorf("ParseGUID(%q) succeeded", bad)
		}
	}
}

func TestParse(t *testing.T) {
	// The RSDS record of crash.exe as llvm-readobj prints it: GUID bytes
	// 9D D9 49 32 40 0C 31 49 86 10 F4 E4 FB 0B 69 36, age 1.
	rsds, _ := hex.DecodeString("52534453" + "9dd94932400c31498610f4e4fb0b6936" + "01000000")
	rsds = append(rsds, `C:\projects\breakpad-tools\windows\Release\crash.pdb`+"\x00junk"...)
	nb10, _ := hex.DecodeString("4e423130" + "00000000" + "78563412" + "02000000")
	nb10 = append(nb10, "old/thing.pdb"...)
	tests := []struct {
		name    string
		in      []byte
		wantErr bool
		sig     string
		guid    string
		ts, age uint32
		pdb     string
	}{
		{"rsds", rsds, false, "RSDS", "{3249D99D-0C40-4931-8610-F4E4FB0B6936}", 0, 1, "crash.pdb"},
		{"nb10", nb10, false, "NB10", "{00000000-0000-0000-0000-000000000000}", 0x12345678, 2, "thing.pdb"},
		{"short", []byte("RS"), true, "", "", 0, 0, ""},
		{"short rsds", rsds[:23], true, "", "", 0, 0, ""},
		{"short nb10", nb10[:15], true, "", "", 0, 0, ""},
		{"unknown", []byte("XXXXaaaaaaaaaaaaaaaaaaaaaaaa"), true, "", "", 0, 0, ""},
		{"no path", rsds[:24], false, "RSDS", "{3249D99D-0C40-4931-8610-F4E4FB0B6936}", 0, 1, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := Parse(tt.in)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tt.wantErr)
			}
			if err != nil {
				return
			}
			if r.Signature != tt.sig || r.GUID.String() != tt.guid || r.Timestamp != tt.ts || r.Age != tt.age || r.PDBName() != tt.pdb {
				t.Errorf("got %+v (name %q)", r, r.PDBName())
			}
		})
	}
}
