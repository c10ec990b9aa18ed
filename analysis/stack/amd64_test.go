package stack

import (
	"fmt"
	"path/filepath"
	"testing"

	"github.com/dumpmap/dumpmap/analysis/pe"
)

// The x64 tests run the functions of analysis/pe/testdata/unwind/unwind-x64.s on
// a simulated stack: each function's prolog and epilog instructions, transcribed
// below from the assembly source (not from the unwind data), push and save the
// registers a real run would. The walker then has to recover, from the image's
// .pdata alone, the return addresses, stack pointers and saved registers the
// simulation recorded.

const x64Base = 0x7ff600000000

type x64act struct {
	end  uint32 // function offset just past the instruction
	op   string // push, sub, add, leafp (rbp = rsp+n), leasp (rsp = rbp+n), save, savexmm, load, pop
	reg  Reg    // register (XMM number for savexmm)
	n    uint64
	onFP bool // the save is relative to rbp, not rsp
}

type x64fn struct {
	name   string
	start  uint32 // RVA
	prolog []x64act
	body   []x64act // after the prolog, before the call
	call   uint32   // RVA of the return address of its call to callee
	epilog []x64act // up to the ret (or tail jump)
	saves  []Reg    // nonvolatile registers the prolog saves (and the body then changes)
	xmm    []int
}

var x64fns = map[string]x64fn{
	"f_push": {name: "f_push", start: 0x1001, call: 0x1010,
		prolog: []x64act{{1, "push", RegRBX, 0, false}, {2, "push", RegRSI, 0, false}, {4, "push", RegR12, 0, false}, {6, "push", RegR15, 0, false}, {10, "sub", 0, 0x28, false}},
		epilog: []x64act{{0x14, "add", 0, 0x28, false}, {0x16, "pop", RegR15, 0, false}, {0x18, "pop", RegR12, 0, false}, {0x19, "pop", RegRSI, 0, false}, {0x1a, "pop", RegRBX, 0, false}},
		saves:  []Reg{RegRBX, RegRSI, RegR12, RegR15}},
	"f_frame": {name: "f_frame", start: 0x101c, call: 0x103d,
		prolog: []x64act{{1, "push", RegRBP, 0, false}, {5, "sub", 0, 0x40, false}, {10, "leafp", 0, 0x20, false},
			{15, "savexmm", 7, 0, true}, {19, "save", RegRSI, 0x18, true}, {24, "save", RegRDI, 0x10, false}},
		body: []x64act{{28, "sub", 0, 0x60, false}},
		// The restores before the official epilog (lea rsp; pop rbp; ret).
		epilog: []x64act{{0x27, "loadxmm", 7, 0, true}, {0x2b, "load", RegRSI, 0x18, true}, {0x2f, "load", RegRDI, ^uint64(0x10 - 1), true},
			{0x33, "leasp", 0, 0x20, false}, {0x34, "pop", RegRBP, 0, false}},
		saves: []Reg{RegRSI, RegRDI}, xmm: []int{7}},
	"f_large": {name: "f_large", start: 0x1051, call: 0x105e,
		prolog: []x64act{{1, "push", RegRDI, 0, false}, {8, "sub", 0, 0x2000, false}},
		epilog: []x64act{{0x15, "add", 0, 0x2000, false}, {0x16, "pop", RegRDI, 0, false}},
		saves:  []Reg{RegRDI}},
	"f_huge": {name: "f_huge", start: 0x1068, call: 0x108c,
		prolog: []x64act{{7, "sub", 0, 0x100008, false}, {15, "save", RegRBX, 0x80000, false}, {23, "savexmm", 6, 0x90000, false}, {31, "save", 13, 0x100, false}},
		epilog: []x64act{{0x2d, "load", 13, 0x100, false}, {0x35, "load", RegRBX, 0x80000, false}, {0x3c, "add", 0, 0x100008, false}},
		saves:  []Reg{RegRBX, 13}, xmm: []int{6}},
	"f_chained": {name: "f_chained", start: 0x10bf, call: 0x10ca,
		prolog: []x64act{{1, "push", RegRBP, 0, false}, {2, "push", RegRBX, 0, false}, {6, "sub", 0, 0x20, false}},
		epilog: []x64act{{0x20, "add", 0, 0x20, false}, {0x21, "pop", RegRBX, 0, false}, {0x22, "pop", RegRBP, 0, false}},
		saves:  []Reg{RegRBP, RegRBX}},
	// The chained fragment of f_chained: it saves rsi (its own prolog) on top of the
	// primary's frame.
	"f_chained2": {name: "f_chained2", start: 0x10bf, call: 0x10d5,
		prolog: []x64act{{1, "push", RegRBP, 0, false}, {2, "push", RegRBX, 0, false}, {6, "sub", 0, 0x20, false}, {0x11, "save", RegRSI, 0x38, false}},
		saves:  []Reg{RegRBP, RegRBX, RegRSI}},
	"f_handler": {name: "f_handler", start: 0x10e2, call: 0x10eb,
		prolog: []x64act{{4, "sub", 0, 0x28, false}},
		epilog: []x64act{{0x0e, "add", 0, 0x28, false}}},
	"f_tail": {name: "f_tail", start: 0x10f4, call: 0x10fe,
		prolog: []x64act{{1, "push", RegRDI, 0, false}, {5, "sub", 0, 0x30, false}},
		epilog: []x64act{{0x0f, "add", 0, 0x30, false}, {0x10, "pop", RegRDI, 0, false}},
		saves:  []Reg{RegRDI}},
}

// x64sim is the state of the simulated machine.
type x64sim struct {
	st   *fakeStack
	regs [17]uint64
	xmm  map[int][16]byte
	next uint64 // source of distinct register values
}

func newX64Sim() *x64sim {
	s := &x64sim{st: newFakeStack(0x7ff0_0000_0000, 3<<20, 8), xmm: map[int][16]byte{}, next: 0x1111_0000}
	for r := range 16 {
		s.regs[r] = s.fresh()
	}
	for i := range 16 {
		s.xmm[i] = [16]byte{byte(i), 0xee, byte(s.fresh())}
	}
	return s
}

func (s *x64sim) fresh() uint64 { s.next += 0x1010; return s.next }

func (s *x64sim) sp() uint64 { return s.st.sp }

// run executes the actions whose end is at most upto.
func (s *x64sim) run(acts []x64act, upto uint32) {
	for _, a := range acts {
		if a.end > upto {
			return
		}
		base := s.st.sp
		if a.onFP {
			base = s.regs[RegRBP]
		}
		switch a.op {
		case "push":
			s.st.push(s.regs[a.reg])
		case "sub":
			s.st.sp -= a.n
		case "add":
			s.st.sp += a.n
		case "leafp":
			s.regs[RegRBP] = s.st.sp + a.n
		case "leasp":
			s.st.sp = s.regs[RegRBP] + a.n
		case "save":
			s.st.put64(base+a.n, s.regs[a.reg])
		case "savexmm":
			v := s.xmm[int(a.reg)]
			copy(s.st.b[base+a.n-s.st.lo:], v[:])
		case "load":
			s.regs[a.reg] = s.st.get(base + a.n)
		case "loadxmm":
			var v [16]byte
			copy(v[:], s.st.b[base+a.n-s.st.lo:])
			s.xmm[int(a.reg)] = v
		case "pop":
			s.regs[a.reg] = s.st.get(s.st.sp)
			s.st.sp += 8
		}
	}
}

// regs is the simulated register state as the walker's starting registers.
func (s *x64sim) startRegs(rip uint64) Regs {
	r := Regs{Arch: ArchAMD64}
	for i := range 16 {
		r.Set(Reg(i), s.regs[i])
	}
	r.Set(RegRSP, s.st.sp)
	r.Set(RegRIP, rip)
	for i, v := range s.xmm {
		r.SetVector(i, v)
	}
	return r
}

// x64Walker makes a walker over the simulated stack and the mapped test DLL.
func x64Walker(t *testing.T, s *x64sim, opts Options) *Walker {
	img := loadMapped(t, "../pe/testdata/unwind/unwind-x64.dll", x64Base)
	mem := &fakeMem{}
	mem.add(x64Base, img)
	mem.add(s.st.lo, s.st.b)
	opts.Windows = true
	return NewWalker(ArchAMD64, mem, []Module{{Base: x64Base, Size: uint64(len(img)), Name: `C:\test\unwind-x64.dll`}}, opts)
}

// expectX64 is what a frame must hold.
type expectX64 struct {
	ip, sp uint64
	regs   map[Reg]uint64
	xmm    map[int][16]byte
}

func checkX64Frame(t *testing.T, what string, f Frame, want expectX64, trust Trust) {
	t.Helper()
	if f.IP != want.ip || f.SP != want.sp || f.Trust != trust {
		t.Errorf("%s: ip %#x sp %#x %v, want ip %#x sp %#x %v", what, f.IP, f.SP, f.Trust, want.ip, want.sp, trust)
		return
	}
	for r, v := range want.regs {
		if got, ok := f.Regs.Get(r); !ok || got != v {
			t.Errorf("%s: %s = %#x (known %v), want %#x", what, ArchAMD64.RegName(r), got, ok, v)
		}
	}
	for i, v := range want.xmm {
		if got, ok := f.Regs.Vector(i); !ok || got != v {
			t.Errorf("%s: xmm%d = %x (known %v), want %x", what, i, got, ok, v)
		}
	}
}

// nonvolatile returns the simulated values of the nonvolatile registers.
func (s *x64sim) nonvolatile() map[Reg]uint64 {
	m := map[Reg]uint64{}
	for _, r := range []Reg{RegRBX, RegRBP, RegRSI, RegRDI, 12, 13, 14, 15} {
		m[r] = s.regs[r]
	}
	return m
}

// TestX64Chain walks a chain of calls through every function of the test DLL,
// innermost the leaf "callee" (no .pdata entry: its return address is at [RSP]).
func TestX64Chain(t *testing.T) {
	chain := []string{"f_push", "f_frame", "f_large", "f_huge", "f_chained2", "f_chained", "f_handler", "f_tail"}
	s := newX64Sim()
	s.st.push(0) // the outermost function returns to 0: the end of the stack
	want := make([]expectX64, len(chain)+1)
	for k := len(chain) - 1; k >= 0; k-- {
		fn := x64fns[chain[k]]
		s.run(fn.prolog, ^uint32(0))
		s.run(fn.body, ^uint32(0))
		// The body changes what the prolog saved.
		for _, r := range fn.saves {
			s.regs[r] = s.fresh()
		}
		for _, x := range fn.xmm {
			s.xmm[x] = [16]byte{0xaa, byte(x), byte(s.fresh())}
		}
		want[k+1] = expectX64{ip: x64Base + uint64(fn.call), sp: s.sp(), regs: s.nonvolatile(), xmm: map[int][16]byte{}}
		for _, x := range []int{6, 7} {
			want[k+1].xmm[x] = s.xmm[x]
		}
		s.st.push(x64Base + uint64(fn.call))
	}
	w := x64Walker(t, s, Options{})
	frames, err := w.Walk(s.startRegs(x64Base+0x1000), s.st.rng(), StackRange{})
	if err != nil {
		t.Fatal(err)
	}
	if len(frames) != len(chain)+1 {
		for _, f := range frames {
			t.Logf("%d %#x %#x %v", f.Index, f.IP, f.SP, f.Trust)
		}
		t.Fatalf("%d frames, want %d (the walk must end at the return address 0)", len(frames), len(chain)+1)
	}
	for k := 1; k < len(frames); k++ {
		checkX64Frame(t, fmt.Sprintf("frame %d (%s)", k, chain[k-1]), frames[k], want[k], TrustUnwind)
	}
	// Volatile registers are unknown in callers; restored ones say where from.
	if frames[2].Regs.Valid(RegRAX) || frames[2].Regs.Valid(8) {
		t.Error("volatile registers kept in a caller frame")
	}
	if a, ok := frames[2].Regs.Restored(RegRBX); !ok || a < s.st.lo || a >= s.st.hi {
		t.Errorf("rbx restored from %#x %v", a, ok)
	}
	if f := frames[1]; f.Module != "unwind-x64.dll" || f.ModuleOffset != 0x1010 {
		t.Errorf("frame 1 in %q+%#x", f.Module, f.ModuleOffset)
	}
}

// TestX64PrologEpilog interrupts each function at every instruction of its prolog
// and epilog: the walker must undo exactly what has run (the prolog's completed
// operations; the epilog's remaining ones, by emulating them) and find the caller.
func TestX64PrologEpilog(t *testing.T) {
	const callerRA = x64Base + 0x10eb // in f_handler, after its call
	for _, name := range []string{"f_push", "f_frame", "f_large", "f_huge", "f_handler", "f_tail"} {
		fn := x64fns[name]
		// Offsets: the function start, each prolog instruction's end, each epilog
		// instruction's end (the last one is at the ret or jmp).
		offs := []uint32{0}
		for _, a := range fn.prolog {
			offs = append(offs, a.end)
		}
		for _, a := range fn.epilog {
			offs = append(offs, a.end)
		}
		for _, off := range offs {
			inEpilog := off >= fn.call-fn.start && len(fn.epilog) > 0
			s := newX64Sim()
			// f_handler's frame, whose call this is.
			s.run(x64fns["f_handler"].prolog, ^uint32(0))
			s.st.push(callerRA)
			entrySP, entry := s.sp(), s.nonvolatile()
			if !inEpilog {
				s.run(fn.prolog, off)
			} else {
				s.run(fn.prolog, ^uint32(0))
				s.run(fn.body, ^uint32(0))
				for _, r := range fn.saves {
					s.regs[r] = s.fresh()
				}
				s.run(fn.epilog, off)
			}
			w := x64Walker(t, s, Options{})
			frames, err := w.Walk(s.startRegs(x64Base+uint64(fn.start+off)), s.st.rng(), StackRange{})
			if err != nil {
				t.Fatal(err)
			}
			what := fmt.Sprintf("%s+%#x", name, off)
			if len(frames) < 2 {
				t.Errorf("%s: %d frames", what, len(frames))
				continue
			}
			checkX64Frame(t, what, frames[1], expectX64{ip: callerRA, sp: entrySP + 8, regs: entry}, TrustUnwind)
		}
	}
}

// TestX64MachineFrame unwinds through f_machframe's UWOP_PUSH_MACHFRAME (an
// interrupt entry): the frame above it is the interrupted code, here f_push in the
// middle of its epilog, which must be emulated rather than unwound.
func TestX64MachineFrame(t *testing.T) {
	for _, errCode := range []bool{false, true} {
		s := newX64Sim()
		s.run(x64fns["f_handler"].prolog, ^uint32(0))
		s.st.push(x64Base + 0x10eb)
		entrySP, entry := s.sp(), s.nonvolatile()
		push := x64fns["f_push"]
		s.run(push.prolog, ^uint32(0))
		for _, r := range push.saves {
			s.regs[r] = s.fresh()
		}
		s.run(push.epilog, 0x16) // interrupted after pop r15
		interruptedSP, interruptedIP := s.sp(), x64Base+uint64(push.start+0x16)
		inner := s.nonvolatile()
		// The processor pushes SS, RSP, RFLAGS, CS, RIP (and an error code).
		s.st.push(0x2b)
		s.st.push(interruptedSP)
		s.st.push(0x246)
		s.st.push(0x33)
		s.st.push(interruptedIP)
		fn, ra := "f_machframe", uint64(x64Base+0x10ab)
		if errCode {
			s.st.push(0xdead)
			fn, ra = "f_machframe_code", x64Base+0x10b8
			s.st.sp -= 0x18 // sub rsp, 0x18
		} else {
			s.st.push(s.regs[RegRBP])
		}
		s.st.push(ra)
		w := x64Walker(t, s, Options{})
		frames, err := w.Walk(s.startRegs(x64Base+0x1000), s.st.rng(), StackRange{})
		if err != nil {
			t.Fatal(err)
		}
		if len(frames) < 4 {
			t.Fatalf("%s: %d frames", fn, len(frames))
		}
		if frames[1].IP != ra {
			t.Errorf("%s: frame 1 at %#x, want %#x", fn, frames[1].IP, ra)
		}
		checkX64Frame(t, fn+" interrupted frame", frames[2], expectX64{ip: interruptedIP, sp: interruptedSP, regs: map[Reg]uint64{RegRSI: inner[RegRSI], RegRBX: inner[RegRBX]}}, TrustUnwind)
		checkX64Frame(t, fn+" caller", frames[3], expectX64{ip: x64Base + 0x10eb, sp: entrySP + 8, regs: entry}, TrustUnwind)
	}
}

// fileProvider is an ImageProvider that opens image files by module base name.
type fileProvider struct {
	dir   string
	asked map[string]int
}

func (p *fileProvider) Image(m *Module) (*pe.File, error) {
	p.asked[m.BaseName()]++
	f, err := pe.Open(filepath.Join(p.dir, m.BaseName()))
	if err != nil {
		return nil, nil
	}
	return f, nil
}

// TestX64ImageProvider walks the chain of TestX64Chain with the DLL's image
// absent from memory: the ImageProvider's file (on-disk layout) supplies .pdata
// and the frames are the same.
func TestX64ImageProvider(t *testing.T) {
	s := newX64Sim()
	s.st.push(0)
	var ras []uint64
	for _, name := range []string{"f_tail", "f_frame", "f_push"} {
		fn := x64fns[name]
		s.run(fn.prolog, ^uint32(0))
		s.run(fn.body, ^uint32(0))
		ras = append([]uint64{x64Base + uint64(fn.call)}, ras...)
		s.st.push(x64Base + uint64(fn.call))
	}
	mem := &fakeMem{}
	mem.add(s.st.lo, s.st.b)
	prov := &fileProvider{dir: "../pe/testdata/unwind", asked: map[string]int{}}
	w := NewWalker(ArchAMD64, mem, []Module{{Base: x64Base, Size: 0x4000, Name: `C:\x\unwind-x64.dll`}}, Options{Windows: true, Images: prov})
	frames, _ := w.Walk(s.startRegs(x64Base+0x1000), s.st.rng(), StackRange{})
	if len(frames) != 4 {
		t.Fatalf("%d frames, want 4", len(frames))
	}
	for i, ra := range ras {
		if f := frames[i+1]; f.IP != ra || f.Trust != TrustUnwind {
			t.Errorf("frame %d: %#x %v, want %#x unwind", i+1, f.IP, f.Trust, ra)
		}
	}
	if prov.asked["unwind-x64.dll"] != 1 {
		t.Errorf("provider asked %v", prov.asked)
	}
}
