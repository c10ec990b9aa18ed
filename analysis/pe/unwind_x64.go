package pe

import (
	"encoding/binary"
	"fmt"
)

// UnwindOp is an x64 unwind operation code (UWOP_*), from "x64 exception
// handling" in the Microsoft C++ documentation (struct UNWIND_CODE).
type UnwindOp uint8

// x64 unwind operation codes.
const (
	UwopPushNonvol    UnwindOp = 0  // push a nonvolatile register; OpInfo is the register
	UwopAllocLarge    UnwindOp = 1  // sub rsp, n with n in the next one (OpInfo 0, scaled by 8) or two (OpInfo 1) slots
	UwopAllocSmall    UnwindOp = 2  // sub rsp, OpInfo*8+8
	UwopSetFPReg      UnwindOp = 3  // lea FrameRegister, [rsp+FrameOffset]
	UwopSaveNonvol    UnwindOp = 4  // mov [frame+n*8], reg
	UwopSaveNonvolFar UnwindOp = 5  // mov [frame+n], reg with a 32-bit n
	UwopEpilog        UnwindOp = 6  // version 2: where the epilogs are
	UwopSpareCode     UnwindOp = 7  // reserved
	UwopSaveXMM128    UnwindOp = 8  // movaps [frame+n*16], xmm
	UwopSaveXMM128Far UnwindOp = 9  // movaps [frame+n], xmm with a 32-bit n
	UwopPushMachFrame UnwindOp = 10 // the processor pushed a machine frame (interrupt or exception)
)

var uwopNames = [...]string{"UWOP_PUSH_NONVOL", "UWOP_ALLOC_LARGE", "UWOP_ALLOC_SMALL", "UWOP_SET_FPREG",
	"UWOP_SAVE_NONVOL", "UWOP_SAVE_NONVOL_FAR", "UWOP_EPILOG", "UWOP_SPARE_CODE", "UWOP_SAVE_XMM128",
	"UWOP_SAVE_XMM128_FAR", "UWOP_PUSH_MACHFRAME"}

func (o UnwindOp) String() string {
	if int(o) < len(uwopNames) {
		return uwopNames[o]
	}
	return fmt.Sprintf("UWOP(%d)", uint8(o))
}

// UNWIND_INFO flags.
const (
	UnwindFlagEHandler  = 0x1 // an exception handler follows the codes
	UnwindFlagUHandler  = 0x2 // a termination handler follows the codes
	UnwindFlagChainInfo = 0x4 // a RUNTIME_FUNCTION of the primary unwind info follows the codes
)

// x64 register numbers as UNWIND_CODE and UNWIND_INFO.FrameRegister give them.
var x64RegNames = [16]string{"rax", "rcx", "rdx", "rbx", "rsp", "rbp", "rsi", "rdi",
	"r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15"}

// X64RegName names an x64 integer register by its unwind-code number (0 rax ... 15
// r15).
func X64RegName(n uint8) string {
	if n < 16 {
		return x64RegNames[n]
	}
	return fmt.Sprintf("reg%d", n)
}

// UnwindCode is one decoded x64 unwind operation (a UNWIND_CODE and the slots it
// takes).
type UnwindCode struct {
	// CodeOffset is the prolog offset just past the instruction that did the
	// operation.
	CodeOffset uint8
	Op         UnwindOp
	// OpInfo is the register (integer or XMM) for the push and save operations,
	// the form for UWOP_ALLOC_LARGE, and 1 when UWOP_PUSH_MACHFRAME includes an
	// error code.
	OpInfo uint8
	// Value is what the operand slots say, unscaled: the bytes allocated for the
	// ALLOC operations, the offset in bytes from the frame base for the SAVE
	// operations.
	Value uint32
}

func (c UnwindCode) String() string {
	switch c.Op {
	case UwopPushNonvol:
		return fmt.Sprintf("%#x %v %s", c.CodeOffset, c.Op, X64RegName(c.OpInfo))
	case UwopAllocLarge, UwopAllocSmall:
		return fmt.Sprintf("%#x %v %#x", c.CodeOffset, c.Op, c.Value)
	case UwopSaveNonvol, UwopSaveNonvolFar:
		return fmt.Sprintf("%#x %v %s at %#x", c.CodeOffset, c.Op, X64RegName(c.OpInfo), c.Value)
	case UwopSaveXMM128, UwopSaveXMM128Far:
		return fmt.Sprintf("%#x %v xmm%d at %#x", c.CodeOffset, c.Op, c.OpInfo, c.Value)
	case UwopPushMachFrame:
		return fmt.Sprintf("%#x %v error code %d", c.CodeOffset, c.Op, c.OpInfo)
	}
	return fmt.Sprintf("%#x %v", c.CodeOffset, c.Op)
}

// UnwindInfo is a decoded x64 UNWIND_INFO: the effect of a function's prolog on
// the stack pointer and the nonvolatile registers.
type UnwindInfo struct {
	Version    uint8 // 1, or 2 with epilog descriptions
	Flags      uint8 // UnwindFlagEHandler, UnwindFlagUHandler, UnwindFlagChainInfo
	PrologSize uint8
	// FrameRegister is the register (by unwind-code number) used as the frame
	// pointer, 0 when none; FrameOffset is the distance in bytes (a multiple of 16,
	// at most 240) from RSP at which it was set.
	FrameRegister uint8
	FrameOffset   uint8
	// Codes are the prolog's operations in the order the structure stores them:
	// descending prolog offset, so undoing them in order unwinds the prolog.
	// Version 2 epilog codes are not among them.
	Codes []UnwindCode
	// Version 2 only: EpilogSize is the size of every epilog; EpilogAtEnd says one
	// ends at the function's end; EpilogOffsets lists the others' distances from
	// the end of the function to their first instruction.
	EpilogSize    uint8
	EpilogAtEnd   bool
	EpilogOffsets []uint16
	// Handler is the RVA of the exception or termination handler and
	// HandlerData that of its language-specific data (after the handler RVA), when
	// UnwindFlagEHandler or UnwindFlagUHandler is set.
	Handler     uint32
	HandlerData uint32
	// Chained is the RUNTIME_FUNCTION of the primary unwind info when
	// UnwindFlagChainInfo is set: its codes are undone after these.
	Chained *RuntimeFunction
	// Size is the number of bytes the structure takes, to the end of the handler
	// RVA or chained entry.
	Size int
}

// unwindInfoMax is the largest UNWIND_INFO: 4 header bytes, 256 slots (CountOfCodes
// is a byte, rounded up to even), a 12-byte chained entry.
const unwindInfoMax = 4 + 2*256 + 12

// UnwindInfo reads and decodes the UNWIND_INFO at rva (a RuntimeFunction's
// UnwindData).
func (f *File) UnwindInfo(rva uint32) (*UnwindInfo, error) {
	var h [4]byte
	if err := f.ReadRVA(h[:], rva); err != nil {
		return nil, fmt.Errorf("pe: unwind info at %#x: %w", rva, err)
	}
	n := int(h[2]+1) &^ 1
	size := 4 + 2*n
	switch {
	case h[0]>>3&UnwindFlagChainInfo != 0:
		size += 12
	case h[0]>>3&(UnwindFlagEHandler|UnwindFlagUHandler) != 0:
		size += 4
	}
	b := make([]byte, size)
	copy(b, h[:])
	if err := f.ReadRVA(b[4:], rva+4); err != nil {
		return nil, fmt.Errorf("pe: unwind info at %#x: %w", rva, err)
	}
	u, err := DecodeUnwindInfo(b)
	if err != nil {
		return nil, fmt.Errorf("pe: unwind info at %#x: %w", rva, err)
	}
	if u.Flags&(UnwindFlagEHandler|UnwindFlagUHandler) != 0 && u.Flags&UnwindFlagChainInfo == 0 {
		u.HandlerData = rva + uint32(u.Size)
	}
	return u, nil
}

// DecodeUnwindInfo decodes an UNWIND_INFO from b, which holds at least the whole
// structure (header, codes, and the handler RVA or chained entry its flags call
// for). HandlerData is left 0: it is an RVA, which only File.UnwindInfo knows.
func DecodeUnwindInfo(b []byte) (*UnwindInfo, error) {
	if len(b) < 4 {
		return nil, formatErr(0, "unwind info of %d bytes is shorter than its 4-byte header", len(b))
	}
	u := &UnwindInfo{
		Version:       b[0] & 7,
		Flags:         b[0] >> 3,
		PrologSize:    b[1],
		FrameRegister: b[3] & 0xf,
		FrameOffset:   (b[3] >> 4) * 16,
	}
	if u.Version != 1 && u.Version != 2 {
		return nil, formatErr(0, "unwind info version %d (only 1 and 2 exist)", u.Version)
	}
	count := int(b[2])
	slots := (count + 1) &^ 1
	u.Size = 4 + 2*slots
	if len(b) < u.Size {
		return nil, formatErr(0, "unwind info of %d bytes is shorter than its %d codes", len(b), count)
	}
	le := binary.LittleEndian
	codes := b[4 : 4+2*count]
	i := 0
	if u.Version == 2 {
		// Version 2 puts its epilog descriptions first: the first gives the size of
		// every epilog and whether one ends the function, each later one an
		// epilog's distance from the function's end (0 is padding).
		for first := true; i < count && UnwindOp(codes[2*i+1]&0xf) == UwopEpilog; i++ {
			lo, info := codes[2*i], codes[2*i+1]>>4
			if first {
				u.EpilogSize, u.EpilogAtEnd = lo, info&1 != 0
				first = false
				continue
			}
			if off := uint16(info)<<8 | uint16(lo); off != 0 {
				u.EpilogOffsets = append(u.EpilogOffsets, off)
			}
		}
	}
	u.Codes = make([]UnwindCode, 0, count-i)
	for i < count {
		c := UnwindCode{CodeOffset: codes[2*i], Op: UnwindOp(codes[2*i+1] & 0xf), OpInfo: codes[2*i+1] >> 4}
		at := int64(4 + 2*i)
		need := 1
		switch c.Op {
		case UwopPushNonvol, UwopSetFPReg:
		case UwopAllocSmall:
			c.Value = uint32(c.OpInfo)*8 + 8
		case UwopAllocLarge:
			switch c.OpInfo {
			case 0:
				need = 2
			case 1:
				need = 3
			default:
				return nil, formatErr(at, "%v with operation info %d (0 or 1)", c.Op, c.OpInfo)
			}
		case UwopSaveNonvol, UwopSaveXMM128:
			need = 2
		case UwopSaveNonvolFar, UwopSaveXMM128Far:
			need = 3
		case UwopPushMachFrame:
			if c.OpInfo > 1 {
				return nil, formatErr(at, "%v with operation info %d (0 or 1)", c.Op, c.OpInfo)
			}
		default:
			// UWOP_EPILOG outside the leading version 2 run, UWOP_SPARE_CODE, and
			// codes 11-15 have no defined meaning here.
			return nil, formatErr(at, "unwind code %v in version %d unwind info", c.Op, u.Version)
		}
		if i+need > count {
			return nil, formatErr(at, "%v needs %d slots, %d remain", c.Op, need, count-i)
		}
		switch c.Op {
		case UwopAllocLarge:
			if need == 2 {
				c.Value = uint32(le.Uint16(codes[2*i+2:])) * 8
			} else {
				c.Value = le.Uint32(codes[2*i+2:])
			}
		case UwopSaveNonvol:
			c.Value = uint32(le.Uint16(codes[2*i+2:])) * 8
		case UwopSaveXMM128:
			c.Value = uint32(le.Uint16(codes[2*i+2:])) * 16
		case UwopSaveNonvolFar, UwopSaveXMM128Far:
			c.Value = le.Uint32(codes[2*i+2:])
		}
		u.Codes = append(u.Codes, c)
		i += need
	}
	switch {
	case u.Flags&UnwindFlagChainInfo != 0:
		if len(b) < u.Size+12 {
			return nil, formatErr(int64(u.Size), "chained unwind info is cut short")
		}
		t := b[u.Size:]
		u.Chained = &RuntimeFunction{Begin: le.Uint32(t), End: le.Uint32(t[4:]), UnwindData: le.Uint32(t[8:])}
		u.Size += 12
	case u.Flags&(UnwindFlagEHandler|UnwindFlagUHandler) != 0:
		if len(b) < u.Size+4 {
			return nil, formatErr(int64(u.Size), "exception handler RVA is cut short")
		}
		u.Handler = le.Uint32(b[u.Size:])
		u.Size += 4
	}
	return u, nil
}
