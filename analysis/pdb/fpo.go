package pdb

import (
	"encoding/binary"
	"errors"
	"fmt"
	"slices"

	"github.com/dumpmap/dumpmap/analysis/breakpad"
)

// FPO is a legacy FPO_DATA record (winnt.h), 16 bytes: how an x86 function
// without a frame pointer lays out its frame. Counts are as stored: Locals
// and Params in 4-byte words, Regs in registers.
type FPO struct {
	Start  uint32 // ulOffStart: the function's RVA
	Size   uint32 // cbProcSize
	Locals uint32 // cdwLocals
	Params uint16 // cdwParams
	Prolog uint8  // cbProlog, bytes
	Regs   uint8  // cbRegs: registers saved
	HasSEH bool
	UseBP  bool  // fUseBP: EBP was allocated as a general register
	Frame  uint8 // cbFrame: 0 FPO, 1 trap, 2 TSS, 3 non-FPO
	// Attributes is the raw bit field the five fields above come from.
	Attributes uint16
}

// FrameData is a FRAMEDATA record of the "new FPO" stream (cvinfo.h
// tagFRAMEDATA), 32 bytes: one per prolog step of an x86 function, with a
// program that recovers the caller's registers. Sizes are in bytes.
type FrameData struct {
	RVA             uint32 // ulRvaStart
	CodeSize        uint32 // cbBlock
	Locals          uint32 // cbLocals
	Params          uint32 // cbParams
	MaxStack        uint32 // cbStkMax
	Program         string // frameFunc, resolved through /names
	ProgramOffset   uint32
	Prolog          uint16 // cbProlog
	SavedRegs       uint16 // cbSavedRegs
	HasSEH          bool   // fHasSEH
	HasEH           bool   // fHasEH: C++ exception handling
	IsFunctionStart bool   // fIsFunctionStart
}

const (
	fpoSize       = 16
	frameDataSize = 32
	// maxFrameRecords bounds each table; the stream size bounds it too.
	maxFrameRecords = 1 << 24
)

type fpoTable struct {
	fpo   []FPO
	fd    []FrameData
	index *breakpad.WinFrameIndex
	err   error
}

// ErrNoFPO is returned by FPO and FrameData when the PDB has no such
// stream (x64 and ARM64 PDBs unwind through the image's .pdata instead).
var ErrNoFPO = errors.New("pdb: no FPO stream")

func (f *File) frameTables() *fpoTable {
	f.fpoOnce.Do(func() {
		t := &fpoTable{}
		var errs []error
		if s := int(f.dbi.fpoStream); f.dbi.fpoStream != noStream {
			if _, ok := f.m.streamSize(s); ok {
				b, err := f.m.readStream(s)
				if err != nil {
					errs = append(errs, err)
				} else {
					t.fpo, err = parseFPO(b, s)
					errs = append(errs, err)
				}
			}
		}
		if s := int(f.dbi.newFPOStream); f.dbi.newFPOStream != noStream {
			if _, ok := f.m.streamSize(s); ok {
				b, err := f.m.readStream(s)
				if err != nil {
					errs = append(errs, err)
				} else {
					names, nerr := f.stringTable()
					t.fd, err = parseFrameData(b, s, names)
					errs = append(errs, err)
					if nerr != nil && len(t.fd) > 0 {
						errs = append(errs, fmt.Errorf("pdb: FrameData programs unresolved: %w", nerr))
					}
				}
			}
		}
		recs := make([]breakpad.WinFrameInfo, 0, len(t.fpo)+len(t.fd))
		for _, r := range t.fpo {
			recs = append(recs, r.WinFrameInfo())
		}
		for _, r := range t.fd {
			recs = append(recs, r.WinFrameInfo())
		}
		t.index = breakpad.NewWinFrameIndex(recs)
		t.err = errors.Join(errs...)
		f.fpo = t
	})
	return f.fpo
}

// parseFPO decodes the legacy FPO stream: packed FPO_DATA records.
func parseFPO(b []byte, stream int) ([]FPO, error) {
	le := binary.LittleEndian
	n := len(b) / fpoSize
	var err error
	if len(b)%fpoSize != 0 {
		err = &FormatError{Off: -1, Stream: stream, Msg: fmt.Sprintf("FPO stream of %d bytes is not a multiple of %d", len(b), fpoSize)}
	}
	if n > maxFrameRecords {
		n = maxFrameRecords
	}
	out := make([]FPO, n)
	for i := range out {
		e := b[i*fpoSize:]
		bits := le.Uint16(e[14:])
		out[i] = FPO{
			Start: le.Uint32(e), Size: le.Uint32(e[4:]), Locals: le.Uint32(e[8:]), Params: le.Uint16(e[12:]),
			Prolog: uint8(bits), Regs: uint8(bits>>8) & 7, HasSEH: bits&(1<<11) != 0, UseBP: bits&(1<<12) != 0,
			Frame: uint8(bits>>14) & 3, Attributes: bits,
		}
	}
	return out, err
}

// parseFrameData decodes the new FPO stream: FRAMEDATA records, preceded by
// a 4-byte relocation pointer when the size is not a multiple of 32 (as
// LLVM's DebugFrameDataSubsectionRef reads it).
func parseFrameData(b []byte, stream int, names *stringTable) ([]FrameData, error) {
	le := binary.LittleEndian
	if len(b)%frameDataSize != 0 && len(b) >= 4 {
		b = b[4:]
	}
	var err error
	if len(b)%frameDataSize != 0 {
		err = &FormatError{Off: -1, Stream: stream, Msg: fmt.Sprintf("FrameData stream of %d bytes is not a multiple of %d", len(b), frameDataSize)}
	}
	n := min(len(b)/frameDataSize, maxFrameRecords)
	out := make([]FrameData, n)
	for i := range out {
		e := b[i*frameDataSize:]
		flags := le.Uint32(e[28:])
		fd := FrameData{
			RVA: le.Uint32(e), CodeSize: le.Uint32(e[4:]), Locals: le.Uint32(e[8:]), Params: le.Uint32(e[12:]),
			MaxStack: le.Uint32(e[16:]), ProgramOffset: le.Uint32(e[20:]), Prolog: le.Uint16(e[24:]),
			SavedRegs: le.Uint16(e[26:]), HasSEH: flags&1 != 0, HasEH: flags&2 != 0, IsFunctionStart: flags&4 != 0,
		}
		fd.Program, _ = names.at(fd.ProgramOffset)
		out[i] = fd
	}
	return out, err
}

// WinFrameInfo converts r to the unwinder's record type (STACK WIN type 0),
// in bytes as Breakpad's dump_syms writes it from DIA: locals and
// parameters are 4-byte words, saved registers 4 bytes each.
func (r FPO) WinFrameInfo() breakpad.WinFrameInfo {
	return breakpad.WinFrameInfo{
		Type: breakpad.WinFrameFPO, RVA: r.Start, CodeSize: r.Size, PrologSize: uint32(r.Prolog),
		ParamSize: uint32(r.Params) * 4, SavedRegSize: uint32(r.Regs) * 4, LocalSize: r.Locals * 4,
		AllocatesBasePointer: r.UseBP, HasSEH: r.HasSEH,
	}
}

// WinFrameInfo converts r to the unwinder's record type (STACK WIN type 4).
func (r FrameData) WinFrameInfo() breakpad.WinFrameInfo {
	return breakpad.WinFrameInfo{
		Type: breakpad.WinFrameFrameData, RVA: r.RVA, CodeSize: r.CodeSize, PrologSize: uint32(r.Prolog),
		ParamSize: r.Params, SavedRegSize: uint32(r.SavedRegs), LocalSize: r.Locals, MaxStackSize: r.MaxStack,
		Program: r.Program, HasSEH: r.HasSEH, HasCPPEH: r.HasEH, FunctionStart: r.IsFunctionStart,
	}
}

// FPORecords returns the legacy FPO_DATA records in stream order.
func (f *File) FPORecords() ([]FPO, error) {
	t := f.frameTables()
	return slices.Clone(t.fpo), t.err
}

// FrameDataRecords returns the FRAMEDATA records in stream order, their
// programs resolved through /names.
func (f *File) FrameDataRecords() ([]FrameData, error) {
	t := f.frameTables()
	return slices.Clone(t.fd), t.err
}

// WinFrameAt returns the x86 unwind record that applies at rva: the
// innermost FRAMEDATA record holding it, else the innermost FPO_DATA
// record, with Breakpad's precedence (see breakpad.WinFrameIndex). Give it
// to breakpad.UnwindWin.
func (f *File) WinFrameAt(rva uint32) (breakpad.WinFrameInfo, bool) {
	return f.frameTables().index.Find(uint64(rva))
}
