package stack

import "github.com/dumpmap/dumpmap/analysis/pdb"

// PDBSymbols serves the walker's Symbolizer and FrameDataSource hooks from PDBs:
// procedures (S_GPROC32/S_LPROC32) and their C13 line information name code, the
// code public at or below an address when no procedure covers it; the FPO and
// FrameData streams describe x86 frames.
type PDBSymbols struct {
	// File returns the PDB of module m, nil when there is none. It is called for
	// every lookup; cache there.
	File func(m *Module) *pdb.File
}

// Symbolize implements Symbolizer.
func (p *PDBSymbols) Symbolize(m *Module, off uint64) (Symbol, bool) {
	f := p.File(m)
	if f == nil || off > 0xffffffff {
		return Symbol{}, false
	}
	rva := uint32(off)
	var s Symbol
	if proc, ok := f.FunctionAt(rva); ok {
		s = Symbol{Function: proc.Name, Start: uint64(proc.RVA), Size: uint64(proc.Size)}
	} else if pub, ok := f.PublicAt(rva); ok {
		s = Symbol{Function: pub.Name, Start: uint64(pub.RVA)}
	} else {
		return Symbol{}, false
	}
	if l, ok := f.LineAt(rva); ok {
		s.File, s.Line = l.File, int(l.Line)
	}
	return s, true
}

// FrameInfo implements FrameDataSource with the PDB's FPO and FrameData records.
func (p *PDBSymbols) FrameInfo(m *Module, off uint64) (*FrameInfo, bool) {
	f := p.File(m)
	if f == nil || off > 0xffffffff {
		return nil, false
	}
	w, ok := f.WinFrameAt(uint32(off))
	if !ok {
		return nil, false
	}
	return FrameInfoFromBreakpad(&w), true
}
