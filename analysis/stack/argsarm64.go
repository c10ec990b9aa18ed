package stack

import (
	"strconv"
	"strings"
	"sync"

	"golang.org/x/arch/arm64/arm64asm"
)

// ARM64 decoding uses golang.org/x/arch/arm64/arm64asm (the Go project's ARM64
// disassembler). It keeps the immediates of memory operands and shifted
// immediates unexported, so they are read back from the operand's String form
// ("[SP,#-32]!", "#0x40"), which the package documents by example and its own
// tests fix.

// a64Reg maps an X or W register to its number (x29 is the frame pointer, 31
// the stack pointer); ok is false for XZR/WZR and non-general registers. wide
// is set for an X register.
func a64Reg(a arm64asm.Arg) (r Reg, wide, ok bool) {
	switch v := a.(type) {
	case arm64asm.Reg:
		switch {
		case v >= arm64asm.X0 && v <= arm64asm.X30:
			return Reg(v - arm64asm.X0), true, true
		case v >= arm64asm.W0 && v <= arm64asm.W30:
			return Reg(v - arm64asm.W0), false, true
		}
	case arm64asm.RegSP:
		switch rv := arm64asm.Reg(v); {
		case rv == arm64asm.SP:
			return RegSP64, true, true
		case rv == arm64asm.WSP:
			return RegSP64, false, true
		case rv >= arm64asm.X0 && rv <= arm64asm.X30:
			return Reg(rv - arm64asm.X0), true, true
		case rv >= arm64asm.W0 && rv <= arm64asm.W30:
			return Reg(rv - arm64asm.W0), false, true
		}
	}
	return 0, false, false
}

// a64Imm reads the immediate of an ImmShift or Imm operand ("#0x40",
// "#0x1, LSL #12").
func a64Imm(a arm64asm.Arg) (int64, bool) {
	switch v := a.(type) {
	case arm64asm.Imm:
		return int64(v.Imm), true
	case arm64asm.ImmShift:
		s := v.String()
		shift := int64(0)
		if i := strings.Index(s, ", LSL #"); i >= 0 {
			n, err := strconv.ParseInt(s[i+7:], 10, 64)
			if err != nil {
				return 0, false
			}
			shift, s = n, s[:i]
		} else if strings.Contains(s, ",") {
			return 0, false
		}
		n, err := strconv.ParseInt(strings.TrimPrefix(s, "#"), 0, 64)
		if err != nil || shift > 48 {
			return 0, false
		}
		return n << shift, true
	}
	return 0, false
}

// a64Mem reads a base-plus-immediate memory operand: its base register, the
// offset used for the access, and the writeback added to the base (0 without
// writeback).
func a64Mem(a arm64asm.Arg) (base Reg, off, wb int64, ok bool) {
	m, isMem := a.(arm64asm.MemImmediate)
	if !isMem || m.Mode == arm64asm.AddrPostReg {
		return 0, 0, 0, false
	}
	base, _, ok = a64Reg(m.Base)
	if !ok {
		return 0, 0, 0, false
	}
	s := m.String()
	imm := int64(0)
	if i := strings.Index(s, "#"); i >= 0 {
		j := i + 1
		for j < len(s) && (s[j] == '-' || s[j] >= '0' && s[j] <= '9') {
			j++
		}
		n, err := strconv.ParseInt(s[i+1:j], 10, 64)
		if err != nil {
			return 0, 0, 0, false
		}
		imm = n
	}
	switch m.Mode {
	case arm64asm.AddrOffset:
		return base, imm, 0, true
	case arm64asm.AddrPreIndex:
		return base, imm, imm, true
	case arm64asm.AddrPostIndex:
		return base, 0, imm, true
	}
	return 0, 0, 0, false
}

// a64ReadOnly are operations whose first operand is read, not written. This table,
// a64Stores and a64Loads are built on first use: a run that never decodes ARM64
// code does not pay for them at start-up.
var a64ReadOnly = sync.OnceValue(func() map[arm64asm.Op]bool {
	return map[arm64asm.Op]bool{
		arm64asm.CMP: true, arm64asm.CMN: true, arm64asm.TST: true, arm64asm.CCMP: true, arm64asm.CCMN: true,
		arm64asm.CBZ: true, arm64asm.CBNZ: true, arm64asm.TBZ: true, arm64asm.TBNZ: true,
		arm64asm.BR: true, arm64asm.BLR: true, arm64asm.RET: true, arm64asm.PRFM: true, arm64asm.NOP: true,
		arm64asm.B: true, arm64asm.BL: true, arm64asm.HINT: true,
	}
})

// a64Stores write their first operands to memory.
var a64Stores = sync.OnceValue(func() map[arm64asm.Op]int {
	return map[arm64asm.Op]int{
		arm64asm.STR: 1, arm64asm.STRB: 1, arm64asm.STRH: 1, arm64asm.STUR: 1, arm64asm.STURB: 1,
		arm64asm.STURH: 1, arm64asm.STP: 2, arm64asm.STNP: 2, arm64asm.STLR: 1, arm64asm.STLRB: 1, arm64asm.STLRH: 1,
	}
})

// a64Loads read memory into their first operands.
var a64Loads = sync.OnceValue(func() map[arm64asm.Op]int {
	return map[arm64asm.Op]int{
		arm64asm.LDR: 1, arm64asm.LDUR: 1, arm64asm.LDP: 2, arm64asm.LDNP: 2, arm64asm.LDRB: 1, arm64asm.LDRH: 1,
		arm64asm.LDRSB: 1, arm64asm.LDRSH: 1, arm64asm.LDRSW: 1, arm64asm.LDURB: 1, arm64asm.LDURH: 1,
		arm64asm.LDURSB: 1, arm64asm.LDURSH: 1, arm64asm.LDURSW: 1, arm64asm.LDPSW: 2, arm64asm.LDAR: 1,
	}
})

// decodeARM64 decodes the ARM64 instruction at va and describes its effect.
func (fl *argFlow) decodeARM64(va uint64) *flowInsn {
	b := fl.code.bytes(va, 4)
	if len(b) < 4 || va%4 != 0 {
		return &flowInsn{addr: va, kind: flowBadInsn}
	}
	inst, err := arm64asm.Decode(b)
	if err != nil {
		return &flowInsn{addr: va, kind: flowBadInsn}
	}
	in := &flowInsn{addr: va, len: 4, kind: flowNext}
	target := func(a arm64asm.Arg) (uint64, bool) {
		if r, ok := a.(arm64asm.PCRel); ok {
			return va + uint64(int64(r)), true
		}
		return 0, false
	}
	switch inst.Op {
	case arm64asm.BL, arm64asm.BLR:
		in.kind = flowCall
	case arm64asm.B:
		if _, cond := inst.Args[0].(arm64asm.Cond); cond {
			if t, ok := target(inst.Args[1]); ok {
				in.kind, in.target = flowBranch, t
			}
		} else if t, ok := target(inst.Args[0]); ok {
			in.kind, in.target = flowJump, t
		}
	case arm64asm.CBZ, arm64asm.CBNZ:
		if t, ok := target(inst.Args[1]); ok {
			in.kind, in.target = flowBranch, t
		}
	case arm64asm.TBZ, arm64asm.TBNZ:
		if t, ok := target(inst.Args[2]); ok {
			in.kind, in.target = flowBranch, t
		}
	case arm64asm.BR:
		// x16 and x17 (IP0, IP1) carry tail calls through import thunks and
		// veneers; another register is a jump table's, whose targets are inside
		// the function and not followed.
		in.kind = flowIndirect
		if r, _, ok := a64Reg(inst.Args[0]); ok && (r == 16 || r == 17) {
			in.kind = flowEnd
		}
	case arm64asm.RET, arm64asm.BRK, arm64asm.HLT:
		in.kind = flowEnd
	}
	in.apply = func(s *flowState) { fl.applyARM64(s, &inst, va) }
	return in
}

// applyARM64 changes s as the instruction does.
func (fl *argFlow) applyARM64(s *flowState, inst *arm64asm.Inst, va uint64) {
	// slot places an access through base at off: its offset from the entry
	// stack pointer; stack is false for a base that is not the stack pointer or
	// a frame pointer set from it.
	slot := func(base Reg, off int64) (at int64, stack, placed bool) {
		switch {
		case base == RegSP64:
			return s.sp + off, true, s.spKnown
		case base == RegFP64 && s.fpKnown:
			return s.fp + off, true, true
		}
		return 0, false, false
	}
	writeReg := func(r Reg, holds bool) {
		switch r {
		case RegSP64:
			s.spKnown = false
			s.clearSlots()
			return
		case RegFP64:
			s.fpKnown = false
		}
		s.setReg(r, holds, va)
	}
	writeback := func(base Reg, wb int64) {
		if wb == 0 {
			return
		}
		switch {
		case base == RegSP64 && s.spKnown:
			s.sp += wb
		case base == RegSP64:
			s.clearSlots()
		case base == RegFP64:
			s.fpKnown = false
			s.setReg(base, false, va)
		default:
			s.setReg(base, false, va)
		}
	}
	args := inst.Args
	op := inst.Op
	if n, ok := a64Stores()[op]; ok {
		mem := args[n]
		base, off, wb, ok := a64Mem(mem)
		if !ok {
			if m, isMem := mem.(arm64asm.MemImmediate); isMem {
				if b, _, _ := a64Reg(m.Base); b == RegSP64 || b == RegFP64 {
					s.clearSlots()
				}
			}
			return
		}
		at, stack, placed := slot(base, off)
		if stack && !placed {
			s.clearSlots()
		}
		for i := 0; i < n; i++ {
			size := int64(8)
			r, wide, isGPR := a64Reg(args[i])
			if !wide || op == arm64asm.STRB || op == arm64asm.STRH || op == arm64asm.STURB || op == arm64asm.STURH {
				size = 4
				if op == arm64asm.STRB || op == arm64asm.STURB {
					size = 1
				} else if op == arm64asm.STRH || op == arm64asm.STURH {
					size = 2
				}
			}
			if _, isReg := args[i].(arm64asm.Reg); isReg && !isGPR {
				size = 8 // D registers of an STP d8, d9; Q registers are 16, but pairs of them are rare in prologues
			}
			if !placed {
				continue
			}
			pos := at + int64(i)*size
			s.clobber(pos, int(size), fl.width)
			if isGPR && r != RegSP64 && s.hasReg(r) && size >= int64(fl.width) {
				s.addSlot(pos, va)
			}
		}
		writeback(base, wb)
		return
	}
	if n, ok := a64Loads()[op]; ok {
		base, off, wb, okMem := a64Mem(args[n])
		at, _, placed := slot(base, off)
		for i := 0; i < n; i++ {
			r, wide, isGPR := a64Reg(args[i])
			if !isGPR {
				continue
			}
			size := int64(8)
			if !wide {
				size = 4
			}
			holds := okMem && placed && (op == arm64asm.LDR || op == arm64asm.LDUR || op == arm64asm.LDP) &&
				wide && s.hasSlot(at+int64(i)*size)
			writeReg(r, holds)
		}
		if okMem {
			writeback(base, wb)
		} else if m, isMem := args[n].(arm64asm.MemImmediate); isMem && m.Mode != arm64asm.AddrOffset {
			if b, _, ok := a64Reg(m.Base); ok {
				writeReg(b, false)
			}
		}
		return
	}
	switch op {
	case arm64asm.BL, arm64asm.BLR:
		for r := Reg(0); r <= 18; r++ {
			s.setReg(r, false, va)
		}
		s.setReg(RegLR64, false, va)
		return
	case arm64asm.MOV:
		d, dw, okd := a64Reg(args[0])
		src, sw, oks := a64Reg(args[1])
		switch {
		case okd && d == RegFP64 && oks && src == RegSP64:
			s.setReg(RegFP64, false, va)
			s.fp, s.fpKnown = s.sp, s.spKnown
			return
		case okd && d == RegSP64 && oks && src == RegFP64:
			s.sp, s.spKnown = s.fp, s.fpKnown
			if !s.spKnown {
				s.clearSlots()
			}
			return
		case okd:
			holds := oks && src != RegSP64 && s.hasReg(src) && (dw && sw || fl.width <= 4)
			writeReg(d, holds)
			return
		}
		return
	case arm64asm.ADD, arm64asm.SUB:
		d, _, okd := a64Reg(args[0])
		src, _, oks := a64Reg(args[1])
		imm, isImm := a64Imm(args[2])
		if okd && oks && isImm && (d == RegSP64 || d == RegFP64) {
			if op == arm64asm.SUB {
				imm = -imm
			}
			var known bool
			var v int64
			switch {
			case src == RegSP64 && s.spKnown:
				known, v = true, s.sp+imm
			case src == RegFP64 && s.fpKnown:
				known, v = true, s.fp+imm
			}
			if d == RegSP64 {
				s.sp, s.spKnown = v, known
				if !known {
					s.clearSlots()
				}
			} else {
				s.setReg(RegFP64, false, va)
				s.fp, s.fpKnown = v, known
			}
			return
		}
	}
	if a64ReadOnly()[op] {
		return
	}
	// Every other operation writing a general register (including the status
	// register of a store-exclusive) is taken to destroy the argument there.
	if r, _, ok := a64Reg(args[0]); ok {
		writeReg(r, false)
	}
	// The exclusive pair loads write their second operand too.
	if op == arm64asm.LDXP || op == arm64asm.LDAXP {
		if r, _, ok := a64Reg(args[1]); ok {
			writeReg(r, false)
		}
	}
}
