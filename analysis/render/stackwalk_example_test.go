package render_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log"

	"github.com/dumpmap/dumpmap/analysis/process"
	"github.com/dumpmap/dumpmap/analysis/render"
	"github.com/dumpmap/dumpmap/analysis/stack"
	"github.com/dumpmap/dumpmap/minidump"
	"github.com/dumpmap/dumpmap/minidump/minidumptest"
)

// A program writes the JSON rust-minidump's minidump-stackwalk writes for a dump,
// as `dumpmap stack --format stackwalk-json` does: here a Linux process that
// stopped at 0x401000 in /bin/app with SIGSEGV / SEGV_MAPERR at address 0x10.
func ExampleNewStackwalk() {
	ctx := context.Background()
	dump := minidumptest.New().
		SystemInfo(minidumptest.SystemInfo{Arch: minidump.ArchAMD64, Platform: minidump.PlatformLinux, NumberOfProcessors: 1,
			CSDVersion: "Linux 6.1.0 #1 SMP x86_64"}).
		Module(minidumptest.Module{Base: 0x400000, Size: 0x2000, Name: "/bin/app", CodeView: minidumptest.BpEL([]byte{0xde, 0xad, 0xbe, 0xef})}).
		Thread(minidumptest.Thread{ID: 7, StackStart: 0x7000, Stack: make([]byte, 0x100),
			Context: minidumptest.Context(minidump.ArchAMD64, map[string]uint64{"rip": 0x401000, "rsp": 0x7000})}).
		ExceptionFull(minidumptest.ExceptionSpec{ThreadID: 7, Code: 11, Flags: 1, Address: 0x10}).
		Bytes()
	f, err := minidump.New(bytes.NewReader(dump), int64(len(dump)))
	if err != nil {
		log.Fatal(err)
	}
	p := process.New(f, process.Options{})
	defer p.Close()
	d, err := stack.ForProcess(ctx, p, stack.Options{})
	if err != nil {
		log.Fatal(err)
	}
	sw, err := render.NewStackwalk(ctx, p, d)
	if err != nil {
		log.Fatal(err)
	}
	var out bytes.Buffer
	if err := sw.WriteJSON(&out); err != nil {
		log.Fatal(err)
	}
	var doc struct {
		CrashInfo struct {
			Type    string `json:"type"`
			Address string `json:"address"`
		} `json:"crash_info"`
		CrashingThread struct {
			Frames []struct {
				Module       string            `json:"module"`
				ModuleOffset string            `json:"module_offset"`
				Trust        string            `json:"trust"`
				Registers    map[string]string `json:"registers"`
			} `json:"frames"`
		} `json:"crashing_thread"`
		Modules []struct {
			Filename string `json:"filename"`
			CodeID   string `json:"code_id"`
			DebugID  string `json:"debug_id"`
		} `json:"modules"`
	}
	if err := json.Unmarshal(out.Bytes(), &doc); err != nil {
		log.Fatal(err)
	}
	f0 := doc.CrashingThread.Frames[0]
	fmt.Println(doc.CrashInfo.Type, "at", doc.CrashInfo.Address)
	fmt.Println(f0.Module, f0.ModuleOffset, f0.Trust, "rip", f0.Registers["rip"])
	fmt.Println(doc.Modules[0].Filename, doc.Modules[0].CodeID, doc.Modules[0].DebugID)
	// Output:
	// SIGSEGV / SEGV_MAPERR at 0x0000000000000010
	// app 0x0000000000001000 context rip 0x0000000000401000
	// app deadbeef EFBEADDE0000000000000000000000000
}
