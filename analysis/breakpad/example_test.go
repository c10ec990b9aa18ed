package breakpad_test

import (
	"fmt"
	"log"

	"github.com/dumpmap/dumpmap/analysis/breakpad"
)

// Name an address of a module from its Breakpad symbol file.
func ExampleFile_Lookup() {
	f, err := breakpad.Open("testdata/cfi-x64/prog.sym")
	if err != nil {
		log.Fatal(err)
	}
	s, ok := f.Lookup(0x1495) // a return address minus one, relative to the module base
	if !ok {
		log.Fatal("no symbol")
	}
	fmt.Printf("%s+%#x line %d\n", s.Name, s.Offset, s.Line.Line)
	// Output:
	// spills+0x75 line 52
}

// memory is a stand-in for the dump's memory (*minidump.Memory).
type memory map[uint64][]byte

func (m memory) ReadAt(p []byte, a uint64) (int, error) {
	b, ok := m[a]
	if !ok || len(b) < len(p) {
		return 0, fmt.Errorf("%#x not captured", a)
	}
	return copy(p, b), nil
}

// One CFI unwind step: the rules of symbol_files.md's example function,
// two bytes in, with the stack pointer at 0x7000.
func ExampleUnwindCFI() {
	f, err := breakpad.Parse([]byte(`MODULE Linux x86 0 example
STACK CFI INIT 1000 17 .cfa: $esp 4 + .ra: .cfa 4 - ^
STACK CFI 1001 .cfa: $esp 8 + $ebp: .cfa 8 - ^
`))
	if err != nil {
		log.Fatal(err)
	}
	rules, err := f.CFIRulesAt(0x1002)
	if err != nil {
		log.Fatal(err)
	}
	mem := memory{0x7004: {0x78, 0x56, 0x34, 0x12}, 0x7000: {0x00, 0x80, 0, 0}}
	callee := breakpad.Registers{"$eip": 0x401002, "$esp": 0x7000, "$ebp": 0x9000}
	caller, err := breakpad.UnwindCFI(breakpad.ArchX86, &rules, callee, mem)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("rules %s\neip %#x esp %#x ebp %#x\n", rules.String(), caller["$eip"], caller["$esp"], caller["$ebp"])
	// Output:
	// rules .cfa: $esp 8 + .ra: .cfa 4 - ^ $ebp: .cfa 8 - ^
	// eip 0x12345678 esp 0x7008 ebp 0x8000
}
