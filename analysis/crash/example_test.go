package crash_test

import (
	"bytes"
	"fmt"
	"log"

	"github.com/dumpmap/dumpmap/analysis/process"

	"github.com/dumpmap/dumpmap/analysis/crash"
	"github.com/dumpmap/dumpmap/minidump"
	"github.com/dumpmap/dumpmap/minidump/minidumptest"
)

// Decode a STATUS_NO_MEMORY record raised by HeapAlloc: the parameter is the size
// of the heap block that could not be allocated.
func ExampleDecode() {
	c := crash.Decode(crash.Input{
		Exception: &minidump.Exception{Code: 0xC0000017, Address: 0x7ff8_1000_2345, Parameters: []uint64{0x100010}},
		Platform:  minidump.PlatformWindows,
		Modules:   []minidump.Module{{Base: 0x7ff8_1000_0000, Size: 0x10_0000, Name: `C:\Windows\System32\ntdll.dll`}},
	})
	fmt.Println(c.Summary())
	for _, e := range c.Evidence {
		fmt.Println(e.Kind, e.Text[0])
	}
	// Output:
	// STATUS_NO_MEMORY at ntdll.dll+0x2345: heap block size (the request plus the heap entry header, rounded up) 1048592 bytes (0x100010)
	// out of memory: STATUS_NO_MEMORY: HeapAlloc (RtlAllocateHeap) failed on a heap or call with HEAP_GENERATE_EXCEPTIONS
	// code exception code 0xc0000017: STATUS_NO_MEMORY
	// parameter parameter 0: heap block size 1048592 bytes (0x100010)
	// verdict out of memory
}

// Decode the exception of a dump file: here a synthetic dump of a Chromium
// process that ran out of memory.
func ExampleOf() {
	data := minidumptest.New().SystemInfo(minidumptest.Windows10x64()).
		Module(minidumptest.Module{Base: 0x7ffb_0000_0000, Size: 0x100_0000, Name: `C:\app\chrome.dll`}).
		Exception(42, 0xE0000008, 0x7ffb_0012_3456, 64<<20).Bytes()
	f, err := minidump.New(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		log.Fatal(err)
	}
	c, err := crash.Of(process.New(f, process.Options{}))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(c.Summary())
	fmt.Println(c.OOM, c.Size.Bytes, c.Size.What)
	// Output:
	// Chromium out of memory (0xE0000008) at chrome.dll+0x123456: requested size 67108864 bytes (0x4000000)
	// out of memory: Chromium out of memory (0xE0000008): Chromium's (and Electron's, PDFium's) allocator could not allocate and ended the process
	// true 67108864 requested size
}

func ExampleDemangleMSVC() {
	for _, n := range []string{".?AVbad_alloc@std@@", ".?AV?$vector@HV?$allocator@H@std@@@std@@", ".PEAVexception@std@@"} {
		t := crash.DemangleMSVC(n)
		fmt.Println(t.Name, t.Kind)
	}
	// Output:
	// std::bad_alloc class
	// std::vector<int,std::allocator<int>> class
	// std::exception* pointer
}

func ExampleDemangleItanium() {
	fmt.Println(crash.DemangleItanium("St9bad_alloc").Name)
	fmt.Println(crash.DemangleItanium("NSt7__cxx1112basic_stringIcSt11char_traitsIcESaIcEEE").Name)
	// Output:
	// std::bad_alloc
	// std::__cxx11::basic_string<char,std::char_traits<char>,std::allocator<char>>
}
