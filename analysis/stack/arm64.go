package stack

import (
	"github.com/dumpmap/dumpmap/analysis/pe"
	"github.com/dumpmap/dumpmap/minidump"
)

// ARM64 unwinding follows "ARM64 exception handling" (Microsoft C++
// documentation): with a .pdata entry, the unwind codes chosen for the PC's
// position (see pe.ARM64Unwind.UnwindCodes) are undone and the caller's PC is the
// restored LR; without one the function is a leaf and LR is the return address.
// Elsewhere (and without unwind data): CFI, then the frame records x29 points
// at, then a scan.

// arm64Volatile are the registers a call does not preserve (x0-x18; lr holds
// the return address, which becomes the caller's PC).
func arm64Volatile(c *Regs) {
	for r := Reg(0); r <= 18; r++ {
		c.Invalidate(r)
	}
	c.vecValid &= 0xff00 // d8-d15 are preserved
}

// ptrMask strips a pointer-authentication code from a return address: user-mode
// addresses on Windows, Linux and macOS fit in 48 bits.
const ptrMask = 1<<48 - 1

// callerARM64 finds the caller of the last frame on ARM64.
func (w *Walker) callerARM64(frames []Frame) (Regs, Trust, bool, bool) {
	callee := &frames[len(frames)-1]
	if w.opts.Windows && callee.module >= 0 {
		if c, interrupted, ok := w.unwindARM64(callee); ok || w.stop {
			return c, TrustUnwind, interrupted, ok
		}
	}
	if c, ok := w.cfi(callee); ok || w.stop {
		return c, TrustCFI, false, ok
	}
	if c, ok := w.framePointerARM64(callee); ok || w.stop {
		return c, TrustFramePointer, false, ok
	}
	if at, ra, ok := w.scan(callee, w.scanWords(callee)); ok {
		c := Regs{Arch: ArchARM64}
		c.Restore(RegPC64, ra&ptrMask, at)
		c.Set(RegSP64, at+8)
		if w.sane(callee, &c, false) {
			return c, TrustScan, false, true
		}
	}
	return Regs{}, TrustNone, false, false
}

// framePointerARM64 walks the frame records x29 points at ({caller's x29, return
// address}), the way Breakpad does: the caller's PC is the callee's LR when that is
// known (the context frame's, or one read from a record), and the record supplies
// the next LR. From the context frame this gives the right caller for a leaf
// function (which made no record and whose LR is the return address) and an extra
// frame for a function that had already made calls.
func (w *Walker) framePointerARM64(callee *Frame) (Regs, bool) {
	fp, ok := callee.Regs.Get(RegFP64)
	if !ok || fp == 0 || fp%8 != 0 || fp < callee.SP {
		return Regs{}, false
	}
	next, ok1 := w.sm.u64(fp)
	lr, ok2 := w.sm.u64(fp + 8)
	if !ok1 || !ok2 {
		return Regs{}, false
	}
	lr &= ptrMask
	if lr == 0 && next == 0 && !callee.Regs.Valid(RegLR64) {
		w.stop = true
		return Regs{}, false
	}
	c := Regs{Arch: ArchARM64}
	if pc, ok := callee.Regs.Get(RegLR64); ok {
		c.Set(RegPC64, pc&ptrMask)
		c.Restore(RegLR64, lr, fp+8)
	} else {
		c.Restore(RegPC64, lr, fp+8)
	}
	c.Set(RegSP64, fp+16)
	c.Restore(RegFP64, next, fp)
	if !w.fpReturnOK(c.PC(), next) {
		return Regs{}, false
	}
	return c, w.sane(callee, &c, false)
}

// unwindARM64 unwinds one frame with the module's exception directory.
func (w *Walker) unwindARM64(callee *Frame) (Regs, bool, bool) {
	st := w.unwindTable(callee.module)
	if st.pdata == nil {
		return Regs{}, false, false
	}
	m := &w.modules[callee.module]
	look := callee.IP
	if !callee.interrupted {
		look = callee.IP - 4 // inside the call instruction
	}
	if look-m.Base > 0xffffffff {
		return Regs{}, false, false
	}
	fn, _, found, err := st.pdata.Lookup(uint32(look - m.Base))
	if err != nil {
		return Regs{}, false, false
	}
	c := callee.Regs
	c.clearRestored()
	if !found {
		// A leaf: the return address is still in LR and SP was never moved. A
		// caller frame cannot be one.
		lr, ok := c.Get(RegLR64)
		if !callee.interrupted || !ok {
			return Regs{}, false, false
		}
		c.Set(RegPC64, lr&ptrMask)
		c.Invalidate(RegLR64)
		arm64Volatile(&c)
		return c, false, w.sane(callee, &c, true)
	}
	u, err := st.arm64Unwind(fn)
	if err != nil {
		return Regs{}, false, false
	}
	offset := callee.IP - (m.Base + uint64(fn.Begin))
	if offset > 0xffffffff {
		return Regs{}, false, false
	}
	codes, _, inEpilog, err := u.UnwindCodes(uint32(offset))
	if err != nil {
		return Regs{}, false, false
	}
	if inEpilog && !callee.interrupted {
		// A return address right before an epilog: the call returns into the body's
		// state, which the whole prolog sequence undoes.
		if codes, _, _, err = u.UnwindCodes(^uint32(0)); err != nil {
			return Regs{}, false, false
		}
	}
	pcFromLR, interrupted, ok := w.undoARM64(&c, codes)
	if !ok {
		return Regs{}, false, false
	}
	if pcFromLR {
		lr, ok := c.Get(RegLR64)
		if !ok {
			return Regs{}, false, false
		}
		c.Set(RegPC64, lr&ptrMask)
		c.Invalidate(RegLR64)
	}
	arm64Volatile(&c)
	if w.ended(&c) {
		return Regs{}, false, false
	}
	return c, interrupted, w.sane(callee, &c, true)
}

// undoARM64 executes unwind codes on c. pcFromLR says the caller's PC is LR at the
// end; interrupted that a machine frame or context supplied the PC instead.
func (w *Walker) undoARM64(c *Regs, codes []pe.ARM64Code) (pcFromLR, interrupted, ok bool) {
	pcFromLR = true
	pairs := 0 // save_next codes waiting for the pair save they extend
	sp := func() uint64 { return c.Value(RegSP64) }
	for _, code := range codes {
		switch code.Op {
		case pe.ARM64End:
			return pcFromLR, interrupted, true
		case pe.ARM64Alloc:
			c.Set(RegSP64, sp()+uint64(code.Size))
		case pe.ARM64SaveRegs:
			n := 1
			if code.Pair {
				n = 2 * (1 + pairs)
			}
			base := sp()
			if !code.Writeback {
				base += uint64(code.Offset)
			}
			for k := range n {
				reg := int(code.Reg) + k
				size := uint64(8)
				if code.File == pe.ARM64RegQ {
					size = 16
				}
				a := base + uint64(k)*size
				if code.File == pe.ARM64RegX && reg <= 30 {
					v, ok := w.sm.u64(a)
					if !ok {
						return false, false, false
					}
					c.Restore(Reg(reg), v, a)
					continue
				}
				// FP registers; an integer pair run past x28 goes on with d8.
				if code.File == pe.ARM64RegX {
					reg = 8 + reg - 29
				}
				var v [16]byte
				if _, err := w.sm.ReadAt(v[:size], a); err != nil {
					return false, false, false
				}
				c.RestoreVector(reg, v)
			}
			if code.Writeback {
				c.Set(RegSP64, sp()+uint64(code.Offset))
			}
		case pe.ARM64SaveLRPair:
			base := sp()
			if !code.Writeback {
				base += uint64(code.Offset)
			}
			v1, ok1 := w.sm.u64(base)
			v2, ok2 := w.sm.u64(base + 8)
			if !ok1 || !ok2 {
				return false, false, false
			}
			c.Restore(Reg(code.Reg), v1, base)
			c.Restore(RegLR64, v2, base+8)
			if code.Writeback {
				c.Set(RegSP64, sp()+uint64(code.Offset))
			}
		case pe.ARM64SetFP:
			fp, ok := c.Get(RegFP64)
			if !ok {
				return false, false, false
			}
			c.Set(RegSP64, fp)
		case pe.ARM64AddFP:
			fp, ok := c.Get(RegFP64)
			if !ok {
				return false, false, false
			}
			c.Set(RegSP64, fp-uint64(code.Size))
		case pe.ARM64Nop, pe.ARM64EndC, pe.ARM64PACSignLR:
			// No effect here; a signed LR is stripped when it becomes the PC.
		case pe.ARM64SaveNext:
			pairs++
			continue
		case pe.ARM64MachineFrame:
			s := sp()
			nsp, ok1 := w.sm.u64(s)
			pc, ok2 := w.sm.u64(s + 8)
			if !ok1 || !ok2 {
				return false, false, false
			}
			c.Restore(RegPC64, pc, s+8)
			c.Restore(RegSP64, nsp, s)
			pcFromLR, interrupted = false, true
		case pe.ARM64Context:
			var b [minidump.ContextARM64Size]byte
			s := sp()
			if _, err := w.sm.ReadAt(b[:], s); err != nil {
				return false, false, false
			}
			ctx, err := minidump.ParseContext(b[:], minidump.ArchARM64)
			if err != nil {
				return false, false, false
			}
			*c = RegsFromContext(ctx)
			c.Arch = ArchARM64
			pcFromLR, interrupted = false, true
		case pe.ARM64ClearUnwoundToCall:
			lr, ok := c.Get(RegLR64)
			if !ok {
				return false, false, false
			}
			c.Set(RegPC64, lr&ptrMask)
			pcFromLR, interrupted = false, true
		default: // trap frames (kernel), Arm64EC contexts
			return false, false, false
		}
		pairs = 0
	}
	return pcFromLR, interrupted, true
}
