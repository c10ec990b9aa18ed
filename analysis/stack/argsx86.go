package stack

import (
	"sync"

	"golang.org/x/arch/x86/x86asm"
)

// Argument's x86 and x64 decoding uses golang.org/x/arch/x86/x86asm, the Go
// project's own disassembler (it backs `go tool objdump`): decoding x86 by hand
// is a large table nobody should keep twice.

// x86Reg maps a general register of any width to its number (the ModRM
// numbering Reg uses) and its width in bytes; ok is false for other registers.
// AH, CH, DH and BH are the second byte of rax..rbx.
func x86Reg(r x86asm.Reg) (Reg, int, bool) {
	switch {
	case r >= x86asm.AL && r <= x86asm.BL:
		return Reg(r - x86asm.AL), 1, true
	case r >= x86asm.AH && r <= x86asm.BH:
		return Reg(r - x86asm.AH), 1, true
	case r >= x86asm.SPB && r <= x86asm.R15B:
		return Reg(r-x86asm.SPB) + 4, 1, true
	case r >= x86asm.AX && r <= x86asm.R15W:
		return Reg(r - x86asm.AX), 2, true
	case r >= x86asm.EAX && r <= x86asm.R15L:
		return Reg(r - x86asm.EAX), 4, true
	case r >= x86asm.RAX && r <= x86asm.R15:
		return Reg(r - x86asm.RAX), 8, true
	}
	return 0, 0, false
}

const (
	x86SP = Reg(4)
	x86FP = Reg(5)
)

// x86ReadOnlyFirst are the operations whose first operand is read, not written.
// This table, x86Implicit and x86Branch are built on first use: a run that never
// decodes x86 code does not pay for them at start-up.
var x86ReadOnlyFirst = sync.OnceValue(func() map[x86asm.Op]bool {
	return map[x86asm.Op]bool{
		x86asm.CMP: true, x86asm.TEST: true, x86asm.BT: true, x86asm.PUSH: true,
		x86asm.CALL: true, x86asm.JMP: true, x86asm.NOP: true, x86asm.LJMP: true, x86asm.LCALL: true,
		x86asm.PREFETCHNTA: true, x86asm.PREFETCHT0: true, x86asm.PREFETCHT1: true, x86asm.PREFETCHT2: true,
		x86asm.PREFETCHW: true, x86asm.CLFLUSH: true, x86asm.UCOMISS: true, x86asm.UCOMISD: true,
		x86asm.COMISS: true, x86asm.COMISD: true, x86asm.PTEST: true, x86asm.LFENCE: true,
		x86asm.MFENCE: true, x86asm.SFENCE: true, x86asm.PAUSE: true,
	}
})

// x86Implicit are operations that write registers they do not name. They are
// taken to write every register they might (rax, rcx, rdx, rbx, rsi, rdi):
// forgetting a copy is safe, keeping a clobbered one is not.
var x86Implicit = sync.OnceValue(func() map[x86asm.Op]bool {
	return map[x86asm.Op]bool{
		x86asm.MUL: true, x86asm.DIV: true, x86asm.IDIV: true, x86asm.CWD: true, x86asm.CDQ: true,
		x86asm.CQO: true, x86asm.CBW: true, x86asm.CWDE: true, x86asm.CDQE: true, x86asm.CPUID: true,
		x86asm.RDTSC: true, x86asm.RDTSCP: true, x86asm.RDPMC: true, x86asm.RDMSR: true, x86asm.XGETBV: true,
		x86asm.SYSCALL: true, x86asm.SYSENTER: true, x86asm.LOOP: true, x86asm.LOOPE: true, x86asm.LOOPNE: true,
		x86asm.MOVSB: true, x86asm.MOVSW: true, x86asm.MOVSD: true, x86asm.MOVSQ: true,
		x86asm.STOSB: true, x86asm.STOSW: true, x86asm.STOSD: true, x86asm.STOSQ: true,
		x86asm.LODSB: true, x86asm.LODSW: true, x86asm.LODSD: true, x86asm.LODSQ: true,
		x86asm.SCASB: true, x86asm.SCASW: true, x86asm.SCASD: true, x86asm.SCASQ: true,
		x86asm.CMPSB: true, x86asm.CMPSW: true, x86asm.CMPSD: true, x86asm.CMPSQ: true,
		x86asm.INSB: true, x86asm.INSW: true, x86asm.INSD: true, x86asm.OUTSB: true, x86asm.OUTSW: true, x86asm.OUTSD: true,
		x86asm.CMPXCHG: true, x86asm.CMPXCHG8B: true, x86asm.CMPXCHG16B: true, x86asm.LAHF: true,
		x86asm.INT: true, x86asm.INTO: true, x86asm.XLATB: true, x86asm.AAA: true, x86asm.AAS: true,
		x86asm.AAD: true, x86asm.AAM: true, x86asm.DAA: true, x86asm.DAS: true, x86asm.RDRAND: true,
		x86asm.MONITOR: true, x86asm.MWAIT: true, x86asm.XSAVE: true, x86asm.XRSTOR: true,
	}
})

// x86Branch are the conditional jumps.
var x86Branch = sync.OnceValue(func() map[x86asm.Op]bool {
	return map[x86asm.Op]bool{
		x86asm.JA: true, x86asm.JAE: true, x86asm.JB: true, x86asm.JBE: true, x86asm.JCXZ: true,
		x86asm.JE: true, x86asm.JECXZ: true, x86asm.JG: true, x86asm.JGE: true, x86asm.JL: true,
		x86asm.JLE: true, x86asm.JNE: true, x86asm.JNO: true, x86asm.JNP: true, x86asm.JNS: true,
		x86asm.JO: true, x86asm.JP: true, x86asm.JRCXZ: true, x86asm.JS: true,
		x86asm.LOOP: true, x86asm.LOOPE: true, x86asm.LOOPNE: true,
	}
})

// decodeX86 decodes the instruction at va and describes its effect.
func (fl *argFlow) decodeX86(va uint64) *flowInsn {
	mode := 64
	if fl.arch == ArchX86 {
		mode = 32
	}
	b := fl.code.bytes(va, 15)
	if b == nil {
		return &flowInsn{addr: va, kind: flowBadInsn}
	}
	inst, err := x86asm.Decode(b, mode)
	if err != nil || inst.Len == 0 {
		return &flowInsn{addr: va, kind: flowBadInsn}
	}
	in := &flowInsn{addr: va, len: inst.Len, kind: flowNext}
	next := va + uint64(inst.Len)
	rel := func() (uint64, bool) {
		if r, ok := inst.Args[0].(x86asm.Rel); ok {
			return next + uint64(int64(r)), true
		}
		return 0, false
	}
	switch {
	case inst.Op == x86asm.CALL || inst.Op == x86asm.LCALL:
		in.kind = flowCall
	case inst.Op == x86asm.JMP:
		if t, ok := rel(); ok {
			in.kind, in.target = flowJump, t
		} else if m, ok := inst.Args[0].(x86asm.Mem); ok && (m.Base == x86asm.RIP || m.Base == 0 && m.Index == 0) {
			// jmp [rip+disp] or jmp [abs]: a tail call through an import slot.
			in.kind = flowEnd
		} else {
			// Through a register or a table: a switch's jump table, whose
			// targets inside the function are not followed.
			in.kind = flowIndirect
		}
	case x86Branch()[inst.Op]:
		if t, ok := rel(); ok {
			in.kind, in.target = flowBranch, t
		}
	case inst.Op == x86asm.RET || inst.Op == x86asm.LRET || inst.Op == x86asm.IRET ||
		inst.Op == x86asm.IRETD || inst.Op == x86asm.IRETQ || inst.Op == x86asm.INT ||
		inst.Op == x86asm.UD0 || inst.Op == x86asm.UD1 || inst.Op == x86asm.UD2 || inst.Op == x86asm.HLT:
		// INT 3 (and INT 29h, __fastfail) end a path: the process does not come back.
		in.kind = flowEnd
	}
	in.apply = func(s *flowState) { fl.applyX86(s, &inst, va) }
	return in
}

// applyX86 changes s as the instruction does.
func (fl *argFlow) applyX86(s *flowState, inst *x86asm.Inst, va uint64) {
	ptr := int64(fl.arch.PointerSize())
	dst, src := inst.Args[0], inst.Args[1]
	// slotOf places a stack operand: its offset from the entry stack pointer.
	// placed is false when the operand is on the stack but its offset is
	// unknown; stack is false for memory that is not the stack (as far as the
	// code shows: a write through another register that happens to point into
	// the stack is not seen, which the docs state).
	slotOf := func(a x86asm.Arg) (off int64, stack, placed bool) {
		m, ok := a.(x86asm.Mem)
		if !ok || m.Segment != 0 {
			return 0, false, false
		}
		base, _, ok := x86Reg(m.Base)
		if !ok {
			return 0, false, false
		}
		switch {
		case base == x86SP:
			if m.Index != 0 || !s.spKnown {
				return 0, true, false
			}
			return s.sp + m.Disp, true, true
		case base == x86FP && s.fpKnown:
			if m.Index != 0 {
				return 0, true, false
			}
			return s.fp + m.Disp, true, true
		}
		return 0, false, false
	}
	memBytes := inst.MemBytes
	if memBytes <= 0 {
		memBytes = int(ptr)
	}
	// writeMem records a write to a memory operand: a copy of the argument when
	// holds, else a clobber of the slots it overlaps.
	writeMem := func(a x86asm.Arg, holds bool) {
		off, stack, placed := slotOf(a)
		switch {
		case !stack:
		case !placed && fl.arch == ArchX86 && !s.spKnown:
			s.unverified = true
		case !placed:
			s.clearSlots()
		default:
			s.clobber(off, memBytes, fl.width)
			if holds && memBytes >= fl.width {
				s.addSlot(off, va)
			}
		}
	}
	// writeReg records a write to register operand a.
	writeReg := func(a x86asm.Arg, holds bool, size int) {
		r, w, ok := x86Reg(regOf(a))
		if !ok {
			return
		}
		switch r {
		case x86SP:
			s.spKnown = false
			s.clearSlots()
		case x86FP:
			s.fpKnown = false
		}
		// A write of 1 or 2 bytes keeps the rest of the register, so the register
		// no longer holds the argument; a 4-byte write zero-extends on x64.
		s.setReg(r, holds && w >= fl.width && size >= fl.width, va)
	}
	// holdsReg reports whether register operand a holds the argument.
	holdsReg := func(a x86asm.Arg) bool {
		r, w, ok := x86Reg(regOf(a))
		return ok && w >= fl.width && s.hasReg(r)
	}
	holdsMem := func(a x86asm.Arg) bool {
		off, _, placed := slotOf(a)
		return placed && s.hasSlot(off) && memBytes >= fl.width
	}
	spImm := func() (int64, bool) {
		if i, ok := src.(x86asm.Imm); ok {
			return int64(i), true
		}
		return 0, false
	}
	isReg := func(a x86asm.Arg, want Reg) bool {
		r, w, ok := x86Reg(regOf(a))
		return ok && r == want && w == int(ptr)
	}

	switch op := inst.Op; {
	case op == x86asm.MOV:
		if _, ok := dst.(x86asm.Mem); ok {
			writeMem(dst, holdsReg(src))
			return
		}
		switch {
		case isReg(dst, x86FP) && isReg(src, x86SP):
			s.setReg(x86FP, false, va)
			s.fp, s.fpKnown = s.sp, s.spKnown
			return
		case isReg(dst, x86SP) && isReg(src, x86FP):
			s.sp, s.spKnown = s.fp, s.fpKnown
			if !s.spKnown {
				s.clearSlots()
			}
			return
		}
		_, _, isRegDst := x86Reg(regOf(dst))
		if isRegDst {
			holds := holdsReg(src) || holdsMem(src)
			writeReg(dst, holds, 8)
		}
		return
	case op == x86asm.PUSH:
		if !s.spKnown {
			s.unverified = s.unverified || fl.arch == ArchX86
			return
		}
		// PUSH moves the stack pointer by the pointer size (64-bit mode has no
		// 32-bit push), or by 2 with an operand-size prefix.
		size := ptr
		if inst.DataSize == 16 {
			size = 2
		}
		s.sp -= size
		s.clobber(s.sp, int(size), fl.width)
		if holdsReg(src0(inst)) && size >= int64(fl.width) {
			s.addSlot(s.sp, va)
		}
		return
	case op == x86asm.POP:
		holds := false
		if s.spKnown {
			holds = s.hasSlot(s.sp)
			s.sp += ptr
		}
		if _, ok := dst.(x86asm.Mem); ok {
			writeMem(dst, holds)
			return
		}
		writeReg(dst, holds, int(ptr))
		return
	case op == x86asm.LEAVE:
		// mov rsp, rbp; pop rbp
		s.sp, s.spKnown = s.fp, s.fpKnown
		if s.spKnown {
			s.sp += ptr
		} else {
			s.clearSlots()
		}
		s.fpKnown = false
		s.setReg(x86FP, false, va)
		return
	case (op == x86asm.SUB || op == x86asm.ADD) && isReg(dst, x86SP):
		if imm, ok := spImm(); ok && s.spKnown {
			if op == x86asm.SUB {
				imm = -imm
			}
			s.sp += imm
			return
		}
		s.spKnown = false
		s.clearSlots()
		return
	case op == x86asm.LEA && (isReg(dst, x86SP) || isReg(dst, x86FP)):
		m, _ := src.(x86asm.Mem)
		base, _, ok := x86Reg(m.Base)
		known, val := false, int64(0)
		if ok && m.Index == 0 {
			switch {
			case base == x86SP && s.spKnown:
				known, val = true, s.sp+m.Disp
			case base == x86FP && s.fpKnown:
				known, val = true, s.fp+m.Disp
			}
		}
		if isReg(dst, x86SP) {
			s.sp, s.spKnown = val, known
			if !known {
				s.clearSlots()
			}
		} else {
			s.setReg(x86FP, false, va)
			s.fp, s.fpKnown = val, known
		}
		return
	case op == x86asm.CALL || op == x86asm.LCALL:
		for r := Reg(0); r < 16; r++ {
			if fl.volatile(r) {
				s.setReg(r, false, va)
			}
		}
		// The callee owns the words just above the stack pointer: on x64 the 32
		// bytes of home space, on x86 the arguments it was passed (how many is
		// not known; 64 bytes are given up). They lie below this function's own
		// return address, never among its incoming arguments.
		if s.spKnown && s.sp < 0 {
			n := int64(64)
			if fl.arch == ArchAMD64 {
				n = 32
				if fl.sysv {
					n = 0 // no home space
				}
			}
			if n > 0 {
				s.clobber(s.sp, int(min(n, -s.sp)), fl.width)
			}
		}
		if fl.arch == ArchX86 {
			// An x86 callee may pop its arguments (stdcall): the stack pointer
			// after the call is not known from the code alone.
			s.spKnown = false
		}
		return
	case x86Implicit()[op]:
		for _, r := range []Reg{0, 1, 2, 3, 6, 7} {
			s.setReg(r, false, va)
		}
	case op == x86asm.XCHG || op == x86asm.XADD:
		// Both operands are written; an exchange of two registers moves the
		// argument from one to the other.
		h0, h1 := holdsReg(dst) || holdsMem(dst), holdsReg(src) || holdsMem(src)
		if op == x86asm.XADD {
			h0, h1 = false, h0
		}
		for i, a := range []x86asm.Arg{dst, src} {
			holds := h1
			if i == 1 {
				holds = h0
			}
			if _, ok := a.(x86asm.Mem); ok {
				writeMem(a, holds)
			} else {
				writeReg(a, holds, 8)
			}
		}
		return
	}
	if x86ReadOnlyFirst()[inst.Op] || dst == nil {
		return
	}
	if _, ok := dst.(x86asm.Mem); ok {
		writeMem(dst, false)
		return
	}
	if isReg(dst, x86SP) && inst.Op == x86asm.AND {
		// Aligning the stack pointer: its offset is no longer known.
		s.spKnown = false
		s.clearSlots()
		return
	}
	writeReg(dst, false, 8)
}

// regOf returns a's register, 0 when a is not one.
func regOf(a x86asm.Arg) x86asm.Reg {
	if r, ok := a.(x86asm.Reg); ok {
		return r
	}
	return 0
}

// src0 is the operand a PUSH pushes.
func src0(inst *x86asm.Inst) x86asm.Arg { return inst.Args[0] }
