package breakpad

import (
	"os"
	"testing"
)

// ExternalSeeds receives seeds that need packages importing this one:
// seeds_test.go (package breakpad_test) adds the x86 Windows symbol file of
// the corpus CAB store, expanded with symstore.
var ExternalSeeds [][]byte

// fuzzSeeds are real symbol files: the documentation examples, the x86-64
// fixture from dump_syms and, when the shared corpus is there, the x86
// Windows file of the CAB store.
func fuzzSeeds(f *testing.F) [][]byte {
	seeds := [][]byte{[]byte(docSym)}
	if b, err := os.ReadFile("testdata/cfi-x64/prog.sym"); err == nil {
		seeds = append(seeds, b)
	}
	return append(seeds, ExternalSeeds...)
}

// FuzzParse parses arbitrary text and runs every lookup and both unwind
// steps on what it got, at addresses taken from the records themselves.
func FuzzParse(f *testing.F) {
	for _, s := range fuzzSeeds(f) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		sf, err := Parse(data)
		if err != nil {
			return
		}
		var addrs []uint64
		for i, fn := range sf.funcs {
			if i > 16 {
				break
			}
			addrs = append(addrs, fn.Addr, fn.Addr+fn.Size/2, fn.Addr+fn.Size)
		}
		for i, c := range sf.cfi {
			if i > 16 {
				break
			}
			addrs = append(addrs, c.addr, c.addr+c.size-1)
			for j, d := range c.deltas {
				if j > 4 {
					break
				}
				addrs = append(addrs, d.addr)
			}
		}
		for i, w := range sf.WinFrames() {
			if i > 16 {
				break
			}
			addrs = append(addrs, uint64(w.RVA), w.End()-1)
		}
		addrs = append(addrs, 0, 1<<63, ^uint64(0))
		arch := ParseArch(sf.Module.Arch)
		if arch == ArchUnknown {
			arch = ArchAMD64
		}
		regs := Registers{}
		for _, n := range arch.Registers() {
			regs[n] = 0x1000
		}
		regs["$esp"], regs["$ebp"], regs["$eip"] = 0x1000, 0x1010, 0x2000
		for _, a := range addrs {
			sf.Lookup(a)
			sf.LineAt(a)
			sf.InlinesAt(a)
			sf.UnwindCFI(arch, a, regs, fakeMemory{})
			sf.UnwindWin(a, WinUnwind{Regs: regs, Memory: fakeMemory{}, ContextFrame: true, IsCode: func(v uint64) bool { return v&3 == 1 }})
		}
	})
}

// FuzzEvaluator runs arbitrary programs and expressions.
func FuzzEvaluator(f *testing.F) {
	for _, s := range []string{
		"$T0 .raSearch = $eip $T0 ^ = $esp $T0 4 + =",
		"$T0 $ebp = $eip $T0 4 + ^ = $ebp $T0 ^ = $esp $T0 8 + =  $20 $T0 52 - ^ =",
		"$T1 .raSearch = $T0  $T1 4 - 8 @ = $ebp $T1 4 - ^ = $eip $T1 ^ = $esp $T1 4 + =",
		".cfa -8 + ^", "$rsp 16 +", "1 0 /", "=$ebp", "$rAdd3 2 2 + =$rMul2 9 6 * =",
	} {
		f.Add(s, true)
		f.Add(s, false)
	}
	f.Fuzz(func(t *testing.T, prog string, wide bool) {
		w := 4
		if wide {
			w = 8
		}
		ev := Evaluator{Vars: Registers{"$esp": 0x1000, "$ebp": 0x2000, ".cfa": 0x3000, ".raSearch": 0x1004}, Memory: fakeMemory{}, Width: w}
		ev.Run(prog)
		ev.Value(prog)
		if len(ev.stack) > MaxStack {
			t.Fatalf("stack %d", len(ev.stack))
		}
	})
}
