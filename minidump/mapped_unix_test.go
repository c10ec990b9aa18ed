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
	f, p := openWritten(t, data)
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

// openWritten writes data to a file and opens it (mapped: tests give it 1 MiB or
// more), closed when t ends; it returns the file's path too.
func openWritten(t *testing.T, data []byte) (*minidump.File, string) {
	t.Helper()
	p := filepath.Join(t.TempDir(), "big.dmp")
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := minidump.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f, p
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
	f, p := openWritten(t, data)
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

// FuzzMappedLists decodes the lists read in place from a mapped file (modules
// with their names and CodeView records, the memory list, the MemoryInfoList)
// from a file and from the same bytes in memory, and wants the same values and
// errors. The input is padded with zeros to the size from which Open maps a
// file.
func FuzzMappedLists(f *testing.F) {
	addSeeds(f, minidump.StreamModuleList)
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte) {
		padded := make([]byte, max(len(data), 1<<20)) // the input is the fuzzer's: not appended to
		copy(padded, data)
		// The file: the input, then a hole up to the size (writing the zeros made
		// each run a millisecond and minimising an input minutes).
		p := filepath.Join(dir, "fuzz.dmp")
		fh, err := os.Create(p)
		if err == nil {
			if err = fh.Truncate(int64(len(padded))); err == nil {
				_, err = fh.WriteAt(data, 0)
			}
			if cerr := fh.Close(); err == nil {
				err = cerr
			}
		}
		if err != nil {
			t.Fatal(err)
		}
		data = padded
		mapped, err1 := minidump.Open(p)
		mem, err2 := minidump.New(bytes.NewReader(data), int64(len(data)))
		if (err1 == nil) != (err2 == nil) {
			t.Fatalf("Open: %v, New: %v", err1, err2)
		}
		if err1 != nil {
			return
		}
		defer mapped.Close()
		same := func(what string, a, b any, ea, eb error) {
			t.Helper()
			if !reflect.DeepEqual(a, b) {
				t.Fatalf("%s: mapped %+v, in memory %+v", what, a, b)
			}
			if fmt.Sprint(ea) != fmt.Sprint(eb) {
				t.Fatalf("%s: mapped error %v, in memory %v", what, ea, eb)
			}
		}
		m1, e1 := mapped.Modules()
		m2, e2 := mem.Modules()
		same("Modules", m1, m2, e1, e2)
		r1, e1 := mapped.MemoryList()
		r2, e2 := mem.MemoryList()
		same("MemoryList", r1, r2, e1, e2)
		i1, e1 := mapped.MemoryInfo()
		i2, e2 := mem.MemoryInfo()
		same("MemoryInfo", i1, i2, e1, e2)
	})
}
