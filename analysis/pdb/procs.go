package pdb

import (
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
)

// Procedure and thunk record kinds (CodeView, cvinfo.h SYM_ENUM_e).
const (
	KindLProc32ST    Kind = 0x100A // S_LPROC32_ST: local procedure, length-prefixed name
	KindGProc32ST    Kind = 0x100B // S_GPROC32_ST
	KindThunk32ST    Kind = 0x0206 // S_THUNK32_ST
	KindThunk32      Kind = 0x1102 // S_THUNK32: incremental-linking and import thunks
	KindLProc32      Kind = 0x110F // S_LPROC32: file-static function
	KindGProc32      Kind = 0x1110 // S_GPROC32: global function
	KindLProc32ID    Kind = 0x1146 // S_LPROC32_ID: as S_LPROC32, type in the IPI stream
	KindGProc32ID    Kind = 0x1147 // S_GPROC32_ID
	KindLProc32DPC   Kind = 0x1155 // S_LPROC32_DPC: HLSL data-parallel procedure
	KindLProc32DPCID Kind = 0x1156 // S_LPROC32_DPC_ID
)

func procKindName(k Kind) string {
	switch k {
	case KindLProc32ST:
		return "S_LPROC32_ST"
	case KindGProc32ST:
		return "S_GPROC32_ST"
	case KindThunk32ST:
		return "S_THUNK32_ST"
	case KindThunk32:
		return "S_THUNK32"
	case KindLProc32:
		return "S_LPROC32"
	case KindGProc32:
		return "S_GPROC32"
	case KindLProc32ID:
		return "S_LPROC32_ID"
	case KindGProc32ID:
		return "S_GPROC32_ID"
	case KindLProc32DPC:
		return "S_LPROC32_DPC"
	case KindLProc32DPCID:
		return "S_LPROC32_DPC_ID"
	}
	return ""
}

// ProcFlags are the CV_PROCFLAGS of a procedure.
type ProcFlags uint8

// Procedure flags.
const (
	ProcNoFPO        ProcFlags = 1 << 0 // frame pointer present
	ProcInterrupt    ProcFlags = 1 << 1
	ProcFar          ProcFlags = 1 << 2
	ProcNoReturn     ProcFlags = 1 << 3
	ProcNotReached   ProcFlags = 1 << 4
	ProcCustomCall   ProcFlags = 1 << 5
	ProcNoInline     ProcFlags = 1 << 6
	ProcOptDebugInfo ProcFlags = 1 << 7
)

// Procedure is a function (S_GPROC32, S_LPROC32 and their _ID and _ST
// forms) or a thunk (S_THUNK32) from a module symbol stream.
type Procedure struct {
	Name string
	Kind Kind
	// Segment and Offset are the address as stored; RVA is valid when
	// HasRVA is set (the segment names a section of the PDB).
	Segment uint16
	Offset  uint32
	RVA     uint32
	HasRVA  bool
	// Size is the code size in bytes.
	Size uint32
	// DebugStart and DebugEnd are the offsets from the start where the
	// prolog ends and the epilog begins (procedures only).
	DebugStart, DebugEnd uint32
	// TypeIndex is the function's type (or ID for the _ID kinds).
	TypeIndex uint32
	Flags     ProcFlags
	// Module is the index of the module (Modules()) that holds it and
	// RecordOffset its offset in the module's symbol records, counted
	// from the stream start as llvm-pdbutil prints it.
	Module       int
	RecordOffset uint32
}

// IsThunk reports whether p is an S_THUNK32 record.
func (p *Procedure) IsThunk() bool { return p.Kind == KindThunk32 || p.Kind == KindThunk32ST }

// KindName returns the CodeView record name of p's kind.
func (p *Procedure) KindName() string { return procKindName(p.Kind) }

// maxSymbolsPerModule bounds the procedures kept from one module stream.
// Every record takes at least 4 bytes, so the stream size bounds it too.
const maxSymbolsPerModule = 1 << 22

// parseProcs walks a module's symbol records (after the signature) and
// keeps the procedures and thunks, sorted by RVA. Records after a
// malformed one cannot be found; the walk returns what it has.
func parseProcs(b []byte, m *Module, secs []Section) ([]Procedure, error) {
	le := binary.LittleEndian
	var out []Procedure
	var err error
	for off := 0; off+4 <= len(b); {
		recLen := int(le.Uint16(b[off:]))
		end := off + 2 + recLen
		if recLen < 2 || end > len(b) {
			err = &FormatError{Off: -1, Stream: m.Stream, Msg: fmt.Sprintf("module %d: symbol record at stream offset %d has length %d", m.Index, off+4, recLen)}
			break
		}
		kind := Kind(le.Uint16(b[off+2:]))
		body := b[off+4 : end]
		p := Procedure{Kind: kind, Module: m.Index, RecordOffset: uint32(off + 4)}
		ok := true
		switch kind {
		case KindGProc32, KindLProc32, KindGProc32ID, KindLProc32ID, KindLProc32DPC, KindLProc32DPCID, KindGProc32ST, KindLProc32ST:
			// pParent, pEnd, pNext, len, DbgStart, DbgEnd, typind, off,
			// seg, flags, name.
			if len(body) < 35 {
				ok = false
				break
			}
			p.Size = le.Uint32(body[12:])
			p.DebugStart, p.DebugEnd = le.Uint32(body[16:]), le.Uint32(body[20:])
			p.TypeIndex = le.Uint32(body[24:])
			p.Offset, p.Segment = le.Uint32(body[28:]), le.Uint16(body[32:])
			p.Flags = ProcFlags(body[34])
			p.Name = recordName(body[35:], kind == KindGProc32ST || kind == KindLProc32ST)
		case KindThunk32, KindThunk32ST:
			// pParent, pEnd, pNext, off, seg, len, ord, name.
			if len(body) < 21 {
				ok = false
				break
			}
			p.Offset, p.Segment = le.Uint32(body[12:]), le.Uint16(body[16:])
			p.Size = uint32(le.Uint16(body[18:]))
			p.Name = recordName(body[21:], kind == KindThunk32ST)
		default:
			off = end
			continue
		}
		if !ok {
			err = &FormatError{Off: -1, Stream: m.Stream, Msg: fmt.Sprintf("module %d: %s record at stream offset %d is too short", m.Index, procKindName(kind), off+4)}
			break
		}
		if p.Segment >= 1 && int(p.Segment) <= len(secs) {
			rva := uint64(secs[p.Segment-1].VirtualAddress) + uint64(p.Offset)
			if rva <= 0xFFFFFFFF {
				p.RVA, p.HasRVA = uint32(rva), true
			}
		}
		if len(out) >= maxSymbolsPerModule {
			err = &FormatError{Off: -1, Stream: m.Stream, Msg: fmt.Sprintf("module %d: more than %d procedures", m.Index, maxSymbolsPerModule)}
			break
		}
		out = append(out, p)
		off = end
	}
	slices.SortStableFunc(out, func(a, b Procedure) int { return cmpU32(a.RVA, b.RVA) })
	return out, err
}

// recordName decodes a record's name: NUL-terminated, or a length-prefixed
// (Pascal) string in the _ST kinds written by VC 6 and earlier.
func recordName(b []byte, st bool) string {
	if st {
		if len(b) == 0 {
			return ""
		}
		n := min(int(b[0]), len(b)-1)
		return string(b[1 : 1+n])
	}
	return cString(b)
}

// Procedures returns every procedure and thunk of every module, sorted by
// RVA (those without an RVA first). It reads all module streams; the
// lookups read only the module they need. Errors of damaged modules are
// joined; the procedures found are returned with them.
func (f *File) Procedures() ([]Procedure, error) {
	t := f.modules()
	var out []Procedure
	var errs []error
	if t.err != nil {
		errs = append(errs, t.err)
	}
	for i := range t.mods {
		d := f.moduleData(i)
		out = append(out, d.procs...)
		if d.err != nil {
			errs = append(errs, d.err)
		}
	}
	slices.SortStableFunc(out, func(a, b Procedure) int { return cmpU32(a.RVA, b.RVA) })
	return out, errors.Join(errs...)
}

// FunctionAt returns the procedure whose code holds rva: the module that
// contributed the code at rva is found through the section contributions,
// and its symbol stream is parsed on first use. When two procedures hold
// rva (a thunk inside a function never does, but damaged input may), the
// one starting last wins. Thunks count as procedures.
func (f *File) FunctionAt(rva uint32) (Procedure, bool) {
	t := f.modules()
	if mi, ok := t.moduleAt(rva); ok {
		if p, ok := procAt(f.moduleData(mi).procs, rva); ok {
			return p, true
		}
	}
	// No section contribution names the module (or it has no procedure
	// there): fall back to the table of every module's procedures.
	f.allOnce.Do(func() { f.allProcs, _ = f.Procedures() })
	return procAt(f.allProcs, rva)
}

func procAt(procs []Procedure, rva uint32) (Procedure, bool) {
	i, _ := slices.BinarySearchFunc(procs, rva, func(p Procedure, a uint32) int {
		if p.RVA <= a {
			return -1
		}
		return 1
	})
	// Walk back over a few procedures starting at or below rva: nested
	// procedures do not occur, but zero-sized ones and equal starts do.
	for j := i - 1; j >= 0 && j >= i-8; j-- {
		p := procs[j]
		if p.HasRVA && rva-p.RVA < p.Size {
			return p, true
		}
	}
	return Procedure{}, false
}

// PublicAt returns the code public (S_PUB32 with the code or function
// flag) nearest at or below rva, for addresses no procedure covers, as in
// a PDB stripped of private symbols. Publics have no size.
func (f *File) PublicAt(rva uint32) (Symbol, bool) {
	f.pubOnce.Do(func() {
		t := f.table()
		for _, p := range t.publics {
			if p.HasRVA && !p.Flags.IsData() {
				f.pubCode = append(f.pubCode, p)
			}
		}
		slices.SortStableFunc(f.pubCode, func(a, b Symbol) int { return cmpU32(a.RVA, b.RVA) })
	})
	i, _ := slices.BinarySearchFunc(f.pubCode, rva, func(p Symbol, a uint32) int {
		if p.RVA <= a {
			return -1
		}
		return 1
	})
	if i == 0 {
		return Symbol{}, false
	}
	return f.pubCode[i-1], true
}
