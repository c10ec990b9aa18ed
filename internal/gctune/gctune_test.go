package gctune

import (
	"bytes"
	"runtime/debug"
	"testing"

	"github.com/dumpmap/dumpmap/minidump"
	"github.com/dumpmap/dumpmap/minidump/minidumptest"
)

// TestForDump checks the limit ForDump sets from a dump's lists, and that it never
// lowers a limit already higher, nor touches one the user set.
func TestForDump(t *testing.T) {
	defer debug.SetMemoryLimit(debug.SetMemoryLimit(-1))
	defer func(a bool) { auto = a }(auto)
	regions := make([]minidump.MemoryInfo, 1000)
	for i := range regions {
		regions[i] = minidump.MemoryInfo{BaseAddress: uint64(i) << 16, RegionSize: 0x10000, State: minidump.MemFree}
	}
	b := minidumptest.New().SystemInfo(minidumptest.Windows10x64()).Region(regions...)
	for i := range 50 {
		b.Memory(uint64(i)<<20, make([]byte, 8))
	}
	data := b.Bytes()
	f, err := minidump.New(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name         string
		auto         bool
		before, want int64
	}{
		{"raised", true, Base, Base + 1000*perRegionEntry + 50*perRange},
		{"higher kept", true, 1 << 40, 1 << 40},
		{"user's limit", false, 12345678, 12345678},
	} {
		auto = tc.auto
		debug.SetMemoryLimit(tc.before)
		ForDump(f)
		if got := debug.SetMemoryLimit(-1); got != tc.want {
			t.Errorf("%s: limit %d, want %d", tc.name, got, tc.want)
		}
	}
}
