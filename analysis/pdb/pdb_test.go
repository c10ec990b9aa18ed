package pdb

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dumpmap/dumpmap/analysis/internal/sharedtest"
)

func TestSynthetic(t *testing.T) {
	b := synthPDB()
	f, err := New(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	if f.Age != 3 || f.GUID.String() != "{04030201-0605-0807-090A-0B0C0D0E0F10}" || f.Machine != 0x14c || len(f.Sections) != 2 {
		t.Fatalf("header: %+v", f)
	}
	pubs, err := f.Publics()
	if err != nil || len(pubs) != 3 {
		t.Fatalf("publics %v, %v", pubs, err)
	}
	globs, err := f.Globals()
	if err != nil || len(globs) != 2 {
		t.Fatalf("globals %v, %v", globs, err)
	}
	if p := pubs[0]; p.Name != "_main" || p.RVA != 0x1010 || !p.HasRVA || p.Flags.IsData() || p.Flags.String() != "function" {
		t.Errorf("_main: %+v", p)
	}
	if p := pubs[2]; p.Name != "__absolute" || p.HasRVA || !p.Flags.IsData() {
		t.Errorf("__absolute: %+v", p)
	}
	if g := globs[1]; g.Name != "calls" || g.Kind != KindLData32 || g.RVA != 0x3008 || g.TypeIndex != 0x74 {
		t.Errorf("calls: %+v", g)
	}
}

func TestLookup(t *testing.T) {
	synth := synthPDB()
	fromBytes := func(b []byte) func(t *testing.T) *File {
		return func(t *testing.T) *File {
			f, err := New(bytes.NewReader(b), int64(len(b)))
			if err != nil {
				t.Fatal(err)
			}
			return f
		}
	}
	fromFile := func(shared bool, p string) func(t *testing.T) *File {
		return func(t *testing.T) *File {
			path := p
			if shared {
				path = filepath.Join(sharedtest.Dir(t), p)
			}
			f, err := Open(path)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { f.Close() })
			return f
		}
	}
	crash := fromFile(true, "store/crash.pdb/3249D99D0C4049318610F4E4FB0B69361/crash.pdb")
	tests := []struct {
		name  string
		open  func(t *testing.T) *File
		query string
		want  string // "kind name rva" joined by "; "
	}{
		{"synthetic", fromBytes(synth), "_crtheap", "S_GDATA32 _crtheap 0x3004; S_PUB32 __crtheap 0x3004"},
		{"synthetic missing", fromBytes(synth), "nothere", ""},
		{"lld x86", fromFile(false, "../testdata/lld/fixture-x86.pdb"), "_crtheap", "S_GDATA32 _crtheap 0x3000; S_PUB32 __crtheap 0x3000"},
		{"lld x64", fromFile(false, "../testdata/lld/fixture-x64.pdb"), "_crtheap", "S_GDATA32 _crtheap 0x3000; S_PUB32 _crtheap 0x3000"},
		{"lld x86 function", fromFile(false, "../testdata/lld/fixture-x86.pdb"), "add", "S_PUB32 _add 0x1000"},
		{"crash cookie", crash, "__security_cookie", "S_GDATA32 __security_cookie 0x6000; S_PUB32 ___security_cookie 0x6000"},
		{"crash decorated", crash, "___security_cookie", "S_PUB32 ___security_cookie 0x6000"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := tt.open(t)
			syms, err := f.Lookup(tt.query)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, s := range syms {
				got = append(got, fmt.Sprintf("%s %s %#x", s.Kind, s.Name, s.RVA))
			}
			if g := strings.Join(got, "; "); g != tt.want {
				t.Errorf("Lookup(%q) = %q, want %q", tt.query, g, tt.want)
			}
		})
	}
}

func TestMalformed(t *testing.T) {
	le := binary.LittleEndian
	good := synthPDB()
	mod := func(f func(b []byte) []byte) []byte {
		return f(bytes.Clone(good))
	}
	// Offsets inside synthPDB's layout, found from the superblock.
	bmBlock := int(le.Uint32(good[52:]))
	dirBlock := int(le.Uint32(good[bmBlock*512:]))
	dirOff := dirBlock * 512
	tests := []struct {
		name    string
		in      []byte
		wantErr string // substring; "" means New succeeds
		symErr  string // substring of the Publics error
	}{
		{"empty", nil, "too small", ""},
		{"random", bytes.Repeat([]byte{0x5a}, 4096), "bad MSF 7.00 magic", ""},
		{"pdb 2.0", append([]byte(oldMagic), make([]byte, 100)...), "PDB 2.0", ""},
		{"bad block size", mod(func(b []byte) []byte { le.PutUint32(b[32:], 1000); return b }), "bad block size", ""},
		{"truncated", good[:len(good)/2], "out of range", ""},
		{"dir too big", mod(func(b []byte) []byte { le.PutUint32(b[44:], 1<<30); return b }), "exceeds the file", ""},
		{"block map out of range", mod(func(b []byte) []byte { le.PutUint32(b[52:], 99999); return b }), "out of range", ""},
		{"too many streams", mod(func(b []byte) []byte { le.PutUint32(b[dirOff:], 1<<28); return b }), "claims", ""},
		{"huge stream", mod(func(b []byte) []byte { le.PutUint32(b[dirOff+4+4*4:], 1<<31); return b }), "past the end of the stream directory", ""},
		{"stream block out of range", mod(func(b []byte) []byte {
			n := le.Uint32(b[dirOff:])
			le.PutUint32(b[dirOff+4+4*int(n):], 0xFFFFFFF0) // first block of stream 1
			return b
		}), "stream 1: block number", ""},
		{"no info stream", buildMSF(512, [][]byte{{}}), "no such stream", ""},
		{"short info", buildMSF(512, [][]byte{{}, {1, 2, 3}}), "too short", ""},
		{"no dbi", buildMSF(512, [][]byte{{}, infoStream(1, [16]byte{})}), "", "no symbol record stream"},
		{"old dbi", buildMSF(512, [][]byte{{}, infoStream(1, [16]byte{}), {}, make([]byte, 64)}), "old-format DBI", ""},
		{"short dbi", buildMSF(512, [][]byte{{}, infoStream(1, [16]byte{}), {}, make([]byte, 10)}), "too short", ""},
		{"negative substream", buildMSF(512, [][]byte{{}, infoStream(1, [16]byte{}), {}, func() []byte {
			d := dbiStream(4, 5, 0)
			le.PutUint32(d[24:], 0x80000000)
			return d
		}()}), "negative substream", ""},
		{"substreams overflow", buildMSF(512, [][]byte{{}, infoStream(1, [16]byte{}), {}, func() []byte {
			d := dbiStream(4, 5, 0)
			le.PutUint32(d[28:], 0x7fffffff)
			return d
		}()}), "exceed", ""},
		{"bad section stream", buildMSF(512, [][]byte{{}, infoStream(1, [16]byte{}), {}, dbiStream(4, 5, 0), {}, make([]byte, 41)}), "not a multiple", ""},
		{"missing symbol stream", buildMSF(512, [][]byte{{}, infoStream(1, [16]byte{}), {}, dbiStream(9, 0xFFFF, 0)}), "", "no symbol record stream"},
		{"zero-length record", buildMSF(512, [][]byte{{}, infoStream(1, [16]byte{}), {}, dbiStream(4, 0xFFFF, 0), {0, 0, 0, 0}}), "", "has length 0"},
		{"record past end", buildMSF(512, [][]byte{{}, infoStream(1, [16]byte{}), {}, dbiStream(4, 0xFFFF, 0), {0xff, 0, 0x0e, 0x11}}), "", "past the stream end"},
		{"short public", buildMSF(512, [][]byte{{}, infoStream(1, [16]byte{}), {}, dbiStream(4, 0xFFFF, 0), {6, 0, 0x0e, 0x11, 0, 0, 0, 0}}), "", "too short"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := New(bytes.NewReader(tt.in), int64(len(tt.in)))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				var fe *FormatError
				if !errors.As(err, &fe) {
					t.Errorf("err %T is not a *FormatError", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			_, err = f.Publics()
			if tt.symErr == "" && err != nil || tt.symErr != "" && (err == nil || !strings.Contains(err.Error(), tt.symErr)) {
				t.Errorf("Publics err = %v, want %q", err, tt.symErr)
			}
			f.Lookup("x")
		})
	}
}

// TestPartialSymbols checks that a damaged record stream still yields the
// records before the damage.
func TestPartialSymbols(t *testing.T) {
	syms := append(symRecord(KindPub32, 0, 1, 1, "_first"), 0xff, 0xff, 0x0e, 0x11)
	b := buildMSF(512, [][]byte{{}, infoStream(1, [16]byte{}), {}, dbiStream(4, 0xFFFF, 0), syms})
	f, err := New(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	pubs, err := f.Publics()
	if err == nil || len(pubs) != 1 || pubs[0].Name != "_first" {
		t.Fatalf("got %v, %v", pubs, err)
	}
}

// TestTruncations opens every prefix of real PDBs at block granularity and
// some odd sizes: none may panic, and any error must be a clean one.
func TestTruncations(t *testing.T) {
	files := []string{"../testdata/lld/fixture-x86.pdb"}
	if d, ok := sharedtest.Find(); ok {
		files = append(files, filepath.Join(d, "store/CrashWithException.pdb/F535C5FB2AE84BB8AA206C30BE566C5A1/CrashWithException.pdb"))
	}
	for _, p := range files {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		for n := 0; n < len(b); n += 4096 {
			for _, m := range []int{n, n + 1, n + 4095} {
				if m > len(b) {
					continue
				}
				f, err := New(bytes.NewReader(b[:m]), int64(m))
				if err == nil {
					f.Publics()
					f.Globals()
				}
			}
		}
	}
}

func TestOpenMissing(t *testing.T) {
	if _, err := Open(filepath.Join(t.TempDir(), "none.pdb")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("err = %v", err)
	}
}
