package stack

import (
	"bufio"
	"encoding/hex"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/dumpmap/dumpmap/analysis/breakpad"
)

const cfiFixture = "../breakpad/testdata/cfi-x64/"

// TestBreakpadCFI walks the stack package breakpad's CFI fixture recorded inside a
// running process (gcc -O2 -fomit-frame-pointer, so only CFI can unwind it): its
// registers and stack bytes (run.txt), its Breakpad symbols (prog.sym, from
// dump_syms). Each caller's return address and canonical frame address must be
// those the process recorded, and each frame's function and line those
// addr2line gives for the call (addr2line.txt).
func TestBreakpadCFI(t *testing.T) {
	f, err := breakpad.Open(cfiFixture + "prog.sym")
	if err != nil {
		t.Skip(err)
	}
	run, err := os.Open(cfiFixture + "run.txt")
	if err != nil {
		t.Skip(err)
	}
	defer run.Close()
	var base uint64
	regs := Regs{Arch: ArchAMD64}
	type level struct{ ra, cfa uint64 }
	var levels []level
	mem := &fakeMem{}
	var lo, hi uint64
	var stack []byte
	hexv := func(s string) uint64 {
		v, err := strconv.ParseUint(s, 16, 64)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	sc := bufio.NewScanner(run)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		fs := strings.Fields(sc.Text())
		switch {
		case len(fs) == 2 && fs[0] == "base":
			base = hexv(fs[1])
		case len(fs) == 3 && fs[0] == "reg":
			r, ok := ArchAMD64.LookupReg(fs[1])
			if !ok {
				t.Fatalf("register %s", fs[1])
			}
			regs.Set(r, hexv(fs[2]))
		case len(fs) == 4 && fs[0] == "level":
			levels = append(levels, level{hexv(fs[2]), hexv(fs[3])})
		case len(fs) == 3 && fs[0] == "stack":
			a := hexv(fs[1])
			b, err := hex.DecodeString(fs[2])
			if err != nil {
				t.Fatal(err)
			}
			if stack == nil {
				lo = a
			}
			if a != lo+uint64(len(stack)) {
				t.Fatalf("stack line at %#x not contiguous", a)
			}
			stack = append(stack, b...)
		}
	}
	hi = lo + uint64(len(stack))
	mem.add(lo, stack)
	syms := &BreakpadSymbols{File: func(m *Module) *breakpad.File {
		if m.Name == "cfi-x64-prog" {
			return f
		}
		return nil
	}}
	w := NewWalker(ArchAMD64, mem, []Module{{Base: base, Size: 0x10000, Name: "cfi-x64-prog"}}, Options{CFI: syms, Symbolizer: syms, NoScan: true})
	frames, err := w.Walk(regs, StackRange{lo, hi}, StackRange{})
	if err != nil {
		t.Fatal(err)
	}
	if len(frames) < len(levels)+1 {
		t.Fatalf("%d frames, the process recorded %d callers", len(frames), len(levels))
	}
	for i, l := range levels {
		fr := frames[i+1]
		if fr.IP != l.ra || fr.SP != l.cfa || fr.Trust != TrustCFI {
			t.Errorf("frame %d: ip %#x sp %#x %v, recorded ra %#x cfa %#x", i+1, fr.IP, fr.SP, fr.Trust, l.ra, l.cfa)
		}
	}
	// Function names and lines against addr2line, for the frames in the program.
	a2l, err := os.ReadFile(cfiFixture + "addr2line.txt")
	if err != nil {
		t.Fatal(err)
	}
	checked := 0
	for _, line := range strings.Split(strings.TrimSpace(string(a2l)), "\n") {
		fs := strings.Fields(line)
		if len(fs) != 3 || fs[1] == "??" {
			continue
		}
		rva := hexv(fs[0])
		pos := fs[2]
		for _, fr := range frames[1:] {
			if fr.IP-1-base != rva {
				continue
			}
			file, ln, _ := strings.Cut(pos, ":")
			if fr.Function != fs[1] || !strings.HasSuffix(fr.File, file[strings.LastIndex(file, "/")+1:]) || strconv.Itoa(fr.Line) != ln {
				t.Errorf("frame %d: %s %s:%d, addr2line %s %s", fr.Index, fr.Function, fr.File, fr.Line, fs[1], pos)
			}
			checked++
		}
	}
	if checked < 4 {
		t.Errorf("only %d frames checked against addr2line", checked)
	}
}
