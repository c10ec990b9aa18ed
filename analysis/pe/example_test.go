package pe_test

import (
	"fmt"
	"log"

	"github.com/dumpmap/dumpmap/analysis/pe"
)

// Open a DLL on disk and read what symbol lookup needs: the CodeView record
// that names its PDB, and its exports.
func ExampleOpen() {
	f, err := pe.Open("../testdata/lld/fixture-x64.dll")
	if err != nil {
		log.Fatal(err)
	}
	defer f.Close()
	cv, err := f.CodeView()
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(cv.PDBName(), cv.GUID, cv.Age, f.LargeAddressAware())
	exp, err := f.Exports()
	if err != nil {
		log.Fatal(err)
	}
	for _, e := range exp.Exports {
		fmt.Printf("%d %q rva=%#x forwarder=%q\n", e.Ordinal, e.Name, e.RVA, e.Forwarder)
	}
	// Output:
	// fixture-x64.pdb {65FE4835-2346-7225-4C4C-44205044422E} 1 true
	// 7 "" rva=0x1020 forwarder=""
	// 8 "HeapAllocFwd" rva=0x2108 forwarder="KERNEL32.HeapAlloc"
	// 9 "add" rva=0x1000 forwarder=""
	// 10 "exported_data" rva=0x3008 forwarder=""
	// 11 "get_heap" rva=0x1010 forwarder=""
}

// Read a module as a minidump captured it: the dump's memory reader takes
// virtual addresses, and MemoryReader makes the module base offset 0.
func ExampleNewMapped() {
	var readMemory func(p []byte, va uint64) (int, error) // e.g. a minidump's ReadAt
	const base, size = 0x7ff6_1234_0000, 0x4000           // from the module list
	if readMemory == nil {
		return // no dump in this example
	}
	f, err := pe.NewMapped(pe.MemoryReader(readMemory, base), size)
	if err != nil {
		log.Fatal(err)
	}
	cv, err := f.CodeView()
	fmt.Println(cv.PDBName(), err)
}
