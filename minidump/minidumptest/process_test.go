package minidumptest_test

import (
	"bytes"
	"encoding/binary"
	"os"
	"testing"

	"github.com/dumpmap/dumpmap/minidump"
	"github.com/dumpmap/dumpmap/minidump/minidumptest"
)

// TestProcessHeaps reads the PEB chain back the way the heap analysis walks it.
func TestProcessHeaps(t *testing.T) {
	for _, x64 := range []bool{false, true} {
		teb, peb, ptr, pebOff, heapOff, numOff, arrOff := uint64(0x7ffde000), uint64(0x7ffdf000), 4, uint64(0x30), uint64(0x18), uint64(0x88), uint64(0x90)
		if x64 {
			teb, peb, ptr, pebOff, heapOff, numOff, arrOff = 0x7ff5ffde000, 0x7ff5ffdf000, 8, 0x60, 0x30, 0xe8, 0xf0
		}
		data := minidumptest.New().ProcessHeaps(x64, 7, teb, peb, 0x500000, 0xa10000).NTHeapHeader(x64, 0x500000, 2).Bytes()
		f, err := minidump.New(bytes.NewReader(data), int64(len(data)))
		if err != nil {
			t.Fatal(err)
		}
		th, _ := f.Threads()
		mem, _ := f.Memory()
		if len(th) != 1 || th[0].TEB != teb {
			t.Fatalf("threads %+v", th)
		}
		p, _ := mem.ReadPointer(teb+pebOff, ptr)
		h, _ := mem.ReadPointer(p+heapOff, ptr)
		n, _ := mem.ReadUint32(p + numOff)
		arr, _ := mem.ReadPointer(p+arrOff, ptr)
		h2, _ := mem.ReadPointer(arr+uint64(ptr), ptr)
		sig, _ := mem.ReadUint32(0x500000 + uint64(2*ptr))
		if p != peb || h != 0x500000 || n != 2 || h2 != 0xa10000 || sig != 0xFFEEFFEE {
			t.Errorf("x64=%v: peb %#x heap %#x n %d second %#x sig %#x", x64, p, h, n, h2, sig)
		}
	}
}

// TestMapImage maps the lld x86 DLL at another base: its one relocation (the
// address of _crtheap in _get_heap_handle's code) moves with it.
func TestMapImage(t *testing.T) {
	file, err := os.ReadFile("../../analysis/testdata/lld/crt-x86.dll")
	if err != nil {
		t.Skip(err)
	}
	img, err := minidumptest.MapImage(file, 0x6f000000)
	if err != nil {
		t.Fatal(err)
	}
	// llvm-objdump: 10001000: a1 00 30 00 10  movl 0x10003000, %eax
	if img[0x1000] != 0xA1 || binary.LittleEndian.Uint32(img[0x1001:]) != 0x6f003000 {
		t.Errorf("code % x", img[0x1000:0x1006])
	}
	same, err := minidumptest.MapImage(file, 0x10000000)
	if err != nil || binary.LittleEndian.Uint32(same[0x1001:]) != 0x10003000 {
		t.Errorf("at ImageBase: %v % x", err, same[0x1000:0x1006])
	}
	if _, err := minidumptest.MapImage([]byte("MZ not a PE"), 0); err == nil {
		t.Error("garbage mapped")
	}
}
