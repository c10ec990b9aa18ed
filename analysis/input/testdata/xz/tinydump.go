//go:build ignore

// tinydump writes a small synthetic minidump (minidump/minidumptest) to
// standard output, for gen.sh to pack.
package main

import (
	"os"

	"github.com/dumpmap/dumpmap/minidump/minidumptest"
)

func main() {
	b := minidumptest.New().SystemInfo(minidumptest.Windows7x86()).
		Module(minidumptest.Module{Base: 0x400000, Size: 0x10000, Name: `C:\app.exe`}).
		Module(minidumptest.Module{Base: 0x77000000, Size: 0x1a0000, Name: `C:\Windows\SYSTEM32\ntdll.dll`}).Bytes()
	os.Stdout.Write(b)
}
