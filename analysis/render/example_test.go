package render_test

import (
	"bytes"
	"fmt"
	"log"
	"os"

	"github.com/dumpmap/dumpmap/analysis/process"
	"github.com/dumpmap/dumpmap/analysis/render"
	"github.com/dumpmap/dumpmap/minidump"
	"github.com/dumpmap/dumpmap/minidump/minidumptest"
)

// A program prints what `dumpmap modules crash.dmp` prints, and what
// `dumpmap modules --json` would, from the dump it has opened.
func Example() {
	dump := minidumptest.New().
		SystemInfo(minidumptest.SystemInfo{Arch: minidump.ArchX86, Platform: minidump.PlatformWindows, Major: 10, Build: 19045}).
		Module(minidumptest.Module{Base: 0x00400000, Size: 0x9000, Name: `C:\Tools\legacy.exe`, Version: [4]uint16{2, 0, 0, 17}}).
		Module(minidumptest.Module{Base: 0x77a00000, Size: 0x1a4000, Name: "C:\\Windows\\SysWOW64\\evil\x1b[2J.dll"}).
		Bytes()
	f, err := minidump.New(bytes.NewReader(dump), int64(len(dump)))
	if err != nil {
		log.Fatal(err)
	}
	p := process.New(f, process.Options{})
	defer p.Close()

	var warn render.Warnings
	mods := render.NewModules("crash.dmp", p, false, &warn)
	if err := mods.WriteText(os.Stdout); err != nil {
		log.Fatal(err)
	}
	// The JSON object keeps the name as the dump holds it.
	fmt.Printf("%q\n", mods.Modules[1].FileName)
	fmt.Println(len(warn.List()), "warnings")
	// Output:
	// 2 modules
	// BASE        END            SIZE  VERSION   NAME             SYMBOLS
	// 0x00400000  0x00409000   36 KiB  2.0.0.17  legacy.exe       -
	// 0x77a00000  0x77ba4000  1.6 MiB  -         evil\x1b[2J.dll  -
	// "evil\x1b[2J.dll"
	// 0 warnings
}
