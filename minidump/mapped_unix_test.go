//go:build unix

package minidump_test

import (
	"errors"
	"os"
	"path/filepath"
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
