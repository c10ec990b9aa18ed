package minidump_test

import (
	"errors"
	"fmt"
	"log"

	"github.com/dumpmap/dumpmap/minidump"
)

// Open a dump and read its small streams; nothing else is read until asked for.
func ExampleOpen() {
	f, err := minidump.Open("../testdata/fixtures/dumps/crtheap.dmp")
	if err != nil {
		log.Fatal(err) // a *minidump.NotMinidumpError says what the file looks like instead
	}
	defer f.Close()
	si, err := f.SystemInfo()
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(si.OS(), si.Arch)
	mods, err := f.Modules()
	if err != nil {
		log.Print(err) // damage: the modules that could be read are still returned
	}
	fmt.Println(len(mods), "modules, the first", mods[0].BaseName())
	// Output:
	// Windows 7 6.1.7601 (Service Pack 1) amd64
	// 5 modules, the first crtheap.exe
}

// Read process memory by virtual address: here the top of the only thread's
// stack. Bytes the dump did not capture come back as a *MissingMemoryError that
// says exactly which.
func ExampleMemory_ReadAt() {
	f, err := minidump.Open("../testdata/fixtures/dumps/crtheap.dmp")
	if err != nil {
		log.Fatal(err)
	}
	defer f.Close()
	mem, err := f.Memory()
	if err != nil {
		log.Print(err)
	}
	threads, _ := f.Threads()
	stackEnd := threads[0].Stack.End() // the thread's stack base
	top, err := mem.ReadPointer(stackEnd-8, 8)
	fmt.Printf("the last 8 bytes below %#x: %#x, err %v\n", stackEnd, top, err)

	// One page above the stack was not captured.
	buf := make([]byte, 16)
	n, err := mem.ReadAt(buf, stackEnd-8)
	var missing *minidump.MissingMemoryError
	if errors.As(err, &missing) {
		fmt.Printf("read %d of %d bytes; missing %v\n", n, len(buf), missing.Missing)
	}
	// Output:
	// the last 8 bytes below 0x120000: 0x0, err <nil>
	// read 8 of 16 bytes; missing [0x120000-0x120008]
}
