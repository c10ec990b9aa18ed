package stack

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/dumpmap/dumpmap/analysis/pdb"
)

// TestPDBSymbols walks symbolicator/windows.dmp (x86, crash.exe) with crash.pdb
// from the corpus's symbol store through PDBSymbols (names, lines, FPO and
// FrameData) and compares the crashing thread with Sentry's symbolicator, which
// symbolicated and unwound the same dump with the same PDB (its recorded
// snapshot): the same return addresses, and main at main.cpp:35 calling from
// __scrt_common_main_seh at exe_common.inl:283.
func TestPDBSymbols(t *testing.T) {
	root := sharedRoot(t)
	pf, err := pdb.Open(filepath.Join(root, "corpus/symbols/store/crash.pdb/3249D99D0C4049318610F4E4FB0B69361/crash.pdb"))
	if err != nil {
		t.Skip(err)
	}
	defer pf.Close()
	syms := &PDBSymbols{File: func(m *Module) *pdb.File {
		if strings.EqualFold(m.BaseName(), "crash.exe") {
			return pf
		}
		return nil
	}}
	d, res := walkDump(t, filepath.Join(root, "corpus/symbolicator/windows.dmp"), Options{Symbolizer: syms, FrameData: syms})
	_ = d
	var crashed *Thread
	for i := range res.Threads {
		if res.Threads[i].Crashed {
			crashed = &res.Threads[i]
		}
	}
	if crashed == nil {
		t.Fatal("no crashing thread")
	}
	var b strings.Builder
	WriteText(&b, crashed, 4)
	// symbolicator's frames: 0x2a2a3d (context), then 0x2a2d96, 0x750662c4,
	// 0x771d0f79, 0x771d0f44. It reports a symbolicated caller (frame 1) at its
	// return address - 1 (in the call), the others at the return address.
	want := []struct {
		ip  uint64
		adj uint64
	}{{0x2a2a3d, 0}, {0x2a2d96, 1}, {0x750662c4, 0}, {0x771d0f79, 0}, {0x771d0f44, 0}}
	if len(crashed.Frames) < len(want) {
		t.Fatalf("%d frames:\n%s", len(crashed.Frames), b.String())
	}
	for i, w := range want {
		if crashed.Frames[i].IP-w.adj != w.ip {
			t.Errorf("frame %d at %#x, symbolicator %#x:\n%s", i, crashed.Frames[i].IP, w.ip, b.String())
		}
	}
	f0, f1 := crashed.Frames[0], crashed.Frames[1]
	if f0.Function != "main" || f0.FunctionOffset != 0x2a2a3d-0x2a2910 || !strings.HasSuffix(f0.File, `\main.cpp`) || f0.Line != 35 {
		t.Errorf("frame 0: %s+%#x %s:%d", f0.Function, f0.FunctionOffset, f0.File, f0.Line)
	}
	if f1.Function != "__scrt_common_main_seh" || !strings.HasSuffix(f1.File, `\exe_common.inl`) || f1.Line != 283 {
		t.Errorf("frame 1: %s %s:%d", f1.Function, f1.File, f1.Line)
	}
	t.Logf("\n%s", b.String())
}
