package stack

// 32-bit ARM (Linux, Android, iOS): CFI, then on iOS the r7 frame chain, then a
// scan, as Breakpad walks it. Windows on 32-bit ARM is not supported.

// callerARM finds the caller of the last frame on 32-bit ARM.
func (w *Walker) callerARM(frames []Frame) (Regs, Trust, bool, bool) {
	callee := &frames[len(frames)-1]
	if c, ok := w.cfi(callee); ok || w.stop {
		return c, TrustCFI, false, ok
	}
	if w.opts.IOS {
		if c, ok := w.framePointerARM(callee); ok {
			return c, TrustFramePointer, false, true
		}
	}
	if at, ra, ok := w.scan(callee, w.scanWords(callee)); ok {
		c := Regs{Arch: ArchARM}
		c.Restore(RegPC32, ra, at)
		c.Set(RegSP32, at+4)
		if w.sane(callee, &c, false) {
			return c, TrustScan, false, true
		}
	}
	return Regs{}, TrustNone, false, false
}

// framePointerARM follows iOS's r7 chain ({saved r7, return address}) the way
// Breakpad does, with the caller's PC the callee's LR when known.
func (w *Walker) framePointerARM(callee *Frame) (Regs, bool) {
	fp, ok := callee.Regs.Get(RegR7)
	if !ok || fp == 0 || fp%4 != 0 || fp < callee.SP {
		return Regs{}, false
	}
	next, ok1 := w.sm.word(fp)
	lr, ok2 := w.sm.word(fp + 4)
	if !ok1 || !ok2 {
		return Regs{}, false
	}
	c := Regs{Arch: ArchARM}
	if pc, ok := callee.Regs.Get(RegLR32); ok {
		c.Set(RegPC32, pc)
		c.Restore(RegLR32, lr, fp+4)
	} else {
		c.Restore(RegPC32, lr, fp+4)
	}
	c.Set(RegSP32, fp+8)
	c.Restore(RegR7, next, fp)
	if !w.fpReturnOK(c.PC(), next) {
		return Regs{}, false
	}
	return c, w.sane(callee, &c, false)
}
