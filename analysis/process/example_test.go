package process_test

import (
	"fmt"
	"log"

	"github.com/dumpmap/dumpmap/analysis/process"
	"github.com/dumpmap/dumpmap/minidump"
)

// Build the process of a dump once; every fact is then read from it.
func ExampleNew() {
	f, err := minidump.Open("../../testdata/fixtures/dumps/crtheap.dmp")
	if err != nil {
		log.Fatal(err)
	}
	defer f.Close()
	p := process.New(f, process.Options{ImagePath: []string{"../../testdata/fixtures/dumps"}})
	defer p.Close()

	main, how := p.Main()
	fmt.Printf("main module: %s (%s)\n", main.FileName, how)
	fmt.Printf("%d-bit, WOW64: %v\n", p.PointerSize()*8, p.WOW64().Is)
	crt := p.CRT()
	fmt.Printf("C runtime: %s\n", crt.Kind)
	for _, a := range crt.Attempts {
		fmt.Println(" ", a.Method, "ok:", a.OK)
	}
	// Output:
	// main module: crtheap.exe (first module, an .exe)
	// 64-bit, WOW64: false
	// C runtime: static
	//   UCRT rule ok: false
	//   imports ok: true
}
