package breakpad

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// WinFrameType is the type of a STACK WIN record: DIA's StackFrameTypeEnum.
type WinFrameType uint8

// The frame types Breakpad uses; it ignores the others (trap, TSS,
// standard), and so does WinFrameIndex.
const (
	WinFrameFPO       WinFrameType = 0 // FrameTypeFPO: legacy FPO_DATA
	WinFrameFrameData WinFrameType = 4 // FrameTypeFrameData: FRAMEDATA with a program string
)

// String names the type as DIA does.
func (t WinFrameType) String() string {
	switch t {
	case WinFrameFPO:
		return "FPO"
	case 1:
		return "trap"
	case 2:
		return "TSS"
	case 3:
		return "standard"
	case WinFrameFrameData:
		return "FrameData"
	}
	return fmt.Sprintf("WinFrameType(%d)", uint8(t))
}

// WinFrameInfo is the x86 Windows unwind record of a code range: a STACK
// WIN record, or a PDB FPO_DATA or FRAMEDATA record (package pdb returns
// the same type, so one unwinder serves both).
type WinFrameInfo struct {
	Type         WinFrameType
	RVA          uint32 // start of the range, relative to the module base
	CodeSize     uint32
	PrologSize   uint32
	EpilogSize   uint32
	ParamSize    uint32 // bytes of parameters (cbParams)
	SavedRegSize uint32 // bytes of saved registers (cbSavedRegs)
	LocalSize    uint32 // bytes of locals (cbLocals)
	MaxStackSize uint32
	// Program is the postfix program that computes the caller's registers
	// (FrameData records). Empty when the record has none.
	Program string
	// AllocatesBasePointer is FPO's fUseBP: the function uses EBP as a
	// general register and saved the caller's EBP (records without a
	// program only).
	AllocatesBasePointer bool
	// HasSEH and HasCPPEH are set from PDB records (STACK WIN lines do not
	// carry them).
	HasSEH, HasCPPEH bool
	// FunctionStart is set from PDB FRAMEDATA records: this record starts a
	// function rather than a part of its prolog.
	FunctionStart bool
}

// End returns the first RVA after the record's range.
func (w *WinFrameInfo) End() uint64 { return uint64(w.RVA) + uint64(w.CodeSize) }

func (w *WinFrameInfo) contains(rva uint64) bool {
	return rva >= uint64(w.RVA) && rva < w.End()
}

// stackWin parses "type rva code_size prolog epilog params saved locals
// max_stack has_program program_or_allocates_bp" (all hex but the program).
func (p *parser) stackWin(rest string) {
	f := strings.SplitN(rest, " ", 11)
	if len(f) < 11 {
		p.bad("STACK WIN record needs 11 fields")
		return
	}
	var v [10]uint32
	for i := 0; i < 10; i++ {
		n, ok := parseHex32(f[i])
		if !ok {
			p.bad("bad number in STACK WIN record")
			return
		}
		v[i] = n
	}
	w := WinFrameInfo{
		Type: WinFrameType(v[0]), RVA: v[1], CodeSize: v[2], PrologSize: v[3], EpilogSize: v[4],
		ParamSize: v[5], SavedRegSize: v[6], LocalSize: v[7], MaxStackSize: v[8],
	}
	if v[0] > 4 {
		p.bad("STACK WIN type %d is not a StackFrameTypeEnum value", v[0])
		return
	}
	if v[9] != 0 {
		w.Program = strings.TrimRight(f[10], " ")
	} else {
		abp, err := strconv.ParseUint(strings.TrimSpace(f[10]), 16, 32)
		if err != nil {
			p.bad("bad allocates_base_pointer in STACK WIN record")
			return
		}
		w.AllocatesBasePointer = abp != 0
	}
	p.win = append(p.win, w)
}

// maxNesting bounds how many enclosing records a lookup walks through.
const maxNesting = 1024

// WinFrameIndex finds the record covering an RVA among STACK WIN (or PDB
// FPO/FRAMEDATA) records. Records of one type may nest: MSVC writes one
// FRAMEDATA per prolog step, each covering the rest of the function. The
// innermost record containing the address wins, as in Breakpad's
// ContainedRangeMap; a record that partly overlaps an earlier one is dropped,
// as ContainedRangeMap refuses to store it. FrameData records are preferred
// to FPO records, as Breakpad's resolver does. Types other than FPO and
// FrameData are ignored.
type WinFrameIndex struct {
	byType [2]nestedIndex // 0: FrameData, 1: FPO (lookup order)
}

type nestedIndex struct {
	recs   []WinFrameInfo // sorted by RVA, then larger first
	parent []int32        // index of the innermost enclosing record, or -1
}

// NewWinFrameIndex indexes recs (which it may reorder).
func NewWinFrameIndex(recs []WinFrameInfo) *WinFrameIndex {
	x := &WinFrameIndex{}
	var fd, fpo []WinFrameInfo
	for _, r := range recs {
		switch r.Type {
		case WinFrameFrameData:
			fd = append(fd, r)
		case WinFrameFPO:
			fpo = append(fpo, r)
		}
	}
	x.byType[0] = buildNested(fd)
	x.byType[1] = buildNested(fpo)
	return x
}

func buildNested(recs []WinFrameInfo) nestedIndex {
	slices.SortStableFunc(recs, func(a, b WinFrameInfo) int {
		if c := cmpU64(uint64(a.RVA), uint64(b.RVA)); c != 0 {
			return c
		}
		return cmpU64(b.End(), a.End())
	})
	out := nestedIndex{recs: recs[:0]}
	var stack []int32 // open (enclosing) records, innermost last
	for _, r := range recs {
		if r.CodeSize == 0 {
			continue
		}
		for len(stack) > 0 && out.recs[stack[len(stack)-1]].End() <= uint64(r.RVA) {
			stack = stack[:len(stack)-1]
		}
		parent := int32(-1)
		if len(stack) > 0 {
			top := &out.recs[stack[len(stack)-1]]
			if r.End() > top.End() || (top.RVA == r.RVA && top.End() == r.End()) {
				// Partial overlap, or the same range again: the
				// first stored wins.
				continue
			}
			parent = stack[len(stack)-1]
		}
		out.recs = append(out.recs, r)
		out.parent = append(out.parent, parent)
		if len(stack) < maxNesting {
			stack = append(stack, int32(len(out.recs)-1))
		}
	}
	return out
}

// find returns the innermost record containing rva. The last record
// starting at or below rva either contains it (and is then innermost) or
// one of its enclosing records does: ranges are properly nested.
func (n *nestedIndex) find(rva uint64) (*WinFrameInfo, bool) {
	i, _ := slices.BinarySearchFunc(n.recs, rva, func(r WinFrameInfo, a uint64) int {
		if uint64(r.RVA) <= a {
			return -1
		}
		return 1
	})
	i--
	for steps := 0; i >= 0 && steps <= maxNesting; steps++ {
		if n.recs[i].contains(rva) {
			return &n.recs[i], true
		}
		i = int(n.parent[i])
	}
	return nil, false
}

// Find returns the record that applies at rva: the innermost FrameData
// record containing it, else the innermost FPO record.
func (x *WinFrameIndex) Find(rva uint64) (WinFrameInfo, bool) {
	if x == nil {
		return WinFrameInfo{}, false
	}
	for i := range x.byType {
		if r, ok := x.byType[i].find(rva); ok {
			return *r, true
		}
	}
	return WinFrameInfo{}, false
}

// Len returns the number of records indexed.
func (x *WinFrameIndex) Len() int {
	if x == nil {
		return 0
	}
	return len(x.byType[0].recs) + len(x.byType[1].recs)
}

// All returns the indexed records, FrameData then FPO, each by address.
func (x *WinFrameIndex) All() []WinFrameInfo {
	if x == nil {
		return nil
	}
	return slices.Concat(x.byType[0].recs, x.byType[1].recs)
}

// WinFrameAt returns the STACK WIN record that applies at rva.
func (f *File) WinFrameAt(rva uint64) (WinFrameInfo, bool) { return f.win.Find(rva) }

// WinFrames returns the STACK WIN records kept (FrameData then FPO).
func (f *File) WinFrames() []WinFrameInfo { return f.win.All() }
