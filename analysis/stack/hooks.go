package stack

import "github.com/dumpmap/dumpmap/analysis/pe"

// The walker's plug-in points. Each is optional; each is asked about one module
// at a time and answers "no information" with ok == false, in which case the
// walker tries its next method.

// MemoryReader reads process memory by virtual address. *minidump.Memory
// satisfies it. A read of bytes the dump did not capture must return an error
// (the bytes it could read may be returned too).
type MemoryReader interface {
	ReadAt(p []byte, va uint64) (int, error)
}

// Symbol describes the function at an address.
type Symbol struct {
	// Function is the function's name; empty when only the line is known.
	Function string
	// Start is the module offset (RVA) of the function's first byte, and Size its
	// length in bytes (0 when unknown).
	Start, Size uint64
	// File and Line are the source position of the address; Line 0 when unknown.
	File string
	Line int
}

// A Symbolizer names code: PDB procedures and line numbers, Breakpad FUNC and
// line records, exports.
type Symbolizer interface {
	// Symbolize describes the code at offset bytes from the start of module m. The
	// walker passes, for a caller frame, the offset of the byte before the return
	// address, which lies in the call instruction; ok is false when nothing is
	// known.
	Symbolize(m *Module, offset uint64) (s Symbol, ok bool)
}

// A CFIUnwinder computes a caller's registers from call frame information:
// Breakpad STACK CFI records or DWARF CFI, as on Linux, macOS and Android.
type CFIUnwinder interface {
	// CallerRegs returns the registers of the caller of a frame whose registers
	// are callee and which executes module m at offset. For a caller frame the
	// walker passes the offset of the byte before the return address, as
	// Breakpad does. The caller's PC must be the return address and its SP the
	// canonical frame address; other registers are set where the rules say.
	// ok is false when no rule covers offset.
	CallerRegs(m *Module, offset uint64, callee *Regs, mem MemoryReader) (caller Regs, ok bool)
}

// FrameInfoType is the kind of an x86 frame description (the FPO_DATA/FrameData
// frame types Breakpad's STACK WIN records carry).
type FrameInfoType uint8

// Frame description types.
const (
	FrameInfoFPO       FrameInfoType = 0 // FPO_DATA: a fixed frame layout
	FrameInfoTrap      FrameInfoType = 1
	FrameInfoTSS       FrameInfoType = 2
	FrameInfoStandard  FrameInfoType = 3
	FrameInfoFrameData FrameInfoType = 4 // FrameData with a program string
)

// FrameInfo is the x86 frame description of one function, as a PDB's FPO and
// FrameData streams or Breakpad's "STACK WIN" records give it. The walker unwinds
// with it as Breakpad's x86 walker does: the program, when there is one, is a
// postfix expression over $eip, $esp, $ebp, $ebx, $esi, $edi, .raSearchStart,
// .cbParams, .cbSavedRegs, .cbLocals and .cbCalleeParams (for example
// "$T0 $ebp = $eip $T0 4 + ^ = $ebp $T0 ^ = $esp $T0 8 + ="); without one, the
// fixed FPO layout applies.
type FrameInfo struct {
	Type                 FrameInfoType
	PrologSize           uint32
	EpilogSize           uint32
	ParamSize            uint32 // bytes of parameters the function pops
	SavedRegisterSize    uint32
	LocalSize            uint32
	MaxStackSize         uint32
	AllocatesBasePointer bool
	ProgramString        string
}

// A FrameDataSource finds x86 frame descriptions.
type FrameDataSource interface {
	// FrameInfo returns the description covering offset in module m (for a caller
	// frame, the offset of the byte before the return address); ok is false when
	// there is none.
	FrameInfo(m *Module, offset uint64) (fi *FrameInfo, ok bool)
}

// An Evaluator runs Breakpad postfix programs ("STACK WIN" program strings). The
// default is package breakpad's.
// vars holds the variables set before the program runs; Evaluate returns every
// variable assigned by it. Reads ("^") are 32-bit, through mem.
type Evaluator interface {
	Evaluate(program string, vars map[string]uint64, mem MemoryReader) (assigned map[string]uint64, err error)
}

// An ImageProvider finds the PE image of a module whose image the dump did not
// capture: a file beside the dump, on an image path, or in a symbol store (keyed by
// the module's TimeDateStamp and SizeOfImage). The walker reads the exception
// directory (.pdata) and, where the dump lacks it, the code it validates return
// addresses with, from the image.
type ImageProvider interface {
	// Image returns the image of m (either layout), nil when there is none.
	Image(m *Module) (*pe.File, error)
}
