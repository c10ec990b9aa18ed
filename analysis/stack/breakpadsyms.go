package stack

import "github.com/dumpmap/dumpmap/analysis/breakpad"

// BreakpadSymbols serves the walker's Symbolizer, CFIUnwinder and
// FrameDataSource hooks from Breakpad symbol files: FUNC, line and PUBLIC records
// name code, STACK CFI records unwind (Linux, macOS, Android), STACK WIN records
// describe x86 frames.
type BreakpadSymbols struct {
	// File returns the symbol file of module m, nil when there is none. It is
	// called for every lookup; cache there.
	File func(m *Module) *breakpad.File
}

// Symbolize implements Symbolizer.
func (b *BreakpadSymbols) Symbolize(m *Module, off uint64) (Symbol, bool) {
	f := b.File(m)
	if f == nil {
		return Symbol{}, false
	}
	s, ok := f.Lookup(off)
	if !ok {
		return Symbol{}, false
	}
	out := Symbol{Function: s.Name, Start: s.Addr, Size: s.Size}
	if s.HasLine {
		out.File, out.Line = s.Line.File, int(s.Line.Line)
	}
	return out, true
}

// breakpadArch is the register naming of an architecture in package breakpad.
func breakpadArch(a Arch) breakpad.Arch {
	switch a {
	case ArchX86:
		return breakpad.ArchX86
	case ArchAMD64:
		return breakpad.ArchAMD64
	case ArchARM:
		return breakpad.ArchARM
	case ArchARM64:
		return breakpad.ArchARM64
	}
	return breakpad.ArchUnknown
}

// CallerRegs implements CFIUnwinder with the module's STACK CFI records.
func (b *BreakpadSymbols) CallerRegs(m *Module, off uint64, callee *Regs, mem MemoryReader) (Regs, bool) {
	f := b.File(m)
	if f == nil {
		return Regs{}, false
	}
	got, err := f.UnwindCFI(breakpadArch(callee.Arch), off, callee.BreakpadMap(), mem)
	if err != nil {
		return Regs{}, false
	}
	return RegsFromBreakpad(callee.Arch, got), true
}

// FrameInfo implements FrameDataSource with the module's STACK WIN records.
func (b *BreakpadSymbols) FrameInfo(m *Module, off uint64) (*FrameInfo, bool) {
	f := b.File(m)
	if f == nil {
		return nil, false
	}
	w, ok := f.WinFrameAt(off)
	if !ok {
		return nil, false
	}
	return FrameInfoFromBreakpad(&w), true
}

// FrameInfoFromBreakpad converts a STACK WIN record, or a PDB's FPO or FRAMEDATA
// record (package pdb returns the same type), to the walker's frame description.
func FrameInfoFromBreakpad(w *breakpad.WinFrameInfo) *FrameInfo {
	return &FrameInfo{
		Type:                 FrameInfoType(w.Type),
		PrologSize:           w.PrologSize,
		EpilogSize:           w.EpilogSize,
		ParamSize:            w.ParamSize,
		SavedRegisterSize:    w.SavedRegSize,
		LocalSize:            w.LocalSize,
		MaxStackSize:         w.MaxStackSize,
		AllocatesBasePointer: w.AllocatesBasePointer,
		ProgramString:        w.Program,
	}
}
