package modsym_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"github.com/dumpmap/dumpmap/analysis/modsym"
	"testing"

	"github.com/dumpmap/dumpmap/analysis/pe"
)

// codeAt is a modsym.CodeReader over a few byte runs at given addresses.
type codeAt map[uint64][]byte

func (c codeAt) read(p []byte, va uint64) error {
	for base, b := range c {
		if va >= base && va-base+uint64(len(p)) <= uint64(len(b)) {
			copy(p, b[va-base:])
			return nil
		}
	}
	return fmt.Errorf("%#x+%d not captured", va, len(p))
}

func pad(b ...byte) []byte { return append(b, bytes.Repeat([]byte{0xCC}, 16)...) }

func TestDecodeGetHeapHandle(t *testing.T) {
	le := binary.LittleEndian
	rel := func(v int32) []byte { return le.AppendUint32(nil, uint32(v)) }
	abs := func(v uint32) []byte { return le.AppendUint32(nil, v) }
	cat := func(parts ...[]byte) []byte { return pad(bytes.Join(parts, nil)...) }
	cases := []struct {
		name   string
		code   codeAt
		va     uint64
		is64   bool
		global uint64
		thunks int
		err    string
	}{
		{"x86 mov eax,[abs]; ret", codeAt{0x10001000: cat([]byte{0xA1}, abs(0x10003000), []byte{0xC3})}, 0x10001000, false, 0x10003000, 0, ""},
		{"x86 8B 05 form", codeAt{0x1000: cat([]byte{0x8B, 0x05}, abs(0x5000), []byte{0xC3})}, 0x1000, false, 0x5000, 0, ""},
		{"x86 hot-patch and frame", codeAt{0x1000: cat([]byte{0x8B, 0xFF, 0x55, 0x8B, 0xEC, 0xA1}, abs(0x7000), []byte{0x5D, 0xC3})}, 0x1000, false, 0x7000, 0, ""},
		{"x86 frame without pop", codeAt{0x1000: cat([]byte{0x55, 0x8B, 0xEC, 0xA1}, abs(0x7000), []byte{0xC3})}, 0x1000, false, 0, 0, "no pop ebp"},
		{"x86 no ret", codeAt{0x1000: cat([]byte{0xA1}, abs(0x7000), []byte{0x90, 0xC3})}, 0x1000, false, 0, 0, "no ret"},
		{"x86 jmp rel32 thunk", codeAt{
			0x1000: cat([]byte{0xE9}, rel(0x2000-0x1005)),
			0x2000: cat([]byte{0xA1}, abs(0x9000), []byte{0xC3}),
		}, 0x1000, false, 0x9000, 1, ""},
		{"x86 jmp [abs] thunk", codeAt{
			0x1000: cat([]byte{0xFF, 0x25}, abs(0x4000)),
			0x4000: abs(0x2000),
			0x2000: cat([]byte{0xA1}, abs(0x9000), []byte{0xC3}),
		}, 0x1000, false, 0x9000, 1, ""},
		{"x86 jmp backwards wraps in 32 bits", codeAt{
			0x10:       cat([]byte{0xE9}, rel(-0x20)),
			0xFFFFFFF5: cat([]byte{0xA1}, abs(0x9000), []byte{0xC3}),
		}, 0x10, false, 0x9000, 1, ""},
		{"x64 mov rax,[rip+rel]; ret", codeAt{0x180001000: cat([]byte{0x48, 0x8B, 0x05}, rel(0x1FF9), []byte{0xC3})}, 0x180001000, true, 0x180003000, 0, ""},
		{"x64 negative displacement", codeAt{0x180005000: cat([]byte{0x48, 0x8B, 0x05}, rel(-0x2007), []byte{0xC3})}, 0x180005000, true, 0x180003000, 0, ""},
		{"x64 jmp rel8 then rel32", codeAt{
			0x7000: cat([]byte{0xEB, 0x10}),
			0x7012: cat([]byte{0xE9}, rel(0x100)),
			0x7117: cat([]byte{0x48, 0x8B, 0x05}, rel(0x1000), []byte{0xC3}),
		}, 0x7000, true, 0x811e, 2, ""},
		{"x64 jmp [rip+rel] through a pointer", codeAt{
			0x7000:         cat([]byte{0xFF, 0x25}, rel(0x100)),
			0x7106:         le.AppendUint64(nil, 0x7ffa00001000),
			0x7ffa00001000: cat([]byte{0x48, 0x8B, 0x05}, rel(0x10), []byte{0xC3}),
		}, 0x7000, true, 0x7ffa00001017, 1, ""},
		{"x64 REX.W jmp [rip+rel]", codeAt{
			0x7000: cat([]byte{0x48, 0xFF, 0x25}, rel(0x100)),
			0x7107: le.AppendUint64(nil, 0x9000),
			0x9000: cat([]byte{0x48, 0x8B, 0x05}, rel(0x10), []byte{0xC3}),
		}, 0x7000, true, 0x9017, 1, ""},
		{"x64 other register", codeAt{0x1000: cat([]byte{0x48, 0x8B, 0x0D}, rel(0x10), []byte{0xC3})}, 0x1000, true, 0, 0, "not the expected load"},
		{"x64 code is x86's", codeAt{0x1000: cat([]byte{0xA1}, abs(0x7000), []byte{0xC3})}, 0x1000, true, 0, 0, "not the expected load"},
		{"jump loop", codeAt{0x1000: cat([]byte{0xEB, 0xFE})}, 0x1000, true, 0, 0, "more than 4 jumps"},
		{"not captured", codeAt{}, 0x1000, false, 0, 0, "not captured"},
		{"pointer of jmp not captured", codeAt{0x1000: cat([]byte{0xFF, 0x25}, abs(0x4000))}, 0x1000, false, 0, 0, "jump through the pointer at 0x4000"},
		{"short read at the end of memory", codeAt{0x1000: {0xA1, 0x00, 0x30, 0x00, 0x00, 0xC3}}, 0x1000, false, 0x3000, 0, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := modsym.DecodeGetHeapHandle(c.code.read, c.va, c.is64)
			if c.err != "" {
				if err == nil || !bytes.Contains([]byte(err.Error()), []byte(c.err)) {
					t.Fatalf("error %v, want %q (got %+v)", err, c.err, got)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.Global != c.global || len(got.Thunks) != c.thunks {
				t.Errorf("global %#x thunks %x, want %#x and %d thunks", got.Global, got.Thunks, c.global, c.thunks)
			}
			if got.Absolute == c.is64 {
				t.Errorf("Absolute = %v on is64 = %v", got.Absolute, c.is64)
			}
		})
	}
}

// TestDecodeLLD decodes the lld-built crt DLLs' _get_heap_handle from the
// files and from images mapped (and relocated) at another base, and checks the
// global against the PDB's _crtheap.
func TestDecodeLLD(t *testing.T) {
	for _, arch := range []string{"x86", "x64"} {
		t.Run(arch, func(t *testing.T) {
			file := readFixture(t, "crt-"+arch+".dll")
			f, err := pe.New(bytes.NewReader(file), int64(len(file)))
			if err != nil {
				t.Fatal(err)
			}
			d, err := f.Exports()
			if err != nil {
				t.Fatal(err)
			}
			var rva uint32
			for _, e := range d.Exports {
				if e.Name == "_get_heap_handle" {
					rva = e.RVA
				}
			}
			p, err := pdbOpen(t, "crt-"+arch+".pdb")
			if err != nil {
				t.Fatal(err)
			}
			sym, ok, err := modsym.LookupData(p, "_crtheap")
			if !ok || err != nil {
				t.Fatalf("_crtheap: %v %v", ok, err)
			}
			is64 := f.Is64()
			// From the file, in its ImageBase's addresses.
			read := func(b []byte, va uint64) error { return f.ReadRVA(b, uint32(va-f.ImageBase)) }
			got, err := modsym.DecodeGetHeapHandle(read, f.ImageBase+uint64(rva), is64)
			if err != nil {
				t.Fatal(err)
			}
			if got.Global != f.ImageBase+uint64(sym.RVA) {
				t.Errorf("from the file: global %#x, want ImageBase+%#x", got.Global, sym.RVA)
			}
			// From an image relocated to another base.
			const base = 0x5a000000
			img := mapAt(t, file, base)
			got, err = modsym.DecodeGetHeapHandle(codeAt{base: img}.read, base+uint64(rva), is64)
			if err != nil {
				t.Fatal(err)
			}
			if got.Global != base+uint64(sym.RVA) {
				t.Errorf("relocated: global %#x, want %#x", got.Global, base+uint64(sym.RVA))
			}
		})
	}
}

// FuzzDecodeGetHeapHandle feeds arbitrary code: no panic, no endless jumps,
// and a success always names a global the last code's load addresses.
func FuzzDecodeGetHeapHandle(f *testing.F) {
	f.Add([]byte{0xA1, 0, 0x30, 0, 0x10, 0xC3}, false)
	f.Add([]byte{0x48, 0x8B, 0x05, 0xF9, 0x1F, 0, 0, 0xC3}, true)
	f.Add([]byte{0xE9, 0, 0, 0, 0, 0xA1, 0, 0, 0, 0, 0xC3}, false)
	f.Add([]byte{0xFF, 0x25, 0, 0x10, 0, 0}, false)
	f.Add([]byte{0x8B, 0xFF, 0x55, 0x8B, 0xEC, 0xA1, 1, 2, 3, 4, 0x5D, 0xC3}, false)
	f.Fuzz(func(t *testing.T, code []byte, is64 bool) {
		const base = 0x1000
		reads := 0
		read := func(p []byte, va uint64) error {
			reads++
			if reads > 100 {
				t.Fatal("too many reads")
			}
			if va < base || va-base > uint64(len(code)) || uint64(len(p)) > uint64(len(code))-(va-base) {
				return errors.New("outside")
			}
			copy(p, code[va-base:])
			return nil
		}
		got, err := modsym.DecodeGetHeapHandle(read, base, is64)
		if err != nil {
			return
		}
		if len(got.Thunks) > modsym.MaxThunks {
			t.Fatalf("%d thunks followed", len(got.Thunks))
		}
		if !is64 && got.Global > 0xFFFFFFFF {
			t.Fatalf("x86 global %#x", got.Global)
		}
	})
}
