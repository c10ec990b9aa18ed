package pe

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/dumpmap/dumpmap/analysis/internal/sharedtest"
)

// unwindSeedImages are the images whose exception directories seed the fuzzers.
func unwindSeedImages() []string {
	seeds := []string{unwindDir + "/unwind-x64.dll", unwindDir + "/unwind-arm64.dll"}
	if d, ok := sharedtest.Find(); ok {
		seeds = append(seeds, filepath.Join(d, "images/CrashWithException.exe"))
	}
	return seeds
}

// FuzzUnwindInfo decodes arbitrary bytes as an x64 UNWIND_INFO. Seeds: every
// UNWIND_INFO of the test images.
func FuzzUnwindInfo(f *testing.F) {
	for _, p := range unwindSeedImages() {
		b, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		pf, err := New(bytes.NewReader(b), int64(len(b)))
		if err != nil || pf.Machine != MachineAMD64 {
			continue
		}
		tab, _ := pf.ExceptionTable()
		if tab == nil {
			continue
		}
		for _, e := range tab.Entries {
			buf := make([]byte, unwindInfoMax)
			if err := pf.ReadRVA(buf, e.UnwindData); err != nil {
				buf = buf[:64]
				pf.ReadRVA(buf, e.UnwindData)
			}
			f.Add(buf)
		}
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		u, err := DecodeUnwindInfo(b)
		if err != nil {
			return
		}
		if u.Size > len(b) {
			t.Fatalf("Size %d past the %d bytes", u.Size, len(b))
		}
		for _, c := range u.Codes {
			_ = c.String()
		}
	})
}

// FuzzARM64Xdata decodes arbitrary bytes as an .xdata record and asks for the
// codes at several offsets. Seeds: the test DLL's records and the documentation's
// examples.
func FuzzARM64Xdata(f *testing.F) {
	f.Add([]byte{0x3d, 0x00, 0x40, 0x10, 0x38, 0x00, 0x00, 0x01, 0xe1, 0x91, 0x22, 0xe4, 0xe1, 0x91, 0x22, 0xe4}, uint32(0))
	f.Add([]byte{0x12, 0x00, 0x40, 0x18, 0x0f, 0x00, 0x00, 0x02, 0xe3, 0xe3, 0xe3, 0xe3, 0xd6, 0x00, 0x05, 0xe4, 0xd6, 0x00, 0x05, 0xe4}, uint32(12))
	if b, err := os.ReadFile(unwindDir + "/unwind-arm64.dll"); err == nil {
		if pf, err := New(bytes.NewReader(b), int64(len(b))); err == nil {
			if tab, _ := pf.ExceptionTable(); tab != nil {
				for _, e := range tab.Entries {
					if e.ARM64Flag() != 0 {
						continue
					}
					buf := make([]byte, 128)
					if pf.ReadRVA(buf, e.UnwindData) == nil {
						f.Add(buf, uint32(8))
					}
				}
			}
		}
	}
	f.Fuzz(func(t *testing.T, b []byte, off uint32) {
		u, err := DecodeARM64Xdata(b)
		if err != nil {
			return
		}
		for _, o := range []uint32{0, off, u.FunctionLength / 2, u.FunctionLength - 4} {
			cs, _, _, _ := u.UnwindCodes(o)
			if len(cs) > maxARM64Codes {
				t.Fatalf("%d codes", len(cs))
			}
		}
	})
}

// FuzzARM64Packed decodes arbitrary packed unwind words.
func FuzzARM64Packed(f *testing.F) {
	for _, w := range []uint32{0x416101ed, 0x0040002d, 2 | 10<<2 | 2<<16 | 3<<21 | 4<<23} {
		f.Add(w, uint32(8))
	}
	f.Fuzz(func(t *testing.T, w, off uint32) {
		u, err := DecodeARM64Packed(w)
		if err != nil {
			return
		}
		u.UnwindCodes(off)
	})
}

// FuzzExceptionTable reads the exception directory of arbitrary images in both
// layouts, looks up addresses and decodes the unwind data found.
func FuzzExceptionTable(f *testing.F) {
	for _, p := range unwindSeedImages() {
		b, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		f.Add(b, false, uint32(0x1010))
		f.Add(mapImage(f, b), true, uint32(0x1010))
	}
	f.Fuzz(func(t *testing.T, data []byte, mapped bool, rva uint32) {
		l := LayoutFile
		if mapped {
			l = LayoutMapped
		}
		pf, err := newFile(bytes.NewReader(data), int64(len(data)), l)
		if err != nil {
			return
		}
		tab, err := pf.ExceptionTable()
		if err != nil || tab == nil {
			return
		}
		for i, probe := range []uint32{rva, rva + 16} {
			fn, _, ok, _ := tab.Lookup(probe)
			if !ok {
				continue
			}
			if tab.Machine == MachineAMD64 {
				if u, err := pf.UnwindInfo(fn.UnwindData); err == nil && u.Chained != nil && i == 0 {
					pf.UnwindInfo(u.Chained.UnwindData)
				}
			} else if u, err := pf.ARM64Unwind(fn); err == nil {
				u.UnwindCodes(probe - fn.Begin)
			}
		}
	})
}
