package stack

import (
	"encoding/binary"

	"github.com/dumpmap/dumpmap/analysis/pe"
)

// x64 unwinding follows "x64 exception handling" (Microsoft C++ documentation,
// section "Unwind procedure"), which describes what RtlVirtualUnwind does: find
// the function's RUNTIME_FUNCTION; with none, the function is a leaf and [RSP]
// holds the return address; in an epilog, emulate the rest of it; in the prolog,
// undo only the operations already done; elsewhere undo them all, then those of
// any chained unwind info, and pop the return address.

// x64 volatile registers (the Windows x64 calling convention): not preserved
// across a call, so unknown in a caller frame.
var x64Volatile = []Reg{0, 1, 2, 8, 9, 10, 11} // rax rcx rdx r8-r11

// callerAMD64 finds the caller of the last frame on x64.
func (w *Walker) callerAMD64(frames []Frame) (Regs, Trust, bool, bool) {
	callee := &frames[len(frames)-1]
	if w.opts.Windows && callee.module >= 0 {
		if caller, interrupted, ok := w.unwindX64(callee); ok {
			return caller, TrustUnwind, interrupted, true
		}
	}
	if caller, ok := w.cfi(callee); ok || w.stop {
		return caller, TrustCFI, false, ok
	}
	if w.opts.Windows {
		// Without unwind data, the context frame may still be a leaf: try the
		// return address at [RSP], as Breakpad does.
		if callee.Trust == TrustContext {
			if ra, ok := w.sm.word(callee.SP); ok && w.plausibleReturn(ra) {
				c := callee.Regs
				c.clearRestored()
				c.Restore(RegRIP, ra, callee.SP)
				c.Set(RegRSP, callee.SP+8)
				if w.sane(callee, &c, false) {
					return c, TrustScan, false, true
				}
			}
		}
		// Windows x64 code keeps no frame-pointer chain, but code without unwind
		// data (generated, or hand-written) may: an RBP link is followed only when
		// the call before its return address can be seen.
		if c, ok := w.framePointerAMD64(callee, true); ok {
			return c, TrustFramePointer, false, true
		}
		w.stop = false
	} else if c, ok := w.framePointerAMD64(callee, false); ok || w.stop {
		return c, TrustFramePointer, false, ok
	}
	if at, ra, ok := w.scan(callee, w.scanWords(callee)); ok {
		c := Regs{Arch: ArchAMD64}
		c.Restore(RegRIP, ra, at)
		c.Set(RegRSP, at+8)
		// Keep a plausible RBP for a frame-pointer unwind further up: the one
		// saved just below the return address when the callee's RBP points there,
		// else the callee's when it lies above.
		if rbp, ok := callee.Regs.Get(RegRBP); ok {
			if at-8 == rbp {
				if v, ok := w.sm.word(rbp); ok && v > at {
					c.Restore(RegRBP, v, rbp)
				}
			} else if rbp >= at+8 {
				c.Set(RegRBP, rbp)
			}
		}
		if w.sane(callee, &c, false) {
			return c, TrustScan, false, true
		}
	}
	return Regs{}, TrustNone, false, false
}

// framePointerAMD64 follows the RBP chain: [RBP] is the caller's RBP and
// [RBP+8] the return address. The link must lie in the stack and lead to code;
// with verified, to code right after a call instruction the walker has read.
func (w *Walker) framePointerAMD64(callee *Frame, verified bool) (Regs, bool) {
	rbp, ok := callee.Regs.Get(RegRBP)
	if !ok || rbp%8 != 0 || rbp < callee.SP {
		return Regs{}, false
	}
	next, ok1 := w.sm.word(rbp)
	ra, ok2 := w.sm.word(rbp + 8)
	if !ok1 || !ok2 || ra >= 1<<47 && ra < 0xffff800000000000 {
		return Regs{}, false
	}
	if ra == 0 && next == 0 {
		w.stop = true // the outermost frame's link
		return Regs{}, false
	}
	// The caller's RBP must point into the stack above the caller's RSP, as
	// Breakpad requires: a function built without frame pointers leaves an outer
	// frame's RBP in place, and following it would skip the frames in between
	// (the outermost link, with RBP 0, is left to the scan as well).
	if next < rbp+16 {
		return Regs{}, false
	}
	if _, ok := w.sm.word(next); !ok {
		return Regs{}, false
	}
	// The return address must look like one, or the chain must go on (a frame in
	// generated code); with verified, a call must be seen before it.
	if verified {
		if ok, seen := w.returnCheck(ra); !ok || !seen {
			return Regs{}, false
		}
	} else if !w.fpReturnOK(ra, next) {
		return Regs{}, false
	}
	c := Regs{Arch: ArchAMD64}
	c.Restore(RegRIP, ra, rbp+8)
	c.Set(RegRSP, rbp+16)
	c.Restore(RegRBP, next, rbp)
	return c, w.sane(callee, &c, false)
}

// chainContinues reports whether a frame pointer value leads to one more link
// inside the stack, pointing upward: what keeps a frame whose return address lies
// in no known module (generated code) in a frame-pointer walk.
func (w *Walker) chainContinues(fp, ps uint64) bool {
	if fp == 0 || !w.sm.rng.known() {
		return false
	}
	next, ok := w.sm.word(fp)
	if !ok {
		return false
	}
	return next == 0 || (next > fp && w.sm.rng.Contains(next, ps))
}

// unwindX64 unwinds one frame with the module's exception directory. interrupted
// is set when the caller's IP is not a return address (a machine frame).
func (w *Walker) unwindX64(callee *Frame) (Regs, bool, bool) {
	st := w.unwindTable(callee.module)
	if st.pdata == nil {
		return Regs{}, false, false
	}
	m := &w.modules[callee.module]
	look := callee.lookupAddr()
	if look-m.Base > 0xffffffff {
		return Regs{}, false, false
	}
	fn, _, found, err := st.pdata.Lookup(uint32(look - m.Base))
	if err != nil {
		return Regs{}, false, false
	}
	c := callee.Regs
	c.clearRestored()
	rsp := c.Value(RegRSP)
	if !found {
		// A leaf function: it never moved RSP, so [RSP] is the return address. A
		// caller frame without an entry is not one (it made a call), so only the
		// interrupted frame may be unwound this way.
		if !callee.interrupted {
			return Regs{}, false, false
		}
		ra, ok := w.sm.word(rsp)
		if !ok {
			return Regs{}, false, false
		}
		c.Restore(RegRIP, ra, rsp)
		c.Set(RegRSP, rsp+8)
		w.x64Volatile(&c)
		if w.ended(&c) {
			return Regs{}, false, false
		}
		return c, false, w.sane(callee, &c, false)
	}
	pc := callee.IP
	offset := pc - (m.Base + uint64(fn.Begin))
	u, err := st.unwindInfo(fn.UnwindData)
	if err != nil {
		return Regs{}, false, false
	}
	if callee.interrupted && w.emulateEpilog(&c, m.Base+uint64(fn.Begin), m.Base+uint64(fn.End), u) {
		w.x64Volatile(&c)
		if w.ended(&c) {
			return Regs{}, false, false
		}
		return c, false, w.sane(callee, &c, false)
	}
	machine := false
	// The establisher frame: RSP, or the frame register less its offset once the
	// prolog has set it.
	frame := rsp
	if u.FrameRegister != 0 {
		set := offset >= uint64(u.PrologSize) || u.Flags&pe.UnwindFlagChainInfo != 0
		for _, code := range u.Codes {
			if code.Op == pe.UwopSetFPReg && uint64(code.CodeOffset) <= offset {
				set = true
			}
		}
		if set {
			fr, ok := c.Get(Reg(u.FrameRegister))
			if !ok {
				return Regs{}, false, false
			}
			frame = fr - uint64(u.FrameOffset)
		}
	}
	for depth := 0; u != nil; depth++ {
		if depth >= maxChain {
			return Regs{}, false, false
		}
		inProlog := depth == 0 && offset < uint64(u.PrologSize)
		for _, code := range u.Codes {
			if inProlog && uint64(code.CodeOffset) > offset {
				continue // not executed yet
			}
			if !w.undoX64(&c, code, u, frame, &machine) {
				return Regs{}, false, false
			}
		}
		if u.Chained == nil {
			break
		}
		if u, err = st.unwindInfo(u.Chained.UnwindData); err != nil {
			return Regs{}, false, false
		}
	}
	if !machine {
		rsp = c.Value(RegRSP)
		ra, ok := w.sm.word(rsp)
		if !ok {
			return Regs{}, false, false
		}
		c.Restore(RegRIP, ra, rsp)
		c.Set(RegRSP, rsp+8)
	}
	w.x64Volatile(&c)
	if w.ended(&c) {
		return Regs{}, false, false
	}
	return c, machine, w.sane(callee, &c, false)
}

// undoX64 undoes one unwind code.
func (w *Walker) undoX64(c *Regs, code pe.UnwindCode, u *pe.UnwindInfo, frame uint64, machine *bool) bool {
	rsp := c.Value(RegRSP)
	switch code.Op {
	case pe.UwopPushNonvol:
		v, ok := w.sm.word(rsp)
		if !ok {
			return false
		}
		c.Restore(Reg(code.OpInfo), v, rsp)
		c.Set(RegRSP, rsp+8)
	case pe.UwopAllocLarge, pe.UwopAllocSmall:
		c.Set(RegRSP, rsp+uint64(code.Value))
	case pe.UwopSetFPReg:
		fr, ok := c.Get(Reg(u.FrameRegister))
		if !ok {
			return false
		}
		c.Set(RegRSP, fr-uint64(u.FrameOffset))
	case pe.UwopSaveNonvol, pe.UwopSaveNonvolFar:
		a := frame + uint64(code.Value)
		v, ok := w.sm.word(a)
		if !ok {
			return false
		}
		c.Restore(Reg(code.OpInfo), v, a)
	case pe.UwopSaveXMM128, pe.UwopSaveXMM128Far:
		var b [16]byte
		a := frame + uint64(code.Value)
		if _, err := w.sm.ReadAt(b[:], a); err != nil {
			return false
		}
		c.RestoreVector(int(code.OpInfo), b)
	case pe.UwopPushMachFrame:
		// RIP at [RSP], RSP at [RSP+24]; both 8 bytes further with an error code.
		base := rsp
		if code.OpInfo == 1 {
			base += 8
		}
		ip, ok1 := w.sm.word(base)
		sp, ok2 := w.sm.word(base + 24)
		if !ok1 || !ok2 {
			return false
		}
		c.Restore(RegRIP, ip, base)
		c.Restore(RegRSP, sp, base+24)
		*machine = true
	default:
		return false
	}
	return true
}

// x64Volatile forgets the registers a call does not preserve.
func (w *Walker) x64Volatile(c *Regs) {
	for _, r := range x64Volatile {
		c.Invalidate(r)
	}
	c.vecValid &^= 0x3f // xmm0-5 are volatile
}

// emulateEpilog recognizes an epilog at the interrupted RIP and, if the code from
// there on is the rest of one, carries it out: an optional "add rsp, imm" or
// "lea rsp, [frame register + disp]", pops of nonvolatile registers, and a return
// or a jump out of the function (a tail call). It reports whether it did; the
// registers are changed only then.
func (w *Walker) emulateEpilog(out *Regs, begin, end uint64, u *pe.UnwindInfo) bool {
	c := out
	pc := c.Value(RegRIP)
	n := min(uint64(maxCodeRead), end-pc)
	if pc >= end || n == 0 {
		return false
	}
	code := make([]byte, n)
	if w.readCode(code, pc) != nil {
		// Near the end of readable code a shorter read may still hold the epilog.
		code = code[:min(n, 16)]
		if w.readCode(code, pc) != nil {
			return false
		}
	}
	type op struct {
		kind  byte // 'a' add rsp, 'l' lea rsp, 'p' pop, 'r' ret
		reg   Reg
		value uint64
	}
	var ops []op
	i := 0
	le := binary.LittleEndian
	// add rsp, imm8 / imm32 (48 83 C4 ib, 48 81 C4 id), or lea rsp, [reg+disp]
	// (REX.W 8D /4 with mod 01 or 10), only as the first instruction.
	if i+4 <= len(code) && code[0] == 0x48 && code[1] == 0x83 && code[2] == 0xc4 {
		ops = append(ops, op{kind: 'a', value: uint64(int64(int8(code[3])))})
		i = 4
	} else if i+7 <= len(code) && code[0] == 0x48 && code[1] == 0x81 && code[2] == 0xc4 {
		ops = append(ops, op{kind: 'a', value: uint64(int64(int32(le.Uint32(code[3:]))))})
		i = 7
	} else if len(code) >= 4 && (code[0] == 0x48 || code[0] == 0x49) && code[1] == 0x8d && u.FrameRegister != 0 {
		modrm := code[2]
		rm := Reg(modrm&7) | Reg(code[0]&1)<<3
		if modrm>>3&7 == 4 && rm == Reg(u.FrameRegister) && modrm&7 != 4 {
			switch modrm >> 6 {
			case 1:
				ops = append(ops, op{kind: 'l', reg: rm, value: uint64(int64(int8(code[3])))})
				i = 4
			case 2:
				if len(code) >= 7 {
					ops = append(ops, op{kind: 'l', reg: rm, value: uint64(int64(int32(le.Uint32(code[3:]))))})
					i = 7
				}
			}
		}
	}
	for i < len(code) {
		b := code[i]
		switch {
		case b >= 0x58 && b <= 0x5f:
			ops = append(ops, op{kind: 'p', reg: Reg(b - 0x58)})
			i++
			continue
		case b == 0x41 && i+1 < len(code) && code[i+1] >= 0x58 && code[i+1] <= 0x5f:
			ops = append(ops, op{kind: 'p', reg: Reg(code[i+1]-0x58) + 8})
			i += 2
			continue
		case b == 0xc3, b == 0xc2, b == 0xf3 && i+1 < len(code) && code[i+1] == 0xc3:
			ops = append(ops, op{kind: 'r'})
		case b == 0xe9 && i+5 <= len(code):
			t := pc + uint64(i) + 5 + uint64(int64(int32(le.Uint32(code[i+1:]))))
			if t >= begin && t < end {
				return false // a jump inside the function is not an epilog
			}
			ops = append(ops, op{kind: 'r'})
		case b == 0xeb && i+2 <= len(code):
			t := pc + uint64(i) + 2 + uint64(int64(int8(code[i+1])))
			if t >= begin && t < end {
				return false
			}
			ops = append(ops, op{kind: 'r'})
		case b == 0xff && i+2 <= len(code) && code[i+1] == 0x25,
			b == 0x48 && i+3 <= len(code) && code[i+1] == 0xff && code[i+2] == 0x25:
			ops = append(ops, op{kind: 'r'}) // jmp [rip+disp]: a tail call through the IAT
		default:
			return false
		}
		break
	}
	if len(ops) == 0 || ops[len(ops)-1].kind != 'r' {
		return false
	}
	// It is an epilog: carry it out, on a copy until every read succeeded.
	t := *c
	c = &t
	for _, o := range ops {
		rsp := c.Value(RegRSP)
		switch o.kind {
		case 'a':
			c.Set(RegRSP, rsp+o.value)
		case 'l':
			fr, ok := c.Get(o.reg)
			if !ok {
				return false
			}
			c.Set(RegRSP, fr+o.value)
		case 'p':
			v, ok := w.sm.word(rsp)
			if !ok {
				return false
			}
			c.Restore(o.reg, v, rsp)
			c.Set(RegRSP, rsp+8)
		case 'r':
			v, ok := w.sm.word(rsp)
			if !ok {
				return false
			}
			c.Restore(RegRIP, v, rsp)
			c.Set(RegRSP, rsp+8)
		}
	}
	*out = t
	return true
}
