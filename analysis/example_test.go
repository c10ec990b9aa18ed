package analysis_test

import (
	"bytes"
	"fmt"
	"strings"

	"github.com/dumpmap/dumpmap/analysis/process"

	"github.com/dumpmap/dumpmap/analysis"
	"github.com/dumpmap/dumpmap/minidump"
	"github.com/dumpmap/dumpmap/minidump/minidumptest"
)

// A 32-bit process whose space holds two one-page reservations: the 60 KB after
// each is free but unusable.
func exampleDump() *minidump.File {
	b := minidumptest.New().SystemInfo(minidumptest.Windows7x86()).Region(
		minidump.MemoryInfo{BaseAddress: 0, RegionSize: 0x10000, State: minidump.MemFree},
		minidump.MemoryInfo{BaseAddress: 0x10000, AllocationBase: 0x10000, RegionSize: 0x1000, State: minidump.MemCommit, Type: minidump.MemPrivate, Protect: minidump.PageReadWrite, AllocationProtect: minidump.PageReadWrite},
		minidump.MemoryInfo{BaseAddress: 0x11000, RegionSize: 0xf000, State: minidump.MemFree},
		minidump.MemoryInfo{BaseAddress: 0x20000, AllocationBase: 0x20000, RegionSize: 0x1000, State: minidump.MemCommit, Type: minidump.MemPrivate, Protect: minidump.PageReadWrite, AllocationProtect: minidump.PageReadWrite},
		minidump.MemoryInfo{BaseAddress: 0x21000, RegionSize: 0x7ffcf000, State: minidump.MemFree},
	)
	data := b.Bytes()
	f, _ := minidump.New(bytes.NewReader(data), int64(len(data)))
	return f
}

func ExampleNewMap() {
	f := exampleDump()
	m, err := analysis.NewMap(process.New(f, process.Options{}), analysis.Options{})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, r := range m.Regions[:5] {
		fmt.Println(strings.TrimSpace(fmt.Sprintf("0x%08x %8d %-10v %s", r.Base, r.Size, r.Usage, m.Describe(&r))))
	}
	st := m.FreeStats()
	fmt.Printf("largest usable free block: %#x, %d bytes; unusable: %d bytes\n", st.LargestUsable.UsableBase, st.LargestUsable.UsableSize, st.Unusable)
	// Output:
	// 0x00000000    65536 Unusable   below the lowest allocatable address 0x10000
	// 0x00010000     4096 Private
	// 0x00011000    61440 Unusable   60 KiB below the next 64 KiB boundary
	// 0x00020000     4096 Private
	// 0x00021000    61440 Unusable   60 KiB below the next 64 KiB boundary
	// largest usable free block: 0x30000, 2147221504 bytes; unusable: 188416 bytes
}

func ExampleMap_Explain() {
	m, _ := analysis.NewMap(process.New(exampleDump(), process.Options{}), analysis.Options{})
	x := m.Explain(analysis.Request{Size: 50 << 10, Via: analysis.ViaVirtualAlloc, Below: 0x30000})
	fmt.Println(x.Verdict)
	// The steps are values: a program finds the one it wants by its type.
	for _, st := range x.Steps {
		if nf, ok := st.(analysis.NoFitStep); ok {
			fmt.Printf("need %d bytes, %d free in %d runs, largest usable block %d\n", nf.Need, nf.Free, nf.Runs, nf.Largest.UsableSize)
			fmt.Println(nf.Text())
		}
	}
	// Output:
	// fail
	// need 53248 bytes, 188416 free in 3 runs, largest usable block 0
	// it does not fit: the address space below 0x30000 has 184 KiB free in 3 runs, but no run holds a 64 KiB-aligned block of 52 KiB; the largest 64 KiB-aligned free block: none: not one such block is left
}
