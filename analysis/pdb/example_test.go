package pdb_test

import (
	"fmt"
	"log"

	"github.com/dumpmap/dumpmap/analysis/pdb"
)

// Open a PDB, check its identity against a module's CodeView record, and
// find a global by its C name: on x86 the public carries the decorated
// "__crtheap", which Lookup also tries.
func ExampleOpen() {
	f, err := pdb.Open("../testdata/lld/fixture-x86.pdb")
	if err != nil {
		log.Fatal(err)
	}
	defer f.Close()
	fmt.Println(f.GUID, f.Age)
	syms, err := f.Lookup("_crtheap")
	if err != nil {
		log.Fatal(err)
	}
	for _, s := range syms {
		fmt.Printf("%s %s rva=%#x\n", s.Kind, s.Name, s.RVA)
	}
	// Output:
	// {3622D5D7-2E97-DBF7-4C4C-44205044422E} 1
	// S_GDATA32 _crtheap rva=0x3000
	// S_PUB32 __crtheap rva=0x3000
}

// List the functions among the publics.
func ExampleFile_Publics() {
	f, err := pdb.Open("../testdata/lld/fixture-x64.pdb")
	if err != nil {
		log.Fatal(err)
	}
	defer f.Close()
	pubs, err := f.Publics()
	if err != nil {
		log.Fatal(err)
	}
	for _, p := range pubs {
		if p.Flags&pdb.PublicFunction != 0 {
			fmt.Printf("%#x %s\n", p.RVA, p.Name)
		}
	}
	// Unordered output:
	// 0x1000 add
	// 0x1010 get_heap
	// 0x1020 hidden
	// 0x1030 _DllMainCRTStartup
}

// Name the function and source line of an address, and get the x86 unwind
// record for it (give it to breakpad.UnwindWin).
func ExampleFile_FunctionAt() {
	f, err := pdb.Open("../testdata/lld/fixture-x86.pdb")
	if err != nil {
		log.Fatal(err)
	}
	defer f.Close()
	p, ok := f.FunctionAt(0x1012)
	if !ok {
		log.Fatal("no function")
	}
	fmt.Printf("%s+%#x (%s, %d bytes)\n", p.Name, 0x1012-p.RVA, p.KindName(), p.Size)
	if w, ok := f.WinFrameAt(0x1012); ok {
		fmt.Printf("%v record, %d bytes of parameters: %s\n", w.Type, w.ParamSize, w.Program)
	}
	// Output:
	// get_heap+0x2 (S_GPROC32, 6 bytes)
	// FrameData record, 0 bytes of parameters: $T0 .raSearch = $eip $T0 ^ = $esp $T0 4 + =
}
