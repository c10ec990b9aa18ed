package stack

import (
	"encoding/binary"
	"testing"
)

// Instruction encodings from llvm-mc --show-encoding (LLVM 14).
func TestCallRecognition(t *testing.T) {
	pad := func(b ...byte) []byte {
		out := []byte{0xcc, 0xcc, 0xcc, 0xcc, 0xcc, 0xcc, 0xcc, 0xcc}
		return append(out[:8-len(b)], b...)
	}
	for _, c := range []struct {
		name string
		b    []byte
		x64  bool
		want bool
	}{
		{"call rel32", pad(0xe8, 1, 2, 3, 4), false, true},
		{"call *%eax", pad(0xff, 0xd0), false, true},
		{"call *abs32", pad(0xff, 0x15, 0x78, 0x56, 0x34, 0x12), false, true},
		{"call *8(%ebp)", pad(0xff, 0x55, 0x08), false, true},
		{"call *(%esp)", pad(0xff, 0x14, 0x24), false, true},
		{"call *8(%esp)", pad(0xff, 0x54, 0x24, 0x08), false, true},
		{"call *256(%esp)", pad(0xff, 0x94, 0x24, 0x00, 0x01, 0x00, 0x00), false, true},
		{"call *256(%eax)", pad(0xff, 0x90, 0x00, 0x01, 0x00, 0x00), false, true},
		{"call *abs(,%eax,4)", pad(0xff, 0x14, 0x85, 0x78, 0x56, 0x34, 0x12), false, true},
		{"lcall", pad(0x9a, 0x78, 0x56, 0x34, 0x12, 0x23, 0x00), false, true},
		{"lcall is not x64", pad(0x9a, 0x78, 0x56, 0x34, 0x12, 0x23, 0x00), true, false},
		{"call *%r8", pad(0x41, 0xff, 0xd0), true, true},
		{"call *16(%rip)", pad(0xff, 0x15, 0x10, 0, 0, 0), true, true},
		{"rex64 call *16(%rip)", pad(0x48, 0xff, 0x15, 0x10, 0, 0, 0), true, true},
		{"call *(%r9)", pad(0x41, 0xff, 0x11), true, true},
		{"notrack call *%rax", pad(0x3e, 0xff, 0xd0), true, true},
		{"jmp *%eax", pad(0xff, 0xe0), false, false},
		{"jmp *abs32", pad(0xff, 0x25, 0x78, 0x56, 0x34, 0x12), false, false},
		{"jmp *16(%rip)", pad(0xff, 0x25, 0x10, 0, 0, 0), true, false},
		{"int3", pad(), false, false},
		{"ret", pad(0xc3), true, false},
		{"call *8(%ebp) cut", pad(0xff, 0x55), false, false},
	} {
		if got := endsWithCall(c.b, c.x64); got != c.want {
			t.Errorf("%s (% x): %v, want %v", c.name, c.b, got, c.want)
		}
	}
	for _, c := range []struct {
		name string
		insn uint32
		want bool
	}{
		{"bl", 0x94000002, true}, {"blr x8", 0xd63f0100, true}, {"blraaz x8", 0xd63f091f, true},
		{"blraa x8, x9", 0xd73f0909, true}, {"blrab x8, x9", 0xd73f0d09, true},
		{"ret", 0xd65f03c0, false}, {"br x8", 0xd61f0100, false}, {"b", 0x14000002, false},
	} {
		if got := arm64IsCall(c.insn); got != c.want {
			t.Errorf("%s (%#x): %v, want %v", c.name, c.insn, got, c.want)
		}
	}
}

// x86 test process: a module at 0x400000 whose code is int3 except for call
// instructions before the return addresses below, and a stack.
const (
	x86Mod   = 0x400000
	x86RA1   = 0x401005 // after E8 rel32 at 0x401000
	x86RA2   = 0x401105 // after E8 rel32 at 0x401100
	x86RA3   = 0x401206 // after FF 15 abs32 at 0x401200
	x86Decoy = 0x401300 // in the module's code, but after no call
)

func x86Process(st *fakeStack) *fakeMem {
	code := make([]byte, 0x2000)
	for i := range code {
		code[i] = 0xcc
	}
	copy(code[0x1000:], []byte{0xe8, 0, 0, 0, 0})
	copy(code[0x1100:], []byte{0xe8, 0, 0, 0, 0})
	copy(code[0x1200:], []byte{0xff, 0x15, 0, 0, 0, 0})
	mem := &fakeMem{}
	mem.add(x86Mod, code)
	mem.add(st.lo, st.b)
	return mem
}

func x86Regs(eip, esp, ebp uint64) Regs {
	r := Regs{Arch: ArchX86}
	r.Set(RegEIP, eip)
	r.Set(RegESP, esp)
	r.Set(RegEBP, ebp)
	r.Set(RegEBX, 0xb0b0b0b0)
	return r
}

var x86Modules = []Module{{Base: x86Mod, Size: 0x2000, Name: "app.exe"}}

// fpoSource is a FrameDataSource test double: one description for a range of
// module offsets.
type fpoSource struct {
	lo, hi uint64
	fi     FrameInfo
	asked  int
}

func (s *fpoSource) FrameInfo(m *Module, off uint64) (*FrameInfo, bool) {
	s.asked++
	if off >= s.lo && off < s.hi {
		return &s.fi, true
	}
	return nil, false
}

// TestX86FPOAndFramePointer walks frame 0 (an EBP frame), frame 1 (a function
// without a frame pointer, described by FPO data: 16 bytes of locals and one
// saved register) and frame 2 (an EBP frame again) to frame 3, the outermost.
// Without the FPO description the EBP chain skips frame 2, as it must.
func TestX86FPOAndFramePointer(t *testing.T) {
	build := func() (*fakeStack, Regs) {
		st := newFakeStack(0x130000, 0x1000, 4)
		const b2, b3 = 0x12fe50, 0x12fe80
		st.put(b3, 0)
		st.put(b3+4, 0) // outermost: returns to 0
		st.put(b2, b3)
		st.put(b2+4, x86RA3)
		st.put(0x12fe34, x86Decoy)
		// Frame 1 (FPO): return address x86RA2 at 0x12fe30, saved ESI below it,
		// 16 bytes of locals, then the return address into it at 0x12fe18.
		st.put(0x12fe30, x86RA2)
		st.put(0x12fe2c, 0x51515151)
		st.put(0x12fe18, x86RA1)
		// Frame 0 pushed EBP (still frame 2's: frame 1 leaves EBP alone).
		st.put(0x12fe14, b2)
		return st, x86Regs(0x401500, 0x12fe00, 0x12fe14)
	}
	st, start := build()
	fpo := &fpoSource{lo: x86RA1 - 1 - x86Mod, hi: x86RA1 - x86Mod + 0x10, fi: FrameInfo{Type: FrameInfoFPO, LocalSize: 0x10, SavedRegisterSize: 4, ParamSize: 8}}
	w := NewWalker(ArchX86, x86Process(st), x86Modules, Options{Windows: true, FrameData: fpo})
	frames, err := w.Walk(start, st.rng(), StackRange{})
	if err != nil {
		t.Fatal(err)
	}
	want := []struct {
		ip, sp uint64
		trust  Trust
	}{{0x401500, 0x12fe00, TrustContext}, {x86RA1, 0x12fe1c, TrustFramePointer}, {x86RA2, 0x12fe34, TrustFPO}, {x86RA3, 0x12fe58, TrustFramePointer}}
	if len(frames) != len(want) {
		for _, f := range frames {
			t.Logf("%d %#x %#x %v", f.Index, f.IP, f.SP, f.Trust)
		}
		t.Fatalf("%d frames, want %d", len(frames), len(want))
	}
	for i, w := range want {
		if f := frames[i]; f.IP != w.ip || f.SP != w.sp || f.Trust != w.trust {
			t.Errorf("frame %d: %#x %#x %v, want %#x %#x %v", i, f.IP, f.SP, f.Trust, w.ip, w.sp, w.trust)
		}
	}
	if fpo.asked == 0 {
		t.Error("the FrameDataSource was not asked")
	}
	// Program strings, through the built-in evaluator: Breakpad's form for an EBP
	// frame gives the same as the chain.
	st, start = build()
	fpo = &fpoSource{lo: 0x1500 - 0x10, hi: 0x1510, fi: FrameInfo{Type: FrameInfoFrameData, ProgramString: "$T0 $ebp = $eip $T0 4 + ^ = $ebp $T0 ^ = $esp $T0 8 + ="}}
	w = NewWalker(ArchX86, x86Process(st), x86Modules, Options{Windows: true, FrameData: fpo})
	frames, _ = w.Walk(start, st.rng(), StackRange{})
	if len(frames) < 2 || frames[1].IP != x86RA1 || frames[1].SP != 0x12fe1c || frames[1].Trust != TrustFPO || frames[1].Regs.Value(RegEBP) != 0x12fe50 {
		t.Errorf("program string: %+v", frames)
	}
	// Without frame data the EBP chain goes from frame 1 straight to frame 3.
	st, start = build()
	w = NewWalker(ArchX86, x86Process(st), x86Modules, Options{Windows: true})
	frames, _ = w.Walk(start, st.rng(), StackRange{})
	if len(frames) != 3 || frames[2].IP != x86RA3 {
		t.Errorf("without FPO: %d frames, frame 2 at %#x", len(frames), frames[min(2, len(frames)-1)].IP)
	}
}

// TestX86Scan: when EBP is no frame pointer, the scan skips words that are not
// return addresses: a value outside every module, and one in the module's code
// that no call precedes.
func TestX86Scan(t *testing.T) {
	st := newFakeStack(0x130000, 0x1000, 4)
	sp := uint64(0x12fe00)
	for i, v := range []uint64{0x12345678, x86Decoy, 0x12fe40, x86RA2, 0, 0} {
		st.put(sp+uint64(4*i), v)
	}
	w := NewWalker(ArchX86, x86Process(st), x86Modules, Options{Windows: true})
	frames, _ := w.Walk(x86Regs(0x401500, sp, 0xffff0000), st.rng(), StackRange{})
	if len(frames) < 2 || frames[1].IP != x86RA2 || frames[1].SP != sp+16 || frames[1].Trust != TrustScan {
		t.Fatalf("scan found %+v", frames)
	}
	// The word below the return address looked like a saved EBP: it was kept.
	if ebp, ok := frames[1].Regs.Get(RegEBP); !ok || ebp != 0x12fe40 {
		t.Errorf("caller EBP %#x %v", ebp, ok)
	}
	// NoScan disables it.
	w = NewWalker(ArchX86, x86Process(st), x86Modules, Options{Windows: true, NoScan: true})
	if frames, _ := w.Walk(x86Regs(0x401500, sp, 0xffff0000), st.rng(), StackRange{}); len(frames) != 1 {
		t.Errorf("NoScan: %d frames", len(frames))
	}
	// Where the code is not available, the module check has to do: the decoy
	// is then taken.
	code := &fakeMem{}
	code.add(st.lo, st.b)
	w = NewWalker(ArchX86, code, x86Modules, Options{Windows: true})
	if frames, _ := w.Walk(x86Regs(0x401500, sp, 0xffff0000), st.rng(), StackRange{}); len(frames) < 2 || frames[1].IP != x86Decoy {
		t.Errorf("without code: %+v", frames)
	}
	// StrictScan wants the call seen: without code nothing qualifies.
	w = NewWalker(ArchX86, code, x86Modules, Options{Windows: true, StrictScan: true})
	if frames, _ := w.Walk(x86Regs(0x401500, sp, 0xffff0000), st.rng(), StackRange{}); len(frames) != 1 {
		t.Errorf("StrictScan without code: %d frames", len(frames))
	}
}

// TestX64WindowsFramePointer: code without unwind data on Windows x64 is walked
// through RBP only when the call before the return address can be seen.
func TestX64WindowsFramePointer(t *testing.T) {
	const mod = 0x7ff700000000
	code := make([]byte, 0x2000)
	for i := range code {
		code[i] = 0xcc
	}
	copy(code[0x1000:], []byte{0xe8, 0, 0, 0, 0}) // call; returns to mod+0x1005
	st := newFakeStack(0x7ff0_0000_0000, 0x1000, 8)
	rbp := st.hi - 0x100
	st.put(rbp, rbp+0x40)
	st.put(rbp+8, mod+0x1005)
	st.put(rbp+0x40, 0)
	st.put(rbp+0x48, 0)
	for _, tc := range []struct {
		ra    uint64
		trust Trust
	}{{mod + 0x1005, TrustFramePointer}, {mod + 0x1300, TrustNone}} {
		st.put(rbp+8, tc.ra)
		mem := &fakeMem{}
		mem.add(mod, code)
		mem.add(st.lo, st.b)
		w := NewWalker(ArchAMD64, mem, []Module{{Base: mod, Size: 0x2000, Name: "jit.dll"}}, Options{Windows: true, NoScan: true})
		r := Regs{Arch: ArchAMD64}
		r.Set(RegRIP, mod+0x1800)
		r.Set(RegRSP, rbp-0x20)
		r.Set(RegRBP, rbp)
		frames, _ := w.Walk(r, st.rng(), StackRange{})
		if tc.trust == TrustNone {
			if len(frames) != 1 {
				t.Errorf("RBP link to %#x (no call before it) followed: %d frames", tc.ra, len(frames))
			}
			continue
		}
		if len(frames) != 2 || frames[1].IP != tc.ra || frames[1].Trust != tc.trust {
			t.Errorf("RBP link: %+v", frames)
		}
	}
}

// TestBounds checks the limits: MaxFrames, a stack full of return addresses, a
// frame pointer below the stack pointer, a frame-pointer loop, a stack pointer
// that would leave the stack.
func TestBounds(t *testing.T) {
	st := newFakeStack(0x140000, 0x10000, 4)
	for a := st.lo; a < st.hi; a += 4 {
		st.put(a, x86RA1)
	}
	mem := x86Process(st)
	for _, tc := range []struct {
		max, want int
	}{{10, 10}, {0, DefaultMaxFrames}, {1 << 20, 0x10000/4 + 1}} {
		w := NewWalker(ArchX86, mem, x86Modules, Options{Windows: true, MaxFrames: tc.max})
		frames, _ := w.Walk(x86Regs(0x401500, st.lo, 0), st.rng(), StackRange{})
		if tc.want > 0 && len(frames) != tc.want || len(frames) > HardMaxFrames {
			t.Errorf("MaxFrames %d: %d frames, want %d", tc.max, len(frames), tc.want)
		}
		for i := 1; i < len(frames); i++ {
			if frames[i].SP <= frames[i-1].SP {
				t.Fatalf("MaxFrames %d: frame %d SP %#x not above %#x", tc.max, i, frames[i].SP, frames[i-1].SP)
			}
		}
	}
	// EBP below ESP, and an EBP loop ([ebp] = ebp): neither is followed.
	st2 := newFakeStack(0x130000, 0x1000, 4)
	st2.put(0x12fe80, 0x12fe80)
	st2.put(0x12fe84, x86RA1)
	w := NewWalker(ArchX86, x86Process(st2), x86Modules, Options{Windows: true, NoScan: true})
	for _, ebp := range []uint64{0x12fe00, 0x12fe80} {
		frames, _ := w.Walk(x86Regs(0x401500, 0x12fe40, ebp), st2.rng(), StackRange{})
		if ebp == 0x12fe00 && len(frames) != 1 {
			t.Errorf("EBP below ESP followed: %d frames", len(frames))
		}
		if ebp == 0x12fe80 && len(frames) != 2 {
			t.Errorf("EBP loop: %d frames, want 2", len(frames))
		}
	}
	// A caller whose stack pointer would lie above the stack's top.
	st3 := newFakeStack(0x130000, 0x100, 4)
	st3.put(0x130000-8, 0x130100)
	st3.put(0x130000-4, x86RA1)
	w = NewWalker(ArchX86, x86Process(st3), x86Modules, Options{Windows: true, NoScan: true})
	frames, _ := w.Walk(x86Regs(0x401500, 0x12ff80, 0x130000-8), StackRange{0x12ff00, 0x12fff8}, StackRange{})
	if len(frames) != 1 {
		t.Errorf("a link outside the stack range followed: %d frames", len(frames))
	}
	// No starting registers.
	if _, err := w.Walk(Regs{Arch: ArchX86}, st3.rng(), StackRange{}); err != ErrNoContext {
		t.Errorf("empty registers: %v", err)
	}
}

// cfiDouble is a CFIUnwinder test double: a fixed rule for one module offset.
type cfiDouble struct {
	off   uint64
	rule  func(callee *Regs, mem MemoryReader) Regs
	calls int
}

func (c *cfiDouble) CallerRegs(m *Module, off uint64, callee *Regs, mem MemoryReader) (Regs, bool) {
	c.calls++
	if off != c.off {
		return Regs{}, false
	}
	return c.rule(callee, mem), true
}

// TestCFIHook: the walker takes the caller a CFIUnwinder gives (Breakpad's
// ".cfa: $esp 8 + .ra: .cfa -4 + ^" here), checks it like any other, and falls back
// when it is not sane.
func TestCFIHook(t *testing.T) {
	st := newFakeStack(0x130000, 0x1000, 4)
	st.put(0x12fe04, x86RA1)
	rule := func(callee *Regs, mem MemoryReader) Regs {
		var b [4]byte
		cfa := callee.Value(RegESP) + 8
		mem.ReadAt(b[:], cfa-4)
		c := Regs{Arch: ArchX86}
		c.Set(RegEIP, uint64(binary.LittleEndian.Uint32(b[:])))
		c.Set(RegESP, cfa)
		return c
	}
	cfi := &cfiDouble{off: 0x1500, rule: rule}
	w := NewWalker(ArchX86, x86Process(st), x86Modules, Options{CFI: cfi, NoScan: true})
	frames, _ := w.Walk(x86Regs(0x401500, 0x12fe00, 0), st.rng(), StackRange{})
	if len(frames) != 2 || frames[1].IP != x86RA1 || frames[1].SP != 0x12fe08 || frames[1].Trust != TrustCFI {
		t.Fatalf("CFI walk: %+v", frames)
	}
	// The caller of frame 1 was asked at the byte before its return address.
	if cfi.calls != 2 {
		t.Errorf("CFI asked %d times", cfi.calls)
	}
	// A rule that moves the stack pointer down is refused.
	bad := &cfiDouble{off: 0x1500, rule: func(callee *Regs, mem MemoryReader) Regs {
		c := rule(callee, mem)
		c.Set(RegESP, 0x12fd00)
		return c
	}}
	w = NewWalker(ArchX86, x86Process(st), x86Modules, Options{CFI: bad, NoScan: true})
	if frames, _ := w.Walk(x86Regs(0x401500, 0x12fe00, 0), st.rng(), StackRange{}); len(frames) != 1 {
		t.Errorf("a CFI result with SP going down was taken: %+v", frames)
	}
}
