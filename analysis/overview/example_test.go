package overview_test

import (
	"bytes"
	"fmt"

	"github.com/dumpmap/dumpmap/analysis/process"

	"github.com/dumpmap/dumpmap/analysis/overview"
	"github.com/dumpmap/dumpmap/minidump"
	"github.com/dumpmap/dumpmap/minidump/minidumptest"
)

// Describe a dump and act on what its capture implies.
func Example() {
	// A crash dump as many crash reporters write it: modules, a thread list and a
	// little memory, but no region map and no full memory.
	data := minidumptest.New().
		SystemInfo(minidumptest.Windows7x86()).
		Module(minidumptest.Module{Base: 0x400000, Size: 0x2d000, Name: `c:\test_app.exe`, Version: [4]uint16{1, 0, 0, 3}}).
		Memory(0x12f31c, make([]byte, 0x100)).
		Exception(3060, minidump.ExceptionAccessViolation, 0x40429e, 1, 0x45).
		Bytes()
	f, err := minidump.New(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		panic(err)
	}
	o := overview.Of(process.New(f, process.Options{}))
	fmt.Println(o.System.OS, o.System.Arch)
	fmt.Println(o.MainModule.Name, o.MainModule.FileVersion)
	fmt.Println(o.Exception.Signature)
	if o.Has(overview.FindingNoMemoryInfo) {
		fmt.Println("the region map will be partial")
	}
	for _, f := range o.Findings {
		fmt.Println(f.ID)
	}
	// Output:
	// Windows 7 6.1.7601 (Service Pack 1) x86
	// test_app.exe 1.0.0.3
	// EXCEPTION_ACCESS_VIOLATION test_app.exe+0x429e
	// the region map will be partial
	// no-memory-info
	// no-full-memory
	// no-system-memory-info
	// no-vm-counters
	// no-unloaded-modules
}
