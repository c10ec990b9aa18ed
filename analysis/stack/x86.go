package stack

import "strings"

// x86 unwinding: frame data from the PDB or Breakpad symbols (FPO_DATA,
// FrameData, STACK WIN) through a FrameDataSource, then CFI, then the EBP chain,
// then a scan that accepts only return addresses preceded by a call.

// callerX86 finds the caller of the last frame on x86.
func (w *Walker) callerX86(frames []Frame) (Regs, Trust, bool, bool) {
	callee := &frames[len(frames)-1]
	if w.opts.FrameData != nil && callee.module >= 0 {
		m := &w.modules[callee.module]
		if fi, ok := w.opts.FrameData.FrameInfo(m, callee.lookupAddr()-m.Base); ok && fi != nil {
			callee.fi = fi
			if c, trust, ok := w.unwindFrameInfo(frames, fi); ok || w.stop {
				return c, trust, false, ok
			}
		}
	}
	if c, ok := w.cfi(callee); ok || w.stop {
		return c, TrustCFI, false, ok
	}
	if c, ok := w.framePointerX86(callee); ok || w.stop {
		return c, TrustFramePointer, false, ok
	}
	if c, ok := w.scanX86(callee, callee.SP, w.scanWords(callee)); ok {
		return c, TrustScan, false, true
	}
	return Regs{}, TrustNone, false, false
}

// framePointerX86 follows the EBP chain: [EBP] is the caller's EBP, [EBP+4] the
// return address, EBP+8 the caller's ESP. The link must lie in the stack and the
// return address be plausible, or the chain go on.
func (w *Walker) framePointerX86(callee *Frame) (Regs, bool) {
	ebp, ok := callee.Regs.Get(RegEBP)
	if !ok || ebp%4 != 0 || ebp < callee.SP {
		return Regs{}, false
	}
	next, ok1 := w.sm.word(ebp)
	ra, ok2 := w.sm.word(ebp + 4)
	if !ok1 || !ok2 {
		return Regs{}, false
	}
	if ra == 0 && next == 0 {
		w.stop = true // the outermost frame's link
		return Regs{}, false
	}
	// The return address must look like one, or the chain must go on (a frame in
	// generated code). The caller's EBP is taken as read: if it is no frame
	// pointer, the next step's checks reject it.
	if !w.fpReturnOK(ra, next) {
		return Regs{}, false
	}
	c := Regs{Arch: ArchX86}
	c.Restore(RegEIP, ra, ebp+4)
	c.Set(RegESP, ebp+8)
	c.Restore(RegEBP, next, ebp)
	return c, w.sane(callee, &c, false)
}

// maxReasonableGap bounds the distance between a scanned return address and a
// saved EBP below it that the scan takes for the caller's EBP (Breakpad's
// kMaxReasonableGapBetweenFrames).
const maxReasonableGap = 128 << 10

// scanX86 scans from start for a return address and keeps what can be kept of
// the EBP chain: the word below the return address when it looks like a saved
// EBP, else the callee's EBP.
func (w *Walker) scanX86(callee *Frame, start uint64, words int) (Regs, bool) {
	f := *callee
	f.SP = start
	at, ra, ok := w.scan(&f, words)
	if !ok {
		return Regs{}, false
	}
	c := Regs{Arch: ArchX86}
	c.Restore(RegEIP, ra, at)
	c.Set(RegESP, at+4)
	if v, ok := w.sm.word(at - 4); ok && v > at-4 && v-(at-4) <= maxReasonableGap {
		c.Restore(RegEBP, v, at-4)
	} else if ebp, ok := callee.Regs.Get(RegEBP); ok {
		c.Set(RegEBP, ebp)
	}
	return c, w.sane(callee, &c, false)
}

// unwindFrameInfo unwinds with an x86 frame description as Breakpad's x86 walker
// does (stackwalker_x86.cc, GetCallerByWindowsFrameInfo): the return address is
// searched for near .raSearchStart, the stack just above the callee's locals and
// saved registers; the program string (or the fixed FPO rules without one)
// computes the caller's registers; EBP is recovered by search when the program
// left it implausible.
func (w *Walker) unwindFrameInfo(frames []Frame, fi *FrameInfo) (Regs, Trust, bool) {
	callee := &frames[len(frames)-1]
	regs := &callee.Regs
	esp := regs.Value(RegESP)
	// The parameters the frame called by this one pushed, which its return popped.
	var calleeParams uint64
	if len(frames) >= 2 {
		if below := frames[len(frames)-2].fi; below != nil {
			calleeParams = uint64(below.ParamSize)
		}
	}
	vars := map[string]uint64{
		"$ebp":            regs.Value(RegEBP),
		"$esp":            esp,
		".cbCalleeParams": calleeParams,
		".cbSavedRegs":    uint64(fi.SavedRegisterSize),
		".cbLocals":       uint64(fi.LocalSize),
		".cbParams":       uint64(fi.ParamSize),
	}
	for _, r := range []Reg{RegEBX, RegESI, RegEDI} {
		if v, ok := regs.Get(r); ok {
			vars["$"+ArchX86.RegName(r)] = v
		}
	}
	raSearch := (esp + calleeParams + uint64(fi.LocalSize) + uint64(fi.SavedRegisterSize)) & 0xffffffff
	// Let the return address be a few words off, as frame sizes sometimes are.
	if at, _, ok := w.scanFrom(raSearch, 3); ok {
		old := raSearch
		raSearch = at
		if v, _ := w.sm.word(at); old == at && callee.Trust == TrustContext && fi.Type == FrameInfoFPO && v == callee.IP {
			// In a context frame, the word found may be the instruction pointer
			// itself pushed by a call in progress: look one further.
			if at2, _, ok := w.scanFrom(at+4, 3); ok {
				raSearch = at2
			}
		}
	}
	program := fi.ProgramString
	recoverEBP := true
	switch {
	case program != "":
	case fi.AllocatesBasePointer:
		program = "$eip .raSearchStart ^ = $ebp $esp .cbCalleeParams + .cbSavedRegs + 8 - ^ = $esp .raSearchStart 4 + ="
	default:
		program = "$eip .raSearchStart ^ = $esp .raSearchStart 4 + ="
		if regs.Valid(RegEBX) {
			program += " $ebx $ebx ="
		}
		recoverEBP = false
	}
	if regs.Valid(RegEBP) && strings.Contains(program, "@") {
		// An aligned frame: the return address is found from EBP.
		raSearch = regs.Value(RegEBP) + 4
	}
	vars[".raSearchStart"] = raSearch
	vars[".raSearch"] = raSearch
	got, err := w.opts.Evaluator.Evaluate(program, vars, w.sm)
	if err != nil {
		return Regs{}, TrustNone, false
	}
	eip, ok1 := got["$eip"]
	newESP, ok2 := got["$esp"]
	if !ok1 || !ok2 {
		return Regs{}, TrustNone, false
	}
	trust := TrustFPO
	offset := uint64(0)
	if w.moduleIndex(eip) < 0 {
		// The description led outside every module: scan on from just above where
		// the return address should have been.
		f := *callee
		f.SP = raSearch + 4
		at, ra, ok := w.scan(&f, w.scanWords(callee))
		if !ok {
			return Regs{}, TrustNone, false
		}
		offset = at - (raSearch + 4)
		eip, newESP, trust = ra, at+4, TrustScan
	}
	ebp, ebpOK := got["$ebp"]
	if !ebpOK {
		ebp = regs.Value(RegEBP)
	}
	if recoverEBP {
		_, readable := w.sm.word(ebp)
		if (trust != TrustFPO && ebp <= raSearch+offset) || !readable {
			// Search the saved-register area for a word that points into the stack.
			lo := esp + calleeParams
			for a := lo + uint64(fi.SavedRegisterSize) + offset; a >= lo && a+4 > a; a -= 4 {
				v, ok := w.sm.word(a)
				if !ok {
					break
				}
				if _, ok := w.sm.word(v); ok {
					ebp = v
					break
				}
				if a < 4 {
					break
				}
			}
		}
	}
	c := Regs{Arch: ArchX86}
	c.Restore(RegEIP, eip, raSearch)
	c.Set(RegESP, newESP)
	if trust == TrustFPO && w.ended(&c) {
		return Regs{}, TrustNone, false
	}
	c.Set(RegEBP, ebp)
	for _, r := range []Reg{RegEBX, RegESI, RegEDI} {
		if v, ok := got["$"+ArchX86.RegName(r)]; ok {
			c.Set(r, v)
		}
	}
	return c, trust, w.sane(callee, &c, false)
}

// scanFrom scans words from a given address.
func (w *Walker) scanFrom(start uint64, words int) (at, ra uint64, ok bool) {
	f := Frame{SP: start}
	return w.scan(&f, words)
}
