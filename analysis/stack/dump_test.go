package stack

import (
	"bytes"
	"encoding/binary"
	"errors"
	"testing"

	"github.com/dumpmap/dumpmap/minidump"
	"github.com/dumpmap/dumpmap/minidump/minidumptest"
)

// TestDumpThreads builds an x86 Windows dump: one module whose code holds a call,
// a crashing thread whose exception context differs from its thread context, a
// second thread, a thread without a context. The crashing thread must be walked
// from the exception's context, the stack range must reach the TEB's stack base,
// and the context-less thread must say why it has no frames.
func TestDumpThreads(t *testing.T) {
	code := bytes.Repeat([]byte{0xcc}, 0x2000)
	copy(code[0x1000:], []byte{0xe8, 0, 0, 0, 0}) // returns to 0x401005
	const stackLo, stackHi, teb = 0x12f000, 0x130000, 0x7ffde000
	stack := make([]byte, stackHi-stackLo)
	le := binary.LittleEndian
	// An EBP frame at 0x12fe00: saved EBP 0, return address into the module.
	le.PutUint32(stack[0xe00:], 0x12ff00)
	le.PutUint32(stack[0xe04:], 0x401005)
	le.PutUint32(stack[0xf00:], 0)
	le.PutUint32(stack[0xf04:], 0)
	tebBytes := make([]byte, 12)
	le.PutUint32(tebBytes[4:], 0x140000) // NT_TIB.StackBase
	b := minidumptest.New().SystemInfo(minidumptest.Windows7x86()).
		Module(minidumptest.Module{Base: 0x400000, Size: 0x2000, Name: `C:\app.exe`}).
		Memory(0x400000, code).Memory(teb, tebBytes).
		Thread(minidumptest.Thread{ID: 1, TEB: teb, StackStart: stackLo, Stack: stack,
			Context: minidumptest.Context(minidump.ArchX86, map[string]uint64{"eip": 0x401700, "esp": 0x12fd00, "ebp": 0x12fe00})}).
		Thread(minidumptest.Thread{ID: 2, StackStart: stackLo, Stack: stack,
			Context: minidumptest.Context(minidump.ArchX86, map[string]uint64{"eip": 0x401800, "esp": 0x12fdf0, "ebp": 0x12fe00})}).
		Thread(minidumptest.Thread{ID: 3}).
		ExceptionFull(minidumptest.ExceptionSpec{ThreadID: 1, Code: 0xc0000005, Address: 0x401600,
			Context: minidumptest.Context(minidump.ArchX86, map[string]uint64{"eip": 0x401600, "esp": 0x12fd80, "ebp": 0x12fe00})}).
		Bytes()
	f, err := minidump.New(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	d, err := NewDump(f, Options{})
	if err != nil {
		t.Fatal(err)
	}
	res := d.WalkAll()
	if len(res.Threads) != 3 {
		t.Fatalf("%d threads", len(res.Threads))
	}
	t1, t2, t3 := res.Threads[0], res.Threads[1], res.Threads[2]
	if !t1.Crashed || t1.Frames[0].IP != 0x401600 || len(t1.Frames) != 2 || t1.Frames[1].IP != 0x401005 {
		t.Errorf("crashing thread: %+v", t1)
	}
	if t2.Crashed || t2.Frames[0].IP != 0x401800 || len(t2.Frames) != 2 {
		t.Errorf("thread 2: %+v", t2)
	}
	if t3.Err == nil || len(t3.Frames) != 0 {
		t.Errorf("thread 3 (no context): %+v", t3)
	}
	if got := d.stackRange(&d.Threads()[0], StackRange{stackLo, stackHi}); got != (StackRange{stackLo, 0x140000}) {
		t.Errorf("stack range %v, want up to the TEB's StackBase 0x140000", got)
	}
	if c, err := d.WalkCrashed(); err != nil || c.ID != 1 {
		t.Errorf("WalkCrashed: %v %v", c.ID, err)
	}
	if _, err := d.WalkThread(99); !errors.Is(err, ErrNoThread) {
		t.Errorf("WalkThread(99): %v", err)
	}
	// A dump of a processor the walker does not know.
	b = minidumptest.New().SystemInfo(minidumptest.SystemInfo{Arch: minidump.ArchMIPS, Platform: minidump.PlatformLinux}).Bytes()
	f, _ = minidump.New(bytes.NewReader(b), int64(len(b)))
	if _, err := NewDump(f, Options{}); err == nil {
		t.Error("a MIPS dump was accepted")
	}
}
