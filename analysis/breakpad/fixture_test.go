package breakpad

import (
	"bufio"
	"encoding/hex"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// cfiRun is what testdata/cfi-x64/prog recorded about itself (run.txt).
type cfiRun struct {
	base   uint64
	regs   Registers
	levels []struct{ fn, ra, cfa uint64 } // innermost first
	mem    mapMemory
}

func readRun(t *testing.T, path string) cfiRun {
	t.Helper()
	fh, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	r := cfiRun{regs: Registers{}, mem: mapMemory{}}
	h := func(s string) uint64 {
		v, err := strconv.ParseUint(s, 16, 64)
		if err != nil {
			t.Fatalf("%s: %v", s, err)
		}
		return v
	}
	sc := bufio.NewScanner(fh)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		switch {
		case len(f) == 2 && f[0] == "base":
			r.base = h(f[1])
		case len(f) == 3 && f[0] == "reg":
			r.regs[f[1]] = h(f[2])
		case len(f) == 4 && f[0] == "level":
			r.levels = append(r.levels, struct{ fn, ra, cfa uint64 }{h(f[1]), h(f[2]), h(f[3])})
		case len(f) == 3 && f[0] == "stack":
			b, err := hex.DecodeString(f[2])
			if err != nil {
				t.Fatal(err)
			}
			r.mem.put(h(f[1]), b)
		}
	}
	return r
}

// TestCFIFixtureX64 unwinds a real x86-64 Linux stack with the STACK CFI
// records Breakpad's dump_syms wrote for the program that produced it
// (testdata/cfi-x64, see gen.sh). The truth is what the program recorded
// about itself at each level: GCC's return address and DWARF CFA. Every
// step must give the caller's $rip = that return address and $rsp = that
// CFA (the CFA is the caller's stack pointer after the call returns), all
// the way out of main. FuncAt must name the function each level recorded as
// nm does, and LineAt each call site as addr2line does.
func TestCFIFixtureX64(t *testing.T) {
	dir := "testdata/cfi-x64"
	f, err := Open(filepath.Join(dir, "prog.sym"))
	if err != nil {
		t.Fatal(err)
	}
	if f.BadLines != 0 || ParseArch(f.Module.Arch) != ArchAMD64 {
		t.Fatalf("module %+v, bad lines %v", f.Module, f.Errors)
	}
	run := readRun(t, filepath.Join(dir, "run.txt"))
	if len(run.levels) != 6 {
		t.Fatalf("run.txt: %d levels", len(run.levels))
	}
	nm := map[uint64]string{}
	if b, err := os.ReadFile(filepath.Join(dir, "nm.txt")); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if a, n, ok := strings.Cut(l, " "); ok {
				v, _ := strconv.ParseUint(a, 16, 64)
				nm[v] = n
			}
		}
	}
	regs := run.regs
	for i, lv := range run.levels {
		pc := regs["$rip"]
		rva := pc - run.base
		if i > 0 {
			// A return address points after the call; the caller's
			// rules are those of the call instruction, as Breakpad looks
			// up caller frames at pc-1.
			rva--
		}
		fn, ok := f.FuncAt(rva)
		if !ok || fn.Addr != lv.fn-run.base || nm[fn.Addr] != fn.Name {
			t.Errorf("level %d: FuncAt(%#x) = %+v, want the function at %#x (%s)", i, rva, fn, lv.fn-run.base, nm[lv.fn-run.base])
		}
		caller, err := f.UnwindCFI(ArchAMD64, rva, regs, run.mem)
		if err != nil {
			t.Fatalf("level %d (%s): %v", i, fn.Name, err)
		}
		if caller["$rip"] != lv.ra || caller["$rsp"] != lv.cfa {
			t.Errorf("level %d (%s): caller rip %#x rsp %#x, recorded ra %#x cfa %#x", i, fn.Name, caller["$rip"], caller["$rsp"], lv.ra, lv.cfa)
		}
		regs = caller
	}
	// addr2line's answers for each call site inside the program.
	b, err := os.ReadFile(filepath.Join(dir, "addr2line.txt"))
	if err != nil {
		t.Fatal(err)
	}
	checked := 0
	for _, l := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		fs := strings.Fields(l)
		if len(fs) != 3 || strings.HasPrefix(fs[2], "??") {
			continue // main's return into libc
		}
		rva, _ := strconv.ParseUint(fs[0], 16, 64)
		file, line, _ := strings.Cut(fs[2], ":")
		s, ok := f.Lookup(rva)
		if !ok || s.Name != fs[1] || !s.HasLine || s.Line.File != file || itoa(s.Line.Line) != line {
			t.Errorf("Lookup(%#x) = %s %s:%d, addr2line %s %s", rva, s.Name, s.Line.File, s.Line.Line, fs[1], fs[2])
		}
		checked++
	}
	if checked != 5 {
		t.Errorf("checked %d addr2line answers, want 5", checked)
	}
}
