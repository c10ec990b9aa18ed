package stack

import (
	"fmt"
	"testing"

	"github.com/dumpmap/dumpmap/minidump"
)

// The ARM64 tests run the functions of analysis/pe/testdata/unwind/unwind-arm64.s
// on a simulated machine, instruction by instruction as transcribed from the
// assembly; the walker must recover what the simulation recorded from the
// image's .pdata and .xdata alone.

const a64Base = 0x7ff700000000

type a64act struct {
	end uint32 // function offset just past the instruction
	op  string // stpx (pre-indexed pair), stp, strx, str, ldpx (post-indexed), ldp, ldrx, ldr, sub, add, movfp, addfp, spfp (sp = x29 - n), nop
	r1  int    // register: 0-30 x, 100+n d(n)
	r2  int
	n   uint64
}

type a64fn struct {
	name   string
	start  uint32
	prolog []a64act
	call   uint32
	epilog []a64act
	saves  []int // registers the prolog saves (x19-x28, d8-d15)
}

func d(n int) int { return 100 + n }

var a64fns = map[string]a64fn{
	"a_fplr": {name: "a_fplr", start: 0x1004, call: 0x1010,
		prolog: []a64act{{4, "stpx", 29, 30, 16}, {8, "movfp", 0, 0, 0}},
		epilog: []a64act{{0x10, "ldpx", 29, 30, 16}}},
	"a_regs": {name: "a_regs", start: 0x1018, call: 0x102c,
		prolog: []a64act{{4, "stpx", 19, 20, 32}, {8, "str", 21, 0, 16}, {12, "stpx", 29, 30, 32}, {16, "movfp", 0, 0, 0}},
		epilog: []a64act{{0x18, "ldpx", 29, 30, 32}, {0x1c, "ldr", 21, 0, 16}, {0x20, "ldpx", 19, 20, 32}},
		saves:  []int{19, 20, 21}},
	"a_lr": {name: "a_lr", start: 0x103c, call: 0x104c,
		prolog: []a64act{{4, "stpx", 19, 20, 32}, {8, "str", 30, 0, 16}, {12, "sub", 0, 0, 32}},
		epilog: []a64act{{0x14, "add", 0, 0, 32}, {0x18, "ldr", 30, 0, 16}, {0x1c, "ldpx", 19, 20, 32}},
		saves:  []int{19, 20}},
	"a_fregs": {name: "a_fregs", start: 0x105c, call: 0x106c,
		prolog: []a64act{{4, "stpx", d(8), d(9), 32}, {8, "str", 30, 0, 16}, {12, "sub", 0, 0, 16}},
		epilog: []a64act{{0x14, "add", 0, 0, 16}, {0x18, "ldr", 30, 0, 16}, {0x1c, "ldpx", d(8), d(9), 32}},
		saves:  []int{d(8), d(9)}},
	"a_full": {name: "a_full", start: 0x107c, call: 0x10a0,
		prolog: []a64act{{4, "stpx", 19, 20, 80}, {8, "stp", 21, 22, 16}, {12, "str", 23, 0, 32}, {16, "str", d(8), 0, 40},
			{20, "stp", 29, 30, 48}, {24, "addfp", 0, 0, 48}, {28, "sub", 0, 0, 4096}, {32, "nop", 0, 0, 0}},
		epilog: []a64act{{0x2c, "add", 0, 0, 4096}, {0x30, "ldp", 29, 30, 48}, {0x34, "ldr", d(8), 0, 40}, {0x38, "ldr", 23, 0, 32},
			{0x3c, "ldp", 21, 22, 16}, {0x40, "ldpx", 19, 20, 80}},
		saves: []int{19, 20, 21, 22, 23, d(8)}},
	// a_full's second epilog, reached by the branch at 0x24: sp is restored from x29.
	"a_full2": {name: "a_full2", start: 0x107c, call: 0x10a0,
		prolog: []a64act{{4, "stpx", 19, 20, 80}, {8, "stp", 21, 22, 16}, {12, "str", 23, 0, 32}, {16, "str", d(8), 0, 40},
			{20, "stp", 29, 30, 48}, {24, "addfp", 0, 0, 48}, {28, "sub", 0, 0, 4096}, {32, "nop", 0, 0, 0}},
		epilog: []a64act{{0x48, "nop", 0, 0, 0}, {0x4c, "spfp", 0, 0, 48}, {0x50, "ldp", 29, 30, 48}, {0x54, "ldr", d(8), 0, 40}, {0x58, "ldr", 23, 0, 32},
			{0x5c, "ldp", 21, 22, 16}, {0x60, "ldpx", 19, 20, 80}},
		saves: []int{19, 20, 21, 22, 23, d(8)}},
	"a_big": {name: "a_big", start: 0x10e0, call: 0x10fc,
		prolog: []a64act{{4, "strx", d(10), 0, 16}, {8, "stpx", 19, 20, 16}, {12, "stpx", d(8), d(9), 16}, {16, "stpx", 29, 30, 16},
			{20, "movfp", 0, 0, 0}, {24, "sub", 0, 0, 0x10000}},
		epilog: []a64act{{0x20, "spfp", 0, 0, 0}, {0x24, "ldpx", 29, 30, 16}, {0x28, "ldpx", d(8), d(9), 16}, {0x2c, "ldpx", 19, 20, 16}, {0x30, "ldrx", d(10), 0, 16}},
		saves:  []int{d(10), 19, 20, d(8), d(9)}},
	"a_lrpair": {name: "a_lrpair", start: 0x1114, call: 0x1128,
		prolog: []a64act{{4, "sub", 0, 0, 64}, {8, "stp", 19, 30, 16}, {12, "stp", 21, 22, 32}, {16, "stp", d(12), d(13), 48}},
		epilog: []a64act{{0x18, "ldp", d(12), d(13), 48}, {0x1c, "ldp", 21, 22, 32}, {0x20, "ldp", 19, 30, 16}, {0x24, "add", 0, 0, 64}},
		saves:  []int{19, 21, 22, d(12), d(13)}},
}

type a64sim struct {
	st   *fakeStack
	x    [31]uint64
	d    [32]uint64
	next uint64
}

func newA64Sim() *a64sim {
	s := &a64sim{st: newFakeStack(0x7fe0_0000_0000, 1<<20, 8), next: 0x2222_0000}
	for i := range s.x {
		s.x[i] = s.fresh()
	}
	for i := range s.d {
		s.d[i] = s.fresh()
	}
	return s
}

func (s *a64sim) fresh() uint64 { s.next += 0x1010; return s.next }

func (s *a64sim) get(r int) uint64 {
	if r >= 100 {
		return s.d[r-100]
	}
	return s.x[r]
}

func (s *a64sim) set(r int, v uint64) {
	if r >= 100 {
		s.d[r-100] = v
	} else {
		s.x[r] = v
	}
}

func (s *a64sim) run(acts []a64act, upto uint32) {
	st := s.st
	for _, a := range acts {
		if a.end > upto {
			return
		}
		switch a.op {
		case "stpx":
			st.sp -= a.n
			st.put(st.sp, s.get(a.r1))
			st.put(st.sp+8, s.get(a.r2))
		case "stp":
			st.put(st.sp+a.n, s.get(a.r1))
			st.put(st.sp+a.n+8, s.get(a.r2))
		case "strx":
			st.sp -= a.n
			st.put(st.sp, s.get(a.r1))
		case "str":
			st.put(st.sp+a.n, s.get(a.r1))
		case "ldpx":
			s.set(a.r1, st.get(st.sp))
			s.set(a.r2, st.get(st.sp+8))
			st.sp += a.n
		case "ldp":
			s.set(a.r1, st.get(st.sp+a.n))
			s.set(a.r2, st.get(st.sp+a.n+8))
		case "ldrx":
			s.set(a.r1, st.get(st.sp))
			st.sp += a.n
		case "ldr":
			s.set(a.r1, st.get(st.sp+a.n))
		case "sub":
			st.sp -= a.n
		case "add":
			st.sp += a.n
		case "movfp":
			s.x[29] = st.sp
		case "addfp":
			s.x[29] = st.sp + a.n
		case "spfp":
			st.sp = s.x[29] - a.n
		}
	}
}

func (s *a64sim) startRegs(pc uint64) Regs {
	r := Regs{Arch: ArchARM64}
	for i, v := range s.x {
		r.Set(Reg(i), v)
	}
	r.Set(RegSP64, s.st.sp)
	r.Set(RegPC64, pc)
	for i, v := range s.d {
		var b [16]byte
		for k := range 8 {
			b[k] = byte(v >> (8 * k))
		}
		r.SetVector(i, b)
	}
	return r
}

// nonvolatile returns x19-x29 and d8-d15 (as 100+n).
func (s *a64sim) nonvolatile() map[int]uint64 {
	m := map[int]uint64{}
	for r := 19; r <= 29; r++ {
		m[r] = s.x[r]
	}
	for r := 8; r <= 15; r++ {
		m[d(r)] = s.d[r]
	}
	return m
}

func a64Walker(t *testing.T, s *a64sim, extra ...fakeRange) *Walker {
	img := loadMapped(t, "../pe/testdata/unwind/unwind-arm64.dll", a64Base)
	mem := &fakeMem{}
	mem.add(a64Base, img)
	mem.add(s.st.lo, s.st.b)
	for _, r := range extra {
		mem.add(r.base, r.b)
	}
	return NewWalker(ArchARM64, mem, []Module{{Base: a64Base, Size: uint64(len(img)), Name: "unwind-arm64.dll"}}, Options{Windows: true})
}

type expectA64 struct {
	pc, sp uint64
	regs   map[int]uint64
}

func checkA64Frame(t *testing.T, what string, f Frame, want expectA64, trust Trust) {
	t.Helper()
	if f.IP != want.pc || f.SP != want.sp || f.Trust != trust {
		t.Errorf("%s: pc %#x sp %#x %v, want pc %#x sp %#x %v", what, f.IP, f.SP, f.Trust, want.pc, want.sp, trust)
		return
	}
	for r, v := range want.regs {
		if r >= 100 {
			got, ok := f.Regs.Vector(r - 100)
			var g uint64
			for k := range 8 {
				g |= uint64(got[k]) << (8 * k)
			}
			if !ok || g != v {
				t.Errorf("%s: d%d = %#x (known %v), want %#x", what, r-100, g, ok, v)
			}
			continue
		}
		if got, ok := f.Regs.Get(Reg(r)); !ok || got != v {
			t.Errorf("%s: %s = %#x (known %v), want %#x", what, ArchARM64.RegName(Reg(r)), got, ok, v)
		}
	}
}

// TestARM64Chain walks a chain through the packed and .xdata functions of the
// test DLL, innermost the leaf "callee" (no .pdata entry: it returns through LR).
func TestARM64Chain(t *testing.T) {
	chain := []string{"a_fplr", "a_regs", "a_lr", "a_fregs", "a_full", "a_big", "a_lrpair"}
	s := newA64Sim()
	s.x[30] = 0 // the outermost returns to 0: the end of the stack
	want := make([]expectA64, len(chain)+1)
	for k := len(chain) - 1; k >= 0; k-- {
		fn := a64fns[chain[k]]
		s.run(fn.prolog, ^uint32(0))
		for _, r := range fn.saves {
			s.set(r, s.fresh())
		}
		want[k+1] = expectA64{pc: a64Base + uint64(fn.call), sp: s.st.sp, regs: s.nonvolatile()}
		s.x[30] = a64Base + uint64(fn.call) // bl
	}
	w := a64Walker(t, s)
	frames, err := w.Walk(s.startRegs(a64Base+0x1000), s.st.rng(), StackRange{})
	if err != nil {
		t.Fatal(err)
	}
	if len(frames) != len(chain)+1 {
		for _, f := range frames {
			t.Logf("%d %#x %#x %v", f.Index, f.IP, f.SP, f.Trust)
		}
		t.Fatalf("%d frames, want %d", len(frames), len(chain)+1)
	}
	for k := 1; k < len(frames); k++ {
		checkA64Frame(t, fmt.Sprintf("frame %d (%s)", k, chain[k-1]), frames[k], want[k], TrustUnwind)
	}
}

// TestARM64PrologEpilog interrupts each function at every prolog and epilog
// instruction: the walker must undo what ran (a partial prolog) or finish what
// the epilog had not yet done.
func TestARM64PrologEpilog(t *testing.T) {
	const callerRA = a64Base + 0x1010 // in a_fplr, after its bl
	for _, name := range []string{"a_fplr", "a_regs", "a_lr", "a_fregs", "a_full", "a_full2", "a_big", "a_lrpair"} {
		fn := a64fns[name]
		offs := []uint32{0}
		for _, a := range fn.prolog {
			offs = append(offs, a.end)
		}
		for _, a := range fn.epilog {
			offs = append(offs, a.end)
		}
		for _, off := range offs {
			inEpilog := off > fn.call-fn.start
			s := newA64Sim()
			s.run(a64fns["a_fplr"].prolog, ^uint32(0))
			s.x[30] = callerRA
			entrySP, entry := s.st.sp, s.nonvolatile()
			pc := a64Base + uint64(fn.start+off)
			if !inEpilog {
				s.run(fn.prolog, off)
			} else {
				s.run(fn.prolog, ^uint32(0))
				for _, r := range fn.saves {
					s.set(r, s.fresh())
				}
				s.x[30] = 0x1234 // lr was reused by the body's call
				s.run(fn.epilog, off)
				if name == "a_full2" {
					pc = a64Base + uint64(fn.start) + uint64(off) // the epilog at 0x48
				}
			}
			w := a64Walker(t, s)
			frames, err := w.Walk(s.startRegs(pc), s.st.rng(), StackRange{})
			if err != nil {
				t.Fatal(err)
			}
			what := fmt.Sprintf("%s+%#x", name, off)
			if len(frames) < 2 {
				t.Errorf("%s: %d frames", what, len(frames))
				continue
			}
			checkA64Frame(t, what, frames[1], expectA64{pc: callerRA, sp: entrySP, regs: entry}, TrustUnwind)
		}
	}
}

// TestARM64MachineFrameContext unwinds through a_machframe (MSFT_OP_MACHINE_FRAME:
// sp points at {sp, pc}) and a_context (MSFT_OP_CONTEXT: sp points at a whole
// ARM64_NT_CONTEXT). The frame above each is interrupted code: a_regs in the
// middle of its epilog, which the walker must finish from the epilog's codes.
func TestARM64MachineFrameContext(t *testing.T) {
	for _, kind := range []string{"machine frame", "context"} {
		s := newA64Sim()
		s.run(a64fns["a_fplr"].prolog, ^uint32(0))
		s.x[30] = a64Base + 0x1010
		entrySP, entry := s.st.sp, s.nonvolatile()
		fn := a64fns["a_regs"]
		s.run(fn.prolog, ^uint32(0))
		for _, r := range fn.saves {
			s.set(r, s.fresh())
		}
		s.run(fn.epilog, 0x18) // after ldp x29, x30, [sp], #32
		ipc, isp := a64Base+uint64(fn.start+0x18), s.st.sp
		var extra []fakeRange
		var ra uint64
		if kind == "machine frame" {
			s.st.push(ipc) // [sp+8]
			s.st.push(isp) // [sp]
			s.run([]a64act{{4, "stpx", 29, 30, 16}}, 4)
			ra = a64Base + 0x1144
		} else {
			ctx := minidump.NewContext(minidump.ArchARM64)
			for r := range 31 {
				ctx.SetReg(ArchARM64.RegName(Reg(r)), s.x[r])
			}
			ctx.SetReg("sp", isp)
			ctx.SetReg("pc", ipc)
			for i, v := range s.d {
				var b [16]byte
				for k := range 8 {
					b[k] = byte(v >> (8 * k))
				}
				ctx.SetVector(i, b)
			}
			b, _ := ctx.MarshalBinary()
			s.st.sp -= uint64(len(b))
			copy(s.st.b[s.st.sp-s.st.lo:], b)
			s.st.sp -= 16 // sub sp, sp, #16
			ra = a64Base + 0x1154
		}
		s.x[30] = ra
		w := a64Walker(t, s, extra...)
		frames, err := w.Walk(s.startRegs(a64Base+0x1000), s.st.rng(), StackRange{})
		if err != nil {
			t.Fatal(err)
		}
		if len(frames) < 4 {
			for _, f := range frames {
				t.Logf("%d %#x %#x %v", f.Index, f.IP, f.SP, f.Trust)
			}
			t.Fatalf("%s: %d frames", kind, len(frames))
		}
		if frames[1].IP != ra {
			t.Errorf("%s: frame 1 at %#x, want %#x", kind, frames[1].IP, ra)
		}
		checkA64Frame(t, kind+": interrupted frame", frames[2], expectA64{pc: ipc, sp: isp}, TrustUnwind)
		checkA64Frame(t, kind+": its caller", frames[3], expectA64{pc: a64Base + 0x1010, sp: entrySP, regs: entry}, TrustUnwind)
	}
}
