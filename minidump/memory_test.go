package minidump_test

import (
	"bytes"
	"errors"
	"math"
	"reflect"
	"testing"

	"github.com/dumpmap/dumpmap/minidump"
	mdt "github.com/dumpmap/dumpmap/minidump/minidumptest"
)

func fill(c byte, n int) []byte { return bytes.Repeat([]byte{c}, n) }

// memoryDump has, by address: A [0x1000,0x1010) in the MemoryList, B [0x1010,0x1020)
// adjacent to it but in the Memory64List, a gap, C [0x1030,0x1040), then D
// [0x2000,0x2010) (MemoryList) overlapped by E [0x2008,0x2018) (Memory64List), F
// [0x3000,0x3004) wholly inside G [0x2ffc,0x3010), and an empty range.
func memoryDump() []byte {
	return mdt.New().
		Memory(0x1000, fill('A', 16)).Memory(0x1030, fill('C', 16)).Memory(0x2000, fill('D', 16)).
		Memory(0x3000, fill('F', 4)).Memory(0x5000, nil).
		Memory64(0x1010, fill('B', 16)).Memory64(0x2008, fill('E', 16)).Memory64(0x2ffc, fill('G', 20)).
		Bytes()
}

func TestMemoryReadAt(t *testing.T) {
	f := parse(t, memoryDump())
	mem, err := f.Memory()
	if err != nil {
		t.Fatal(err)
	}
	cat := func(parts ...[]byte) []byte { return bytes.Join(parts, nil) }
	z := func(n int) []byte { return make([]byte, n) }
	tests := []struct {
		name    string
		va      uint64
		n       int
		want    []byte
		missing []minidump.AddrRange
	}{
		{"within-one", 0x1004, 8, fill('A', 8), nil},
		{"across-lists", 0x1000, 32, cat(fill('A', 16), fill('B', 16)), nil},
		{"across-gap", 0x1008, 0x30, cat(fill('A', 8), fill('B', 16), z(16), fill('C', 8)), []minidump.AddrRange{{0x1020, 0x1030}}},
		{"before-first", 0xff0, 0x14, cat(z(16), fill('A', 4)), []minidump.AddrRange{{0xff0, 0x1000}}},
		{"after-last-of-run", 0x1038, 0x18, cat(fill('C', 8), z(16)), []minidump.AddrRange{{0x1040, 0x1050}}},
		{"three-holes", 0xff0, 0x60, cat(z(16), fill('A', 16), fill('B', 16), z(16), fill('C', 16), z(16)),
			[]minidump.AddrRange{{0xff0, 0x1000}, {0x1020, 0x1030}, {0x1040, 0x1050}}},
		{"nothing", 0x4000, 16, z(16), []minidump.AddrRange{{0x4000, 0x4010}}},
		{"empty-range", 0x5000, 1, z(1), []minidump.AddrRange{{0x5000, 0x5001}}},
		{"zero-length", 0x1000, 0, []byte{}, nil},
		// Overlaps: the range with the lower start wins, the other keeps its tail.
		{"overlap", 0x2000, 0x18, cat(fill('D', 16), fill('E', 8)), nil},
		{"contained", 0x2ffc, 20, fill('G', 20), nil},
		{"top-of-space", math.MaxUint64 - 3, 3, z(3), []minidump.AddrRange{{math.MaxUint64 - 3, math.MaxUint64}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := fill(0xcc, tc.n) // garbage that must be overwritten
			n, err := mem.ReadAt(p, tc.va)
			if !bytes.Equal(p, tc.want) {
				t.Errorf("bytes\n got %q\nwant %q", p, tc.want)
			}
			captured := tc.n
			for _, m := range tc.missing {
				captured -= int(m.End - m.Start)
			}
			if n != captured {
				t.Errorf("n = %d, want %d", n, captured)
			}
			var me *minidump.MissingMemoryError
			if tc.missing == nil {
				if err != nil {
					t.Errorf("err = %v", err)
				}
				if !mem.Contains(tc.va, uint64(tc.n)) {
					t.Error("Contains = false")
				}
				return
			}
			if !errors.As(err, &me) {
				t.Fatalf("err = %v, want *MissingMemoryError", err)
			}
			if me.Addr != tc.va || me.Len != uint64(tc.n) || !reflect.DeepEqual(me.Missing, tc.missing) {
				t.Errorf("MissingMemoryError = %+v, want missing %v", me, tc.missing)
			}
			if mem.Contains(tc.va, uint64(tc.n)) {
				t.Error("Contains = true")
			}
			// Read gives the same.
			got, err2 := mem.Read(tc.va, tc.n)
			if !bytes.Equal(got, tc.want) || err2 == nil || err2.Error() != err.Error() {
				t.Errorf("Read = %q, %v", got, err2)
			}
		})
	}

	_, err = mem.ReadAt(make([]byte, 0x30), 0x1008)
	if want := "minidump: memory 0x1008+0x30: 16 bytes not captured in the dump (0x1020-0x1030)"; err == nil || err.Error() != want {
		t.Errorf("message %q, want %q", err, want)
	}
	_, err = mem.ReadAt(make([]byte, 0x8000), 0)
	if want := "minidump: memory 0x0+0x8000: 32676 bytes not captured in the dump (0x0-0x1000, 0x1020-0x1030, 0x1040-0x2000, 0x2018-0x2ffc, and 1 more)"; err == nil || err.Error() != want {
		t.Errorf("message %q\n want %q", err, want)
	}
}

// A read that would run past the top of the address space zeroes all of p.
func TestMemoryReadAtTopOfSpace(t *testing.T) {
	mem, err := parse(t, memoryDump()).Memory()
	if err != nil {
		t.Fatal(err)
	}
	p := fill(0xcc, 8)
	n, err := mem.ReadAt(p, math.MaxUint64-3)
	if n != 0 || err == nil || !bytes.Equal(p, make([]byte, 8)) {
		t.Errorf("ReadAt near 2^64 = %d, %v, %x", n, err, p)
	}
}

func TestMemoryHelpers(t *testing.T) {
	mem, err := parse(t, memoryDump()).Memory()
	if err != nil {
		t.Fatal(err)
	}
	type r struct{ start, size uint64 }
	var got []r
	for _, x := range mem.Ranges() {
		got = append(got, r{x.Start, x.Size})
		if x.Available != x.Size {
			t.Errorf("range %+v not fully available", x)
		}
	}
	want := []r{{0x1000, 16}, {0x1010, 16}, {0x1030, 16}, {0x2000, 16}, {0x2010, 8}, {0x2ffc, 20}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Ranges = %x, want %x", got, want)
	}
	if mem.TotalSize() != 16*4+8+20 {
		t.Errorf("TotalSize = %d", mem.TotalSize())
	}
	if c := mem.Covering(0x100c, 0x30); len(c) != 3 || c[0].Start != 0x1000 || c[2].Start != 0x1030 {
		t.Errorf("Covering = %+v", c)
	}
	if c := mem.Covering(0x1020, 0x10); len(c) != 0 {
		t.Errorf("Covering(hole) = %+v", c)
	}
	if v, err := mem.ReadUint32(0x100e); err != nil || v != 0x42424141 {
		t.Errorf("ReadUint32 = %#x, %v", v, err)
	}
	if v, err := mem.ReadUint64(0x2004); err != nil || v != 0x4444444444444444 {
		t.Errorf("ReadUint64 = %#x, %v", v, err)
	}
	if v, err := mem.ReadPointer(0x200c, 8); err != nil || v != 0x4545454544444444 {
		t.Errorf("ReadPointer(8) = %#x, %v", v, err)
	}
	if v, err := mem.ReadPointer(0x1020, 4); err == nil || v != 0 {
		t.Errorf("ReadPointer(hole) = %#x, %v", v, err)
	}
	if _, err := mem.Read(0, 64<<20+1); err == nil {
		t.Error("Read over 64 MiB accepted")
	}
	if _, err := mem.Read(0, -1); err == nil {
		t.Error("Read of -1 bytes accepted")
	}
}

// A full-memory dump cut short: the ranges whose data is gone are reported exactly.
func TestMemoryTruncatedMemory64(t *testing.T) {
	full := mdt.New().Memory64(0x10000, fill('a', 0x100)).Memory64(0x20000, fill('b', 0x100)).Memory64(0x30000, fill('c', 0x100)).Bytes()
	data := full[:len(full)-0x180] // all of c, half of b
	f := parse(t, data)
	rs, err := f.Memory64List()
	if len(rs) != 3 || err == nil {
		t.Fatalf("Memory64List = %+v, %v", rs, err)
	}
	if rs[0].Available != 0x100 || rs[1].Available != 0x80 || rs[2].Available != 0 {
		t.Errorf("available = %d %d %d", rs[0].Available, rs[1].Available, rs[2].Available)
	}
	if want := "range 1 (0x20000+0x100) and those after it extend past the end of the file"; !bytes.Contains([]byte(err.Error()), []byte(want)) {
		t.Errorf("err = %v", err)
	}
	checkErrKinds(t, "Memory64List", err, false)
	mem, err := f.Memory()
	if err == nil {
		t.Error("Memory() hid the damage")
	}
	p := make([]byte, 0x20100-0x10000)
	_, err = mem.ReadAt(p, 0x10000)
	var me *minidump.MissingMemoryError
	if !errors.As(err, &me) || !reflect.DeepEqual(me.Missing, []minidump.AddrRange{{0x10100, 0x20000}, {0x20080, 0x20100}}) {
		t.Errorf("missing = %v", err)
	}
	if !bytes.Equal(p[:0x100], fill('a', 0x100)) || !bytes.Equal(p[0x10000:0x10080], fill('b', 0x80)) {
		t.Error("captured bytes wrong")
	}
	_, err = mem.ReadAt(make([]byte, 0x10), 0x30000)
	if !errors.As(err, &me) || !reflect.DeepEqual(me.Missing, []minidump.AddrRange{{0x30000, 0x30010}}) {
		t.Errorf("missing = %v", err)
	}
}

// A reader that fails is reported as is, not as missing memory.
func TestMemoryReadError(t *testing.T) {
	data := mdt.New().Memory(0x1000, fill('A', 16)).Bytes()
	at := int64(bytes.Index(data, fill('A', 16)))
	f, err := minidump.New(&failingReader{bytes.NewReader(data), at}, int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	mem, err := f.Memory()
	if err != nil {
		t.Fatal(err)
	}
	_, err = mem.ReadAt(make([]byte, 16), 0x1000)
	var me *minidump.MissingMemoryError
	if err == nil || errors.As(err, &me) || !errors.Is(err, errBroken) {
		t.Errorf("err = %v", err)
	}
}

var errBroken = errors.New("disk on fire")

// failingReader fails reads that start at offset at.
type failingReader struct {
	r  *bytes.Reader
	at int64
}

func (f *failingReader) ReadAt(p []byte, off int64) (int, error) {
	if off == f.at {
		return 0, errBroken
	}
	return f.r.ReadAt(p, off)
}

// A read that runs past 2^64 cannot be complete: the bytes past the top are missing
// even when every address below it was captured.
func TestMemoryReadAtPastTopIsShort(t *testing.T) {
	data := mdt.New().Memory64(math.MaxUint64-16, fill('z', 16)).Bytes()
	mem, err := parse(t, data).Memory()
	if err != nil || len(mem.Ranges()) != 1 {
		t.Fatalf("ranges %+v, %v", mem.Ranges(), err)
	}
	p := fill(0xcc, 8)
	n, err := mem.ReadAt(p, math.MaxUint64-4)
	if n != 4 || err == nil || !bytes.Equal(p, append(fill('z', 4), 0, 0, 0, 0)) {
		t.Errorf("ReadAt across 2^64 = %d, %v, %x; want 4 bytes and an error", n, err, p)
	}
	if want := "minidump: memory 0xfffffffffffffffb+0x8: the read runs past the top of the address space"; err == nil || err.Error() != want {
		t.Errorf("message %q, want %q", err, want)
	}
}
