package stack

import (
	"fmt"
)

// Arg is an integer argument of a frame's function, as far as the dump shows it:
// WinDbg's `k b` on x86, and on x64 and ARM64 the register or stack slot the
// function copied its argument to before the call the frame is stopped at.
//
// An argument passed in a register (x64's rcx, rdx, r8, r9; ARM64's x0-x7) is
// lost once the function makes a call, since those registers are volatile. It
// survives where the function copied it: to a nonvolatile register (Wine's
// msvcr120 operator new moves rcx to rsi before calling its heap allocator), or
// to a stack slot (its home slot or a spill slot). Argument finds such a copy by
// following every path through the function's code from its entry to the frame's
// call and keeping only the places that hold the argument on all of them; the
// unwinder then supplies the nonvolatile register's value for that frame, or the
// stack holds the slot.
type Arg struct {
	// Index is the argument's position, 0 for the first.
	Index int
	// Known is set when Value is the argument's value; otherwise Why says why not.
	Known bool
	Value uint64
	// Reg names the register Value was read from ("rsi"), "" when it came from
	// the stack; Addr is then the stack address.
	Reg  string
	Addr uint64
	// CopiedAt is the address of the instruction that copied the argument to Reg
	// or Addr, 0 when it stayed where the caller passed it.
	CopiedAt uint64
	// Function is the address of the function's first instruction.
	Function uint64
	// Caveat says what could not be checked about a Known value ("" when
	// everything was): an x86 function whose stack writes after a call could not
	// be placed may have reused its argument slot, as `k b` also ignores.
	Caveat string
	// Why says why the argument is not known.
	Why string
}

// Where describes where the argument was found, for evidence: "rsi (copied from
// rcx at 0x2ea8c5d2e)" or "stack 0x21fc08 (argument slot)".
func (a Arg) Where() string {
	var s string
	if a.Reg != "" {
		s = a.Reg
	} else {
		s = fmt.Sprintf("stack %#x", a.Addr)
	}
	if a.CopiedAt != 0 {
		s += fmt.Sprintf(" (copied at %#x)", a.CopiedAt)
	} else if a.Reg == "" {
		s += " (argument slot)"
	}
	return s
}

// Limits of the code Argument reads and follows.
const (
	// maxArgFunction bounds the bytes of one function Argument follows: the
	// allocators it is asked about are a few KB at most.
	maxArgFunction = 256 << 10
	// maxArgInsns bounds the instructions decoded.
	maxArgInsns = 1 << 15
	// maxArgSteps bounds the dataflow steps (each instruction's state only
	// shrinks, so a fixpoint comes long before).
	maxArgSteps = 1 << 20
	// maxArgSlots bounds the stack slots tracked as holding the argument.
	maxArgSlots = 16
)

// Argument recovers integer argument n (0-based) of the function of frames[k],
// width bytes wide (8 for a size_t on a 64-bit process, 4 for a DWORD), as the
// function received it. frames is a walk's result; the frame above (k+1) helps
// place stack slots. A value is returned only when the code proves it is the
// argument; otherwise Why says what is missing (the code, the function's start,
// a copy that survives to the call, the register's value in the frame).
func (w *Walker) Argument(frames []Frame, k, n, width int) Arg {
	a := Arg{Index: n}
	if k < 0 || k >= len(frames) || n < 0 || n > 64 {
		a.Why = "no such frame or argument"
		return a
	}
	if width <= 0 || width > w.arch.PointerSize() {
		width = w.arch.PointerSize()
	}
	f := &frames[k]
	if w.arch != ArchAMD64 && w.arch != ArchX86 && w.arch != ArchARM64 {
		a.Why = fmt.Sprintf("arguments are not recovered on %s", w.arch)
		return a
	}
	ranges, _, why := w.functionRanges(f)
	if why != "" {
		a.Why = why
		return a
	}
	a.Function = ranges[0][0]
	fl := newArgFlow(w, ranges, width)
	if why := fl.run(n); why != "" {
		a.Why = why
		return a
	}
	st, why := fl.stateAt(f)
	if why != "" {
		a.Why = why
		return a
	}
	return fl.read(a, st, frames, k)
}

// FunctionStart returns the address of the first instruction of the function
// holding frame f, and whether it comes from the module's unwind data (exact)
// rather than the frame's symbol (which for a name taken from the nearest
// export may be an earlier function's).
func (w *Walker) FunctionStart(f *Frame) (uint64, bool) {
	r, unwind, why := w.functionRanges(f)
	if why != "" {
		return 0, false
	}
	return r[0][0], unwind
}

// functionRanges finds the code of the function holding frame f: from the
// exception directory on x64 and ARM64 (the primary entry first when the one
// holding the address is chained to it; unwind is then set), else from the
// symbol's start.
func (w *Walker) functionRanges(f *Frame) (ranges [][2]uint64, unwind bool, why string) {
	look := f.lookupAddr()
	i := w.moduleIndex(look)
	if i < 0 {
		return nil, false, fmt.Sprintf("%#x is in no module", f.IP)
	}
	m := &w.modules[i]
	if w.arch == ArchAMD64 || w.arch == ArchARM64 {
		st := w.unwindTable(i)
		if st.pdata != nil && look-m.Base <= 0xffffffff {
			fn, _, found, err := st.pdata.Lookup(uint32(look - m.Base))
			if err == nil && found {
				if fn.End <= fn.Begin {
					return nil, false, "the function's length is not in its unwind data"
				}
				r := [][2]uint64{{m.Base + uint64(fn.Begin), m.Base + uint64(fn.End)}}
				if w.arch == ArchAMD64 {
					u, err := st.unwindInfo(fn.UnwindData)
					for depth := 0; err == nil && u != nil && u.Chained != nil; depth++ {
						if depth >= maxChain {
							return nil, false, "the function's unwind data chains too deep"
						}
						c := *u.Chained
						if c.End <= c.Begin {
							return nil, false, "a chained unwind entry is empty"
						}
						r = append([][2]uint64{{m.Base + uint64(c.Begin), m.Base + uint64(c.End)}}, r...)
						u, err = st.unwindInfo(c.UnwindData)
					}
				} else if fn.ARM64Flag() == 2 {
					return nil, false, "the code is a fragment of a function split by the compiler; its entry is elsewhere"
				}
				return r, true, ""
			}
		}
	}
	if f.Function == "" {
		return nil, false, "the function's start is unknown (no unwind entry and no symbol)"
	}
	begin := f.IP - f.FunctionOffset
	if begin < m.Base {
		return nil, false, "the symbol's start lies outside its module"
	}
	end := min(m.End(), begin+maxArgFunction)
	return [][2]uint64{{begin, end}}, false, ""
}

// argFlow follows one argument through one function's code.
type argFlow struct {
	w      *Walker
	arch   Arch
	ranges [][2]uint64
	entry  uint64
	width  int
	// sysv is set for x64 code of the System V convention (not Windows).
	sysv  bool
	insns map[uint64]*flowInsn
	in    map[uint64]*flowState // the state before each instruction
	code  codeCache
}

// flowState is what holds the argument before an instruction, on every path.
type flowState struct {
	regs  uint64  // registers (by Reg number) that hold it
	slots []int64 // stack slots, by offset from the stack pointer at entry
	// sp is the stack pointer's offset from its value at entry; fp that of the
	// frame pointer (rbp, ebp, x29) when it was set from the stack pointer.
	sp, fp           int64
	spKnown, fpKnown bool
	// unverified is set when a stack write could not be placed and the slots
	// were kept anyway (x86 after a call, whose callee may pop its arguments).
	unverified bool
	// copies records where each location got the argument, for CopiedAt.
	copies map[int64]uint64
}

// regKey keys a register in flowState.copies, whose other keys are stack slot
// offsets: those lie within maxArgFunction-sized frames, far above -2^40.
func regKey(r Reg) int64 { return -1 - int64(r) - 1<<40 }

func (s *flowState) clone() *flowState {
	c := *s
	c.slots = append([]int64(nil), s.slots...)
	if s.copies != nil {
		c.copies = make(map[int64]uint64, len(s.copies))
		for k, v := range s.copies {
			c.copies[k] = v
		}
	}
	return &c
}

func (s *flowState) hasReg(r Reg) bool { return r < 64 && s.regs&(1<<r) != 0 }
func (s *flowState) setReg(r Reg, v bool, at uint64) {
	if r >= 64 {
		return
	}
	if v {
		s.regs |= 1 << r
		s.noteCopy(regKey(r), at)
	} else {
		s.regs &^= 1 << r
		delete(s.copies, regKey(r))
	}
}

func (s *flowState) noteCopy(key int64, at uint64) {
	if s.copies == nil {
		s.copies = map[int64]uint64{}
	}
	s.copies[key] = at
}

func (s *flowState) hasSlot(off int64) bool {
	for _, o := range s.slots {
		if o == off {
			return true
		}
	}
	return false
}

// addSlot records that the slot at off holds the argument.
func (s *flowState) addSlot(off int64, at uint64) {
	if s.hasSlot(off) {
		s.noteCopy(off, at)
		return
	}
	if len(s.slots) >= maxArgSlots {
		return
	}
	s.slots = append(s.slots, off)
	s.noteCopy(off, at)
}

// clobber forgets the slots that overlap n bytes written at off.
func (s *flowState) clobber(off int64, n int, width int) {
	out := s.slots[:0]
	for _, o := range s.slots {
		if o+int64(width) > off && o < off+int64(n) {
			delete(s.copies, o)
			continue
		}
		out = append(out, o)
	}
	s.slots = out
}

func (s *flowState) clearSlots() {
	for _, o := range s.slots {
		delete(s.copies, o)
	}
	s.slots = s.slots[:0]
}

// join keeps what holds on both paths; it reports whether s changed.
func (s *flowState) join(o *flowState) bool {
	changed := false
	if r := s.regs & o.regs; r != s.regs {
		for b := Reg(0); b < 64; b++ {
			if s.regs&(1<<b) != 0 && r&(1<<b) == 0 {
				delete(s.copies, regKey(b))
			}
		}
		s.regs, changed = r, true
	}
	out := s.slots[:0]
	for _, x := range s.slots {
		if o.hasSlot(x) {
			out = append(out, x)
		} else {
			delete(s.copies, x)
			changed = true
		}
	}
	s.slots = out
	// Where copies differ between paths, the first one found is kept: CopiedAt
	// is for evidence, and either copy proves the value.
	if s.spKnown && (!o.spKnown || o.sp != s.sp) {
		s.spKnown, changed = false, true
		s.clearSlots()
	}
	if s.fpKnown && (!o.fpKnown || o.fp != s.fp) {
		s.fpKnown, changed = false, true
	}
	if o.unverified && !s.unverified {
		s.unverified, changed = true, true
	}
	return changed
}

// flowKind is how an instruction passes control on.
type flowKind uint8

const (
	flowNext     flowKind = iota // to the next instruction
	flowCall                     // a call, then the next instruction
	flowJump                     // to target only
	flowBranch                   // to target or the next instruction
	flowEnd                      // nowhere in this function (return, indirect jump, trap)
	flowBadInsn                  // undecodable
	flowIndirect                 // an indirect jump: a jump table or a tail call
)

// flowInsn is one decoded instruction and its effect on the argument.
type flowInsn struct {
	addr   uint64
	len    int
	kind   flowKind
	target uint64
	// apply changes the state as the instruction does.
	apply func(s *flowState)
}

func newArgFlow(w *Walker, ranges [][2]uint64, width int) *argFlow {
	fl := &argFlow{w: w, arch: w.arch, ranges: ranges, entry: ranges[0][0], width: width,
		insns: map[uint64]*flowInsn{}, in: map[uint64]*flowState{}}
	fl.sysv = w.arch == ArchAMD64 && !w.opts.Windows
	fl.code.w = w
	return fl
}

// inFunction reports whether va is in the function's code.
func (fl *argFlow) inFunction(va uint64) bool {
	for _, r := range fl.ranges {
		if va >= r[0] && va < r[1] {
			return true
		}
	}
	return false
}

// initial is the state at the function's entry: where the calling convention
// puts argument n.
func (fl *argFlow) initial(n int) *flowState {
	s := &flowState{spKnown: true}
	switch fl.arch {
	case ArchAMD64:
		if fl.sysv {
			// System V AMD64 (Linux, macOS): rdi, rsi, rdx, rcx, r8, r9, then the
			// stack above the return address.
			if n < 6 {
				s.setReg([]Reg{RegRDI, RegRSI, RegRDX, RegRCX, 8, 9}[n], true, 0)
			} else {
				s.addSlot(8+8*int64(n-6), 0)
			}
			break
		}
		// Microsoft x64: rcx, rdx, r8, r9, then the stack above the return address
		// and the four home slots.
		if n < 4 {
			s.setReg([]Reg{RegRCX, RegRDX, 8, 9}[n], true, 0)
		} else {
			s.addSlot(8+8*int64(n), 0)
		}
	case ArchX86:
		// cdecl and stdcall: on the stack above the return address.
		s.addSlot(4+4*int64(n), 0)
	case ArchARM64:
		// AAPCS64: x0-x7, then the stack.
		if n < 8 {
			s.setReg(Reg(n), true, 0)
		} else {
			s.addSlot(8*int64(n-8), 0)
		}
	}
	return s
}

// decode decodes the instruction at va (cached).
func (fl *argFlow) decode(va uint64) *flowInsn {
	if in, ok := fl.insns[va]; ok {
		return in
	}
	var in *flowInsn
	if len(fl.insns) >= maxArgInsns {
		in = &flowInsn{addr: va, kind: flowBadInsn}
	} else if fl.arch == ArchARM64 {
		in = fl.decodeARM64(va)
	} else {
		in = fl.decodeX86(va)
	}
	fl.insns[va] = in
	return in
}

// run follows the argument from the entry over every path, to a fixpoint.
func (fl *argFlow) run(n int) string {
	fl.in[fl.entry] = fl.initial(n)
	work := []uint64{fl.entry}
	for steps := 0; len(work) > 0; steps++ {
		if steps >= maxArgSteps {
			return "the function's code is too large to follow"
		}
		va := work[len(work)-1]
		work = work[:len(work)-1]
		in := fl.decode(va)
		// Where a path goes on cannot be told past an instruction that cannot be
		// decoded or a jump through a table: any later instruction might follow,
		// so no copy can be proven to survive.
		switch in.kind {
		case flowBadInsn:
			if len(fl.insns) >= maxArgInsns {
				return "the function's code is too large to follow"
			}
			return fmt.Sprintf("the code at %#x could not be read or decoded, so not every path through the function can be followed", va)
		case flowIndirect:
			return fmt.Sprintf("the indirect jump at %#x (a switch) leads to code that is not followed", va)
		}
		out := fl.in[va].clone()
		in.apply(out)
		var succ [2]uint64
		ns := 0
		switch in.kind {
		case flowNext, flowCall:
			succ[0], ns = va+uint64(in.len), 1
		case flowJump:
			succ[0], ns = in.target, 1
		case flowBranch:
			succ[0], succ[1], ns = in.target, va+uint64(in.len), 2
		}
		for _, s := range succ[:ns] {
			// A jump out of the function is a tail call: the path ends.
			if !fl.inFunction(s) {
				continue
			}
			if cur, ok := fl.in[s]; ok {
				if cur.join(out) {
					work = append(work, s)
				}
			} else {
				fl.in[s] = out.clone()
				work = append(work, s)
			}
		}
	}
	return ""
}

// stateAt is the state where frame f stands: after its call returned, for a
// caller frame; before the interrupted instruction, for the context frame.
func (fl *argFlow) stateAt(f *Frame) (*flowState, string) {
	notReached := func(what string) string {
		return fmt.Sprintf("%s is not reached by following the function's code from its entry %#x", what, fl.entry)
	}
	if f.interrupted {
		st := fl.in[f.IP]
		if st == nil {
			return nil, notReached(fmt.Sprintf("the instruction at %#x", f.IP))
		}
		return st, ""
	}
	for va, in := range fl.insns {
		if in.kind == flowCall && va+uint64(in.len) == f.IP {
			st := fl.in[va]
			if st == nil {
				return nil, notReached(fmt.Sprintf("the call at %#x", va))
			}
			st = st.clone()
			in.apply(st)
			return st, ""
		}
	}
	return nil, notReached(fmt.Sprintf("a call returning to %#x", f.IP))
}

// read turns the state at the frame's point into the argument's value: from a
// register the frame knows, else from a captured stack slot.
func (fl *argFlow) read(a Arg, st *flowState, frames []Frame, k int) Arg {
	f := &frames[k]
	mask := ^uint64(0)
	if fl.width < 8 {
		mask = 1<<(8*fl.width) - 1
	}
	if st.unverified {
		a.Caveat = "a stack write after a call could not be placed, so the function may have reused the slot (as `k b` also assumes it did not)"
	}
	var unknownRegs []string
	for r := Reg(0); r < 64; r++ {
		if !st.hasReg(r) {
			continue
		}
		if !f.interrupted && fl.volatile(r) {
			continue
		}
		v, ok := f.Regs.Get(r)
		if !ok {
			unknownRegs = append(unknownRegs, fl.arch.RegName(r))
			continue
		}
		a.Known, a.Value, a.Reg = true, v&mask, fl.arch.RegName(r)
		a.CopiedAt = st.copies[regKey(r)]
		return a
	}
	var why []string
	if len(unknownRegs) > 0 {
		why = append(why, fmt.Sprintf("%s holds it, but the unwinder did not recover %s for this frame", unknownRegs[0], unknownRegs[0]))
	}
	if len(st.slots) > 0 {
		entry, whyNot := fl.entrySP(st, frames, k)
		if whyNot != "" {
			why = append(why, whyNot)
		} else {
			for _, off := range st.slots {
				addr := entry + uint64(off)
				var b [8]byte
				p := b[:fl.arch.PointerSize()]
				if nr, err := fl.w.mem.ReadAt(p, addr); err != nil || nr != len(p) {
					why = append(why, fmt.Sprintf("the stack slot at %#x that holds it is not in the dump", addr))
					continue
				}
				v := uint64(0)
				for i := len(p) - 1; i >= 0; i-- {
					v = v<<8 | uint64(p[i])
				}
				a.Known, a.Value, a.Addr = true, v&mask, addr
				a.CopiedAt = st.copies[off]
				return a
			}
		}
	}
	if len(why) == 0 {
		where := "the call"
		if f.interrupted {
			where = "the instruction"
		}
		why = append(why, fmt.Sprintf("no copy of it survives to %s at this frame: the function keeps it only in volatile registers or overwrote it", where))
	}
	a.Why = why[0]
	return a
}

// entrySP is the stack pointer at the function's entry: the frame's stack
// pointer less the offset the code moved it by, or the caller frame's stack
// pointer less the return address. Where both are known they must agree.
func (fl *argFlow) entrySP(st *flowState, frames []Frame, k int) (uint64, string) {
	f := &frames[k]
	var fromCaller uint64
	haveCaller := k+1 < len(frames) && frames[k+1].SP != 0
	if haveCaller {
		fromCaller = frames[k+1].SP
		if fl.arch != ArchARM64 {
			fromCaller -= uint64(fl.arch.PointerSize())
		}
	}
	if st.spKnown {
		own := f.Regs.SP() - uint64(st.sp)
		if haveCaller && fromCaller != own && frames[k+1].Trust != TrustScan {
			return 0, fmt.Sprintf("the stack pointer at the function's entry is ambiguous (%#x from this frame, %#x from its caller)", own, fromCaller)
		}
		return own, ""
	}
	if haveCaller {
		return fromCaller, ""
	}
	return 0, "the stack pointer at the function's entry is unknown"
}

// volatile reports whether a call may change register r: the caller-saved
// registers of the function's calling convention.
func (fl *argFlow) volatile(r Reg) bool {
	if fl.sysv {
		return r <= RegRDX || r == RegRSI || r == RegRDI || (r >= 8 && r <= 11) || r == RegRIP
	}
	return volatileReg(fl.arch, r)
}

// volatileReg reports whether a call may change register r: the caller-saved
// registers of the Windows x64, x86 and ARM64 conventions.
func volatileReg(a Arch, r Reg) bool {
	switch a {
	case ArchAMD64:
		return r <= RegRDX || (r >= 8 && r <= 11) || r == RegRIP
	case ArchX86:
		return r <= 2 || r == RegEIP // eax, ecx, edx
	case ArchARM64:
		return r <= 18 || r == RegLR64 || r == RegPC64
	}
	return true
}

// codeCache reads a function's code a page at a time.
type codeCache struct {
	w    *Walker
	base uint64
	page []byte
	ok   bool
}

const codePage = 4096

// bytes returns up to n bytes of code at va (fewer at the end of what can be
// read), nil when none can be read.
func (c *codeCache) bytes(va uint64, n int) []byte {
	out := make([]byte, 0, n)
	for len(out) < n {
		p := c.pageAt(va + uint64(len(out)))
		if p == nil {
			break
		}
		off := int((va + uint64(len(out))) - c.base)
		take := min(n-len(out), len(p)-off)
		out = append(out, p[off:off+take]...)
	}
	if len(out) < n {
		// The page as a whole may not be readable (the image's section ends
		// inside it): read just what is asked.
		b := make([]byte, n)
		for m := n; m > len(out); m /= 2 {
			if c.w.readCodeN(b[:m], va) == nil {
				return b[:m]
			}
		}
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

func (c *codeCache) pageAt(va uint64) []byte {
	base := va &^ (codePage - 1)
	if c.page != nil && c.base == base {
		if c.ok {
			return c.page
		}
		return nil
	}
	if c.page == nil {
		c.page = make([]byte, codePage)
	}
	c.base = base
	c.ok = c.w.readCodeN(c.page, base) == nil
	if c.ok {
		return c.page
	}
	return nil
}
