package minidumptest

import (
	"fmt"

	"github.com/dumpmap/dumpmap/minidump"
)

// Context returns a thread context record of the given layout (ArchX86,
// ArchAMD64, ArchARM, ArchARM64 or ArchARM64Old) with the named registers set
// ("eip", "rsp", "x29", ...), everything else zero, for Thread.Context and
// ExceptionSpec.Context. It panics on an unknown layout or register name: the
// tests that call it spell them out.
func Context(arch minidump.Arch, regs map[string]uint64) []byte {
	c := minidump.NewContext(arch)
	if c == nil {
		panic(fmt.Sprintf("minidumptest: no context layout for %v", arch))
	}
	for name, v := range regs {
		if !c.SetReg(name, v) {
			panic(fmt.Sprintf("minidumptest: %v context has no register %q", arch, name))
		}
	}
	b, err := c.MarshalBinary()
	if err != nil {
		panic(err)
	}
	return b
}
