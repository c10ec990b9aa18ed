package breakpad_test

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/dumpmap/dumpmap/analysis/breakpad"
	"github.com/dumpmap/dumpmap/analysis/cab"
	"github.com/dumpmap/dumpmap/analysis/internal/sharedtest"
	"github.com/dumpmap/dumpmap/analysis/pdb"
	"github.com/dumpmap/dumpmap/minidump"
)

const (
	crashPDB = "store/crash.pdb/3249D99D0C4049318610F4E4FB0B69361/crash.pdb"
	// The same key on symbolicator's CAB store holds a Breakpad symbol
	// file that Breakpad's dump_syms (DIA) wrote from this PDB.
	crashCAB = "store-cab/crash.pdb/3249D99D0C4049318610F4E4FB0B69361/crash.pdb"
)

// crashSym expands and parses the Breakpad file of the corpus CAB.
func crashSym(t *testing.T) (*breakpad.File, string) {
	t.Helper()
	dir := sharedtest.Dir(t)
	fh, err := os.Open(filepath.Join(dir, crashCAB))
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	st, _ := fh.Stat()
	c, err := cab.NewReader(fh, st.Size())
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := c.Extract(0, &buf, 16<<20); err != nil {
		t.Fatal(err)
	}
	f, err := breakpad.Parse(buf.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	if f.BadLines != 0 {
		t.Fatalf("bad lines: %q", f.Errors)
	}
	return f, dir
}

// TestCrashSymMatchesPDB compares what two independent readers made of one
// build: the Breakpad file dump_syms wrote through Microsoft's DIA, parsed
// here, and crash.pdb read by package pdb (itself checked against
// llvm-pdbutil). Every FUNC is a procedure at the same RVA with the same
// size, every line record is the PDB's line at its address, and every
// STACK WIN record is the PDB's FPO or FrameData record of the same range.
func TestCrashSymMatchesPDB(t *testing.T) {
	sym, dir := crashSym(t)
	p, err := pdb.Open(filepath.Join(dir, crashPDB))
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	if want := strings.ToUpper(fmt.Sprintf("%s%X", p.GUID.Hex(), p.Age)); sym.Module.ID != want || sym.Module.Name != "crash.pdb" {
		t.Fatalf("MODULE %+v, PDB %s", sym.Module, want)
	}
	funcs, lines := 0, 0
	for _, fn := range sym.Funcs() {
		proc, ok := p.FunctionAt(uint32(fn.Addr))
		if !ok || uint64(proc.RVA) != fn.Addr || uint64(proc.Size) != fn.Size {
			t.Errorf("FUNC %x %x %s: PDB has %q at %#x size %#x (%v)", fn.Addr, fn.Size, fn.Name, proc.Name, proc.RVA, proc.Size, ok)
			continue
		}
		funcs++
		// DIA names carry the parameter list; the PDB's do not. Functions
		// folded together (FUNC m) may carry another fold's name.
		// DIA also drops the x86 C decoration's leading underscore.
		if !fn.Multiple && !strings.HasPrefix(strings.TrimLeft(fn.Name, "_"), strings.TrimLeft(proc.Name, "_")) {
			t.Errorf("FUNC %x named %q, PDB %q", fn.Addr, fn.Name, proc.Name)
		}
		for a := fn.Addr; a < fn.Addr+fn.Size; a++ {
			bl, ok := sym.LineAt(a)
			if !ok {
				continue
			}
			if a == bl.Addr {
				lines++
			}
			pl, ok := p.LineAt(uint32(a))
			if !ok || pl.Line != bl.Line || !strings.EqualFold(pl.File, bl.File) {
				t.Errorf("%#x: Breakpad %s:%d, PDB %s:%d (%v)", a, bl.File, bl.Line, pl.File, pl.Line, ok)
				break
			}
		}
	}
	wins := 0
	fpo, err := p.FPORecords()
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range sym.WinFrames() {
		got, ok := p.WinFrameAt(w.RVA)
		if w.Type == breakpad.WinFrameFPO {
			// WinFrameAt prefers FrameData; compare with the FPO_DATA
			// record itself.
			ok = false
			for _, r := range fpo {
				if r.Start == w.RVA {
					got, ok = r.WinFrameInfo(), true
				}
			}
		}
		// The PDB's record at this RVA: compare the fields STACK WIN
		// carries (the PDB's flags are not written by dump_syms).
		got.HasSEH, got.HasCPPEH, got.FunctionStart = false, false, false
		got.Program = strings.TrimSpace(got.Program)
		w.Program = strings.TrimSpace(w.Program)
		if !ok || got != w {
			t.Errorf("STACK WIN %+v\n         PDB %+v (%v)", w, got, ok)
			continue
		}
		wins++
	}
	if funcs != 92 || lines < 700 || wins != 154 {
		t.Errorf("compared %d FUNC, %d line and %d STACK WIN records", funcs, lines, wins)
	}
	t.Logf("%d FUNC, %d line and %d STACK WIN records agree with the PDB", funcs, lines, wins)
}

// snapThread is one thread of symbolicator's snapshot.
type snapThread struct {
	regs   breakpad.Registers
	frames []struct {
		addr                    uint64
		fn, file, trust, status string
		line                    uint32
	}
}

// readSnapshot reads the registers and frames of thread id from
// symbolicator's minidump_windows snapshot (its stack walk of the dump, with
// this symbol file, by rust-minidump's walker).
func readSnapshot(t *testing.T, path string, id int) snapThread {
	t.Helper()
	fh, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	var th snapThread
	in, inFrames := false, false
	sc := bufio.NewScanner(fh)
	for sc.Scan() {
		l := strings.TrimSpace(sc.Text())
		if v, ok := strings.CutPrefix(l, "- thread_id: "); ok {
			in = v == strconv.Itoa(id)
			inFrames = false
			th.regs = th.regsOr()
			continue
		}
		if !in {
			continue
		}
		k, v, _ := strings.Cut(l, ": ")
		v = strings.Trim(v, `"`)
		switch {
		case l == "frames:":
			inFrames = true
		case !inFrames && len(k) == 3 && strings.HasPrefix(v, "0x"):
			n, _ := strconv.ParseUint(v[2:], 16, 64)
			th.regs["$"+k] = n
		case inFrames && k == "instruction_addr":
			n, _ := strconv.ParseUint(strings.TrimPrefix(v, "0x"), 16, 64)
			th.frames[len(th.frames)-1].addr = n
		case inFrames && strings.HasPrefix(l, "- status: "):
			th.frames = append(th.frames, struct {
				addr                    uint64
				fn, file, trust, status string
				line                    uint32
			}{status: strings.TrimPrefix(l, "- status: ")})
		case inFrames && k == "function":
			th.frames[len(th.frames)-1].fn = v
		case inFrames && k == "abs_path":
			th.frames[len(th.frames)-1].file = strings.ReplaceAll(v, `\\`, `\`)
		case inFrames && k == "lineno":
			n, _ := strconv.Atoi(v)
			th.frames[len(th.frames)-1].line = uint32(n)
		case inFrames && k == "trust":
			th.frames[len(th.frames)-1].trust = v
		}
	}
	return th
}

func (th snapThread) regsOr() breakpad.Registers {
	if th.regs == nil {
		return breakpad.Registers{}
	}
	return th.regs
}

// TestWindowsDumpUnwind walks the crashing thread of symbolicator's x86
// Windows dump from its context through crash.exe with STACK WIN records,
// both from the Breakpad file and from crash.pdb's FrameData, and must
// reach the frames symbolicator's walker reports (instruction addresses,
// function names, source lines): main -> __scrt_common_main_seh ->
// kernel32. Memory comes from the dump.
func TestWindowsDumpUnwind(t *testing.T) {
	sym, dir := crashSym(t)
	corpus := filepath.Dir(dir)
	th := readSnapshot(t, filepath.Join(corpus, "symbolicator/snapshots/integration__process_minidump__minidump_windows.snap"), 1636)
	if len(th.frames) < 3 || th.regs["$eip"] != th.frames[0].addr {
		t.Fatalf("snapshot: %+v", th)
	}
	d, err := minidump.Open(filepath.Join(corpus, "symbolicator/windows.dmp"))
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	mem, err := d.Memory()
	if err != nil {
		t.Fatal(err)
	}
	mods, err := d.Modules()
	if err != nil {
		t.Fatal(err)
	}
	var base uint64
	for _, m := range mods {
		if m.BaseName() == "crash.exe" {
			base = m.Base
		}
	}
	isCode := func(a uint64) bool {
		for _, m := range mods {
			if a >= m.Base && a < m.End() {
				return true
			}
		}
		return false
	}
	p, err := pdb.Open(filepath.Join(dir, crashPDB))
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()

	sources := []struct {
		name string
		at   func(rva uint64) (breakpad.WinFrameInfo, bool)
	}{
		{"STACK WIN", sym.WinFrameAt},
		{"PDB FrameData", func(rva uint64) (breakpad.WinFrameInfo, bool) { return p.WinFrameAt(uint32(rva)) }},
	}
	for _, src := range sources {
		t.Run(src.name, func(t *testing.T) {
			regs := th.regs.Clone()
			var calleeParams uint32
			for i := 0; i < 2; i++ {
				want := th.frames[i]
				rva := regs["$eip"] - base
				if i > 0 {
					rva-- // a caller frame is looked up inside its call
				}
				s, ok := sym.Lookup(rva)
				if !ok || s.Name != want.fn || !s.HasLine || s.Line.Line != want.line || !strings.EqualFold(s.Line.File, want.file) {
					t.Errorf("frame %d: %s %s:%d, symbolicator %s %s:%d", i, s.Name, s.Line.File, s.Line.Line, want.fn, want.file, want.line)
				}
				info, ok := src.at(rva)
				if !ok {
					t.Fatalf("frame %d: no record at %#x", i, rva)
				}
				caller, trust, err := breakpad.UnwindWin(&info, breakpad.WinUnwind{
					Regs: regs, Memory: mem, CalleeParamSize: calleeParams, ContextFrame: i == 0, IsCode: isCode,
				})
				if err != nil {
					t.Fatalf("frame %d: %v", i, err)
				}
				// symbolicator reports a symbolicated caller frame at the
				// address it looked up, the return address minus one;
				// other frames at the return address.
				ret := th.frames[i+1].addr
				if th.frames[i+1].status == "symbolicated" {
					ret++
				}
				if caller["$eip"] != ret || trust != breakpad.TrustCFI || th.frames[i+1].trust != "cfi" {
					t.Errorf("frame %d: caller eip %#x (%v), symbolicator %#x (%s)", i, caller["$eip"], trust, th.frames[i+1].addr, th.frames[i+1].trust)
				}
				calleeParams = info.ParamSize
				regs = caller
			}
		})
	}
}
