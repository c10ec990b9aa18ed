//go:build unix

package minidump_test

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/dumpmap/dumpmap/minidump"
	"github.com/dumpmap/dumpmap/minidump/minidumptest"
)

// TestMappedFileTruncated: a dump large enough to be mapped that is truncated
// while it is open gives errors, never a crash: ErrFileChanged for a list decoded
// in place, the short read's for a read; before the truncation it reads as the
// bytes in memory do.
func TestMappedFileTruncated(t *testing.T) {
	regions := make([]minidump.MemoryInfo, 40000) // 1.9 MB: mapped
	for i := range regions {
		regions[i] = minidump.MemoryInfo{BaseAddress: uint64(i) << 16, RegionSize: 0x10000, State: minidump.MemCommit, Type: minidump.MemPrivate}
	}
	data := minidumptest.New().SystemInfo(minidumptest.Windows10x64()).Region(regions...).Bytes()
	p := filepath.Join(t.TempDir(), "big.dmp")
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := minidump.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	got, err := f.MemoryInfo()
	if err != nil || len(got) != len(regions) || got[len(got)-1].BaseAddress != regions[len(regions)-1].BaseAddress {
		t.Fatalf("before the truncation: %d entries, %v", len(got), err)
	}
	buf := make([]byte, 64)
	if _, err := f.ReaderAt().ReadAt(buf, int64(len(data))-64); err != nil {
		t.Fatalf("ReadAt before the truncation: %v", err)
	}
	if err := os.Truncate(p, 4096); err != nil {
		t.Fatal(err)
	}
	if _, err := f.ReaderAt().ReadAt(buf, 1<<20); err == nil { // a block not cached before
		t.Errorf("ReadAt after the truncation: no error")
	}
	if _, err := f.MemoryInfo(); !errors.Is(err, minidump.ErrFileChanged) {
		t.Errorf("MemoryInfo after the truncation: %v, want ErrFileChanged", err)
	}
}

// TestMappedListsInPlace: the module list and the memory list of a mapped dump,
// decoded where they lie in the mapping, read as they do from the bytes in
// memory; once the file is truncated under them they give an error, never a
// crash.
func TestMappedListsInPlace(t *testing.T) {
	b := minidumptest.New().SystemInfo(minidumptest.Windows10x64())
	for i := range 12000 { // 1.3 MB of module list: mapped
		name := fmt.Sprintf(`C:\Program Files\App\plugins\plugin%05d.dll`, i)
		var cv []byte
		if i%3 == 0 {
			cv = minidumptest.RSDS(minidump.GUID{byte(i), byte(i >> 8)}, uint32(i), fmt.Sprintf("plugin%05d.pdb", i))
		}
		b.Module(minidumptest.Module{Base: 0x10000000 + uint64(i)<<16, Size: 0x8000, Name: name, Time: uint32(i), CodeView: cv})
	}
	for i := range 300 {
		b.Memory(0x7f0000000000+uint64(i)<<12, bytes.Repeat([]byte{byte(i)}, 64))
	}
	data := b.Bytes()
	p := filepath.Join(t.TempDir(), "modules.dmp")
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := minidump.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	ref, err := minidump.New(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	mods, err := f.Modules()
	want, werr := ref.Modules()
	if err != nil || werr != nil || len(mods) != 12000 || !reflect.DeepEqual(mods, want) {
		t.Fatalf("mapped: %d modules (%v), from memory %d (%v), equal %v", len(mods), err, len(want), werr, reflect.DeepEqual(mods, want))
	}
	if mods[11999].Name != `C:\Program Files\App\plugins\plugin11999.dll` || mods[3].CodeView == nil || mods[3].CodeView.PDBName() != "plugin00003.pdb" {
		t.Fatalf("module 11999 %q, module 3 CodeView %+v", mods[11999].Name, mods[3].CodeView)
	}
	ranges, err := f.MemoryList()
	wantRanges, werr := ref.MemoryList()
	if err != nil || werr != nil || len(ranges) != 300 || !reflect.DeepEqual(ranges, wantRanges) {
		t.Fatalf("mapped: %d ranges (%v), from memory %d (%v)", len(ranges), err, len(wantRanges), werr)
	}
	if err := os.Truncate(p, 4096); err != nil {
		t.Fatal(err)
	}
	// The list's first entries lie in the page that is left, the rest fault.
	if mods, err := f.Modules(); !errors.Is(err, minidump.ErrFileChanged) {
		t.Errorf("Modules after the truncation: %d modules, %v, want ErrFileChanged", len(mods), err)
	}
}
