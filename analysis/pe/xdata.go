package pe

import (
	"encoding/binary"
	"fmt"
)

// ARM64 unwind data, from "ARM64 exception handling" in the Microsoft C++
// documentation: an .xdata record (a header, epilog scopes, a byte string of unwind
// codes, an optional handler) or, for canonical functions, packed unwind data in
// the .pdata entry itself.

// ARM64Op is a decoded ARM64 unwind operation. Several encodings decode to one
// operation with different operands (save_reg, save_regp, save_r19r20_x,
// save_fplr, their _x forms and save_any_reg are all ARM64SaveRegs).
type ARM64Op uint8

// ARM64 unwind operations.
const (
	ARM64Alloc              ARM64Op = iota // alloc_s, alloc_m, alloc_l: sub sp, sp, #Size
	ARM64SaveRegs                          // stp/str of integer, D or Q registers at [sp+Offset], or pre-indexed
	ARM64SaveLRPair                        // stp x(Reg), lr, [sp+Offset]
	ARM64SetFP                             // mov x29, sp
	ARM64AddFP                             // add x29, sp, #Size
	ARM64Nop                               // an instruction with no unwind effect
	ARM64End                               // end of the codes (a ret in an epilog)
	ARM64EndC                              // end of the codes of this fragment; the host's follow
	ARM64SaveNext                          // the next save of a pair saves one pair more
	ARM64TrapFrame                         // MSFT_OP_TRAP_FRAME (kernel)
	ARM64MachineFrame                      // MSFT_OP_MACHINE_FRAME: sp points at {sp, pc}
	ARM64Context                           // MSFT_OP_CONTEXT: sp points at an ARM64_NT_CONTEXT
	ARM64ECContext                         // MSFT_OP_EC_CONTEXT: sp points at an x64 CONTEXT (Arm64EC)
	ARM64ClearUnwoundToCall                // MSFT_OP_CLEAR_UNWOUND_TO_CALL: pc = lr
	ARM64PACSignLR                         // pacibsp: lr carries a pointer-authentication code
)

var arm64OpNames = [...]string{"alloc", "save_regs", "save_lrpair", "set_fp", "add_fp", "nop", "end", "end_c",
	"save_next", "trap_frame", "machine_frame", "context", "ec_context", "clear_unwound_to_call", "pac_sign_lr"}

func (o ARM64Op) String() string {
	if int(o) < len(arm64OpNames) {
		return arm64OpNames[o]
	}
	return fmt.Sprintf("arm64op(%d)", uint8(o))
}

// ARM64RegFile says which registers an ARM64SaveRegs saves.
type ARM64RegFile uint8

// Register files.
const (
	ARM64RegX ARM64RegFile = iota // x0-x30 (x29 fp, x30 lr)
	ARM64RegD                     // the low 64 bits of v0-v31
	ARM64RegQ                     // all 128 bits of v0-v31
)

// ARM64Code is one decoded ARM64 unwind code. Each maps to exactly one prolog or
// epilog instruction, except the custom-stack codes (trap, machine frame,
// contexts), which describe no instruction.
type ARM64Code struct {
	Op ARM64Op
	// Reg is the first register saved: x19-x30, or v0-v31 for the D and Q files.
	Reg  uint8
	File ARM64RegFile
	// Pair is set for a store of two consecutive registers.
	Pair bool
	// Writeback is set for a pre-indexed store ([sp, #-Offset]!): SP was lowered
	// by Offset first and the registers are at [sp]. Otherwise they are at
	// [sp+Offset].
	Writeback bool
	Offset    uint32
	// Size is the bytes allocated (ARM64Alloc) or added to sp (ARM64AddFP).
	Size uint32
	// Len is the encoded length in bytes.
	Len uint8
}

func (c ARM64Code) String() string {
	switch c.Op {
	case ARM64Alloc, ARM64AddFP:
		return fmt.Sprintf("%v %#x", c.Op, c.Size)
	case ARM64SaveRegs, ARM64SaveLRPair:
		f := "xdq"[c.File : c.File+1]
		s := fmt.Sprintf("%v %s%d", c.Op, f, c.Reg)
		if c.Pair {
			s += fmt.Sprintf(",%s%d", f, c.Reg+1)
		}
		if c.Writeback {
			return s + fmt.Sprintf(" [sp,#-%#x]!", c.Offset)
		}
		return s + fmt.Sprintf(" [sp,#%#x]", c.Offset)
	}
	return c.Op.String()
}

// Instruction reports whether the code stands for a prolog or epilog instruction
// (the custom-stack codes and the end markers do not).
func (c ARM64Code) Instruction() bool {
	switch c.Op {
	case ARM64End, ARM64EndC, ARM64TrapFrame, ARM64MachineFrame, ARM64Context, ARM64ECContext, ARM64ClearUnwoundToCall:
		return false
	}
	return true
}

// arm64CodeLen gives the encoded length of the code starting with byte b.
func arm64CodeLen(b byte) int {
	switch {
	case b < 0xc0:
		return 1
	case b < 0xe0:
		return 2
	case b == 0xe0:
		return 4
	case b == 0xe2:
		return 2
	case b == 0xe7:
		return 3
	case b >= 0xf8 && b <= 0xfb: // reserved, with 1-4 operand bytes
		return int(b-0xf8) + 2
	}
	return 1
}

// DecodeARM64Code decodes the unwind code at the start of b.
func DecodeARM64Code(b []byte) (ARM64Code, error) {
	if len(b) == 0 {
		return ARM64Code{}, formatErr(0, "no unwind code")
	}
	n := arm64CodeLen(b[0])
	if len(b) < n {
		return ARM64Code{}, formatErr(0, "unwind code %#02x needs %d bytes, %d remain", b[0], n, len(b))
	}
	c := ARM64Code{Len: uint8(n)}
	var v uint32 // the first two bytes, most significant first
	if n >= 2 {
		v = uint32(b[0])<<8 | uint32(b[1])
	}
	x := func(shift, mask uint32) uint32 { return v >> shift & mask }
	b0 := b[0]
	switch {
	case b0 < 0x20: // alloc_s 000xxxxx
		c.Op, c.Size = ARM64Alloc, uint32(b0&0x1f)*16
	case b0 < 0x40: // save_r19r20_x 001zzzzz: pre-indexed by Z*8
		c.Op, c.Reg, c.Pair, c.Writeback, c.Offset = ARM64SaveRegs, 19, true, true, uint32(b0&0x1f)*8
	case b0 < 0x80: // save_fplr 01zzzzzz
		c.Op, c.Reg, c.Pair, c.Offset = ARM64SaveRegs, 29, true, uint32(b0&0x3f)*8
	case b0 < 0xc0: // save_fplr_x 10zzzzzz: pre-indexed by (Z+1)*8
		c.Op, c.Reg, c.Pair, c.Writeback, c.Offset = ARM64SaveRegs, 29, true, true, (uint32(b0&0x3f)+1)*8
	case b0 < 0xc8: // alloc_m 11000xxx'xxxxxxxx
		c.Op, c.Size = ARM64Alloc, x(0, 0x7ff)*16
	case b0 < 0xcc: // save_regp 110010xx'xxzzzzzz
		c.Op, c.Reg, c.Pair, c.Offset = ARM64SaveRegs, uint8(19+x(6, 0xf)), true, x(0, 0x3f)*8
	case b0 < 0xd0: // save_regp_x 110011xx'xxzzzzzz
		c.Op, c.Reg, c.Pair, c.Writeback, c.Offset = ARM64SaveRegs, uint8(19+x(6, 0xf)), true, true, (x(0, 0x3f)+1)*8
	case b0 < 0xd4: // save_reg 110100xx'xxzzzzzz
		c.Op, c.Reg, c.Offset = ARM64SaveRegs, uint8(19+x(6, 0xf)), x(0, 0x3f)*8
	case b0 < 0xd6: // save_reg_x 1101010x'xxxzzzzz
		c.Op, c.Reg, c.Writeback, c.Offset = ARM64SaveRegs, uint8(19+x(5, 0xf)), true, (x(0, 0x1f)+1)*8
	case b0 < 0xd8: // save_lrpair 1101011x'xxzzzzzz
		c.Op, c.Reg, c.Offset = ARM64SaveLRPair, uint8(19+2*x(6, 0x7)), x(0, 0x3f)*8
	case b0 < 0xda: // save_fregp 1101100x'xxzzzzzz
		c.Op, c.File, c.Reg, c.Pair, c.Offset = ARM64SaveRegs, ARM64RegD, uint8(8+x(6, 0x7)), true, x(0, 0x3f)*8
	case b0 < 0xdc: // save_fregp_x 1101101x'xxzzzzzz
		c.Op, c.File, c.Reg, c.Pair, c.Writeback, c.Offset = ARM64SaveRegs, ARM64RegD, uint8(8+x(6, 0x7)), true, true, (x(0, 0x3f)+1)*8
	case b0 < 0xde: // save_freg 1101110x'xxzzzzzz
		c.Op, c.File, c.Reg, c.Offset = ARM64SaveRegs, ARM64RegD, uint8(8+x(6, 0x7)), x(0, 0x3f)*8
	case b0 == 0xde: // save_freg_x 11011110'xxxzzzzz
		c.Op, c.File, c.Reg, c.Writeback, c.Offset = ARM64SaveRegs, ARM64RegD, uint8(8+x(5, 0x7)), true, (x(0, 0x1f)+1)*8
	case b0 == 0xdf: // 11011111: alloc_z (SVE) in newer documents; not decoded
		return c, formatErr(0, "unwind code %#02x (SVE) is not supported", b0)
	case b0 == 0xe0: // alloc_l 11100000'xxxxxxxx'xxxxxxxx'xxxxxxxx
		c.Op, c.Size = ARM64Alloc, (uint32(b[1])<<16|uint32(b[2])<<8|uint32(b[3]))*16
	case b0 == 0xe1:
		c.Op = ARM64SetFP
	case b0 == 0xe2: // add_fp 11100010'xxxxxxxx
		c.Op, c.Size = ARM64AddFP, uint32(b[1])*8
	case b0 == 0xe3:
		c.Op = ARM64Nop
	case b0 == 0xe4:
		c.Op = ARM64End
	case b0 == 0xe5:
		c.Op = ARM64EndC
	case b0 == 0xe6:
		c.Op = ARM64SaveNext
	case b0 == 0xe7: // save_any_reg 11100111'0pxrrrrr'ffoooooo
		if b[1]&0x80 != 0 || b[2]>>6 == 3 {
			return c, formatErr(0, "save_any_reg %#02x %#02x uses reserved bits", b[1], b[2])
		}
		c.Op, c.Reg, c.Pair, c.Writeback = ARM64SaveRegs, b[1]&0x1f, b[1]&0x40 != 0, b[1]&0x20 != 0
		c.File = ARM64RegFile(b[2] >> 6)
		off := uint32(b[2] & 0x3f)
		if c.Writeback {
			off++
		}
		// The offset is scaled by 16 for Q registers, for pairs and for
		// pre-indexed stores (which keep sp 16-byte aligned), else by 8.
		if c.File == ARM64RegQ || c.Pair || c.Writeback {
			c.Offset = off * 16
		} else {
			c.Offset = off * 8
		}
	case b0 == 0xe8:
		c.Op = ARM64TrapFrame
	case b0 == 0xe9:
		c.Op = ARM64MachineFrame
	case b0 == 0xea:
		c.Op = ARM64Context
	case b0 == 0xeb:
		c.Op = ARM64ECContext
	case b0 == 0xec:
		c.Op = ARM64ClearUnwoundToCall
	case b0 == 0xfc:
		c.Op = ARM64PACSignLR
	default:
		return c, formatErr(0, "reserved unwind code %#02x", b0)
	}
	return c, nil
}

// DecodeARM64Codes decodes a sequence of unwind codes from b, stopping after an
// end code (ARM64End) or at the end of b.
func DecodeARM64Codes(b []byte) ([]ARM64Code, error) {
	var out []ARM64Code
	for off := 0; off < len(b); {
		c, err := DecodeARM64Code(b[off:])
		if err != nil {
			if fe, ok := err.(*FormatError); ok {
				fe.Off += int64(off)
			}
			return out, err
		}
		out = append(out, c)
		off += int(c.Len)
		if c.Op == ARM64End {
			break
		}
	}
	return out, nil
}

// ARM64Epilog is an epilog scope of an .xdata record.
type ARM64Epilog struct {
	// Start is the epilog's offset in bytes from the start of the function (or
	// fragment). For the single epilog of a header with E set it is computed from
	// the function's end and the length of its code sequence.
	Start uint32
	// Index is the byte index of the epilog's first unwind code.
	Index uint16
}

// ARM64Unwind is the unwind description of one ARM64 function or fragment.
type ARM64Unwind struct {
	// FunctionLength is the length of the function (fragment) in bytes.
	FunctionLength uint32
	// Packed is set when the description came from packed unwind data (see
	// ExpandPacked); Epilogs then holds the one epilog of a Flag 1 function.
	Packed bool

	// .xdata header fields.
	Version          uint8
	HasExceptionData bool // X: a handler RVA follows the codes
	EpilogInHeader   bool // E: one epilog, whose first code index was in the header
	Epilogs          []ARM64Epilog
	// Codes are the unwind code bytes (CodeWords*4 of them, with the padding).
	Codes []byte
	// Handler is the RVA of the exception handler and HandlerData that of its
	// data, when HasExceptionData is set (File.ARM64Unwind fills them).
	Handler, HandlerData uint32

	// Packed unwind data fields (Flag 1 or 2).
	Flag      uint8  // 1: one prolog and one epilog; 2: no prolog or epilog (a fragment)
	FrameSize uint32 // bytes
	CR        uint8  // 0 unchained, 1 lr saved, 2 chained with pacibsp, 3 chained
	H         bool   // x0-x7 homed
	RegI      uint8  // x19.. saved
	RegF      uint8  // 0, or RegF+1 of d8.. saved

	prolog, epilog []ARM64Code // packed data expanded, each ended by ARM64End
}

// xdataMax bounds an .xdata record read: the extended header allows 65535 epilog
// scopes and 255 code words; real ones are tens of bytes.
const xdataMax = 8 + 4*0xffff + 4*0xff + 4

// ARM64Unwind reads the unwind data of an ARM64 entry: packed, or the .xdata
// record it points at.
func (f *File) ARM64Unwind(fn RuntimeFunction) (*ARM64Unwind, error) {
	if flag := fn.ARM64Flag(); flag != 0 {
		return DecodeARM64Packed(fn.UnwindData)
	}
	rva := fn.UnwindData
	var h [8]byte
	if err := f.ReadRVA(h[:4], rva); err != nil {
		return nil, fmt.Errorf("pe: .xdata at %#x: %w", rva, err)
	}
	le := binary.LittleEndian
	w0 := le.Uint32(h[:])
	size, hdr := xdataSize(w0, 0)
	if hdr == 8 {
		if err := f.ReadRVA(h[4:8], rva+4); err != nil {
			return nil, fmt.Errorf("pe: .xdata at %#x: %w", rva, err)
		}
		size, _ = xdataSize(w0, le.Uint32(h[4:]))
	}
	b := make([]byte, size)
	if err := f.ReadRVA(b, rva); err != nil {
		return nil, fmt.Errorf("pe: .xdata at %#x: %w", rva, err)
	}
	u, err := DecodeARM64Xdata(b)
	if err != nil {
		return nil, fmt.Errorf("pe: .xdata at %#x: %w", rva, err)
	}
	if u.HasExceptionData {
		u.HandlerData = rva + uint32(size)
	}
	return u, nil
}

// xdataSize computes the size of an .xdata record from its first word and, when
// the first word says there is one, its extension word; hdr is the header size.
func xdataSize(w0, w1 uint32) (size, hdr int) {
	epilogs, words := int(w0>>22&0x1f), int(w0>>27)
	hdr = 4
	if epilogs == 0 && words == 0 {
		hdr = 8
		epilogs, words = int(w1&0xffff), int(w1>>16&0xff)
	}
	size = hdr + 4*words
	if w0>>21&1 == 0 { // E clear: the scopes follow the header
		size += 4 * epilogs
	}
	if w0>>20&1 != 0 {
		size += 4
	}
	return size, hdr
}

// DecodeARM64Xdata decodes an .xdata record held in b (at least the whole record
// up to and including the handler RVA).
func DecodeARM64Xdata(b []byte) (*ARM64Unwind, error) {
	le := binary.LittleEndian
	if len(b) < 4 {
		return nil, formatErr(0, ".xdata of %d bytes is shorter than its header", len(b))
	}
	w0 := le.Uint32(b)
	u := &ARM64Unwind{
		FunctionLength:   4 * (w0 & 0x3ffff),
		Version:          uint8(w0 >> 18 & 3),
		HasExceptionData: w0>>20&1 != 0,
		EpilogInHeader:   w0>>21&1 != 0,
	}
	if u.Version != 0 {
		return nil, formatErr(0, ".xdata version %d (only 0 is defined)", u.Version)
	}
	epilogs, words := int(w0>>22&0x1f), int(w0>>27)
	off := 4
	if epilogs == 0 && words == 0 {
		if len(b) < 8 {
			return nil, formatErr(4, ".xdata extension word is cut short")
		}
		w1 := le.Uint32(b[4:])
		epilogs, words = int(w1&0xffff), int(w1>>16&0xff)
		off = 8
	}
	var w1 uint32
	if len(b) >= 8 {
		w1 = le.Uint32(b[4:])
	}
	size, _ := xdataSize(w0, w1)
	if len(b) < size {
		return nil, formatErr(0, ".xdata of %d bytes is shorter than the %d its header describes", len(b), size)
	}
	codeBytes := 4 * words
	if u.EpilogInHeader {
		// E: the epilog count field is the index of the only epilog's codes; the
		// epilog ends the function, so its start depends on its length.
		u.Epilogs = []ARM64Epilog{{Index: uint16(epilogs)}}
	} else {
		u.Epilogs = make([]ARM64Epilog, epilogs)
		for i := range u.Epilogs {
			w := le.Uint32(b[off:])
			u.Epilogs[i] = ARM64Epilog{Start: 4 * (w & 0x3ffff), Index: uint16(w >> 22)}
			if w>>18&0xf != 0 {
				return nil, formatErr(int64(off), "epilog scope %d sets reserved bits (%#x)", i, w)
			}
			off += 4
		}
	}
	u.Codes = b[off : off+codeBytes]
	off += codeBytes
	for i, e := range u.Epilogs {
		if int(e.Index) >= codeBytes {
			return nil, formatErr(int64(off-codeBytes), "epilog %d starts at code index %d, past the %d code bytes", i, e.Index, codeBytes)
		}
	}
	if u.EpilogInHeader {
		n, err := ARM64SequenceLen(u.Codes[u.Epilogs[0].Index:])
		if err != nil {
			return nil, err
		}
		// The epilog is its instructions plus the ret its end code stands for.
		if end := uint32(4 * (n + 1)); end <= u.FunctionLength {
			u.Epilogs[0].Start = u.FunctionLength - end
		}
	}
	if u.HasExceptionData {
		u.Handler = le.Uint32(b[off:])
	}
	return u, nil
}

// ARM64SequenceLen counts the instructions a code sequence stands for, up to its
// end or end_c code (which is not counted).
func ARM64SequenceLen(b []byte) (int, error) {
	n := 0
	for off := 0; off < len(b); {
		c, err := DecodeARM64Code(b[off:])
		if err != nil {
			return n, err
		}
		if c.Op == ARM64End || c.Op == ARM64EndC {
			break
		}
		if c.Instruction() {
			n++
		}
		off += int(c.Len)
	}
	return n, nil
}

// DecodeARM64Packed decodes packed unwind data: the second word of a .pdata entry
// whose Flag is 1 or 2.
func DecodeARM64Packed(w uint32) (*ARM64Unwind, error) {
	u := &ARM64Unwind{
		Packed:         true,
		Flag:           uint8(w & 3),
		FunctionLength: 4 * (w >> 2 & 0x7ff),
		RegF:           uint8(w >> 13 & 7),
		RegI:           uint8(w >> 16 & 0xf),
		H:              w>>20&1 != 0,
		CR:             uint8(w >> 21 & 3),
		FrameSize:      16 * (w >> 23),
	}
	if u.Flag == 0 || u.Flag == 3 {
		return nil, formatErr(0, "packed unwind data with Flag %d", u.Flag)
	}
	if u.RegI > 10 {
		return nil, formatErr(0, "packed unwind data saves %d integer registers (at most 10)", u.RegI)
	}
	prolog, epilog, err := u.ExpandPacked()
	if err != nil {
		return nil, err
	}
	u.prolog = append(prolog, ARM64Code{Op: ARM64End, Len: 1})
	u.epilog = append(epilog, ARM64Code{Op: ARM64End, Len: 1})
	if u.Flag == 1 {
		// The epilog ends the function: its instructions and the ret.
		start := uint32(0)
		if n := uint32(4 * (len(epilog) + 1)); n <= u.FunctionLength {
			start = u.FunctionLength - n
		}
		u.Epilogs = []ARM64Epilog{{Start: start, Index: packedEpilog}}
	}
	return u, nil
}

// ExpandPacked turns packed unwind data into unwind codes, in unwind order (the
// reverse of the prolog), following the canonical prolog table of "ARM64
// exception handling" (steps 1 to 6): prolog is what undoes the prolog, epilog what
// the epilog executes before its ret (the same codes without set_fp and without the
// homing nops, which the epilog does not repeat).
func (u *ARM64Unwind) ExpandPacked() (prolog, epilog []ARM64Code, err error) {
	intsz := uint32(u.RegI) * 8
	if u.CR == 1 {
		intsz += 8 // lr
	}
	fpsz := uint32(0)
	if u.RegF != 0 {
		fpsz = (uint32(u.RegF) + 1) * 8
	}
	h := uint32(0)
	if u.H {
		h = 8 * 8
	}
	savsz := (intsz + fpsz + h + 0xf) &^ 0xf
	if savsz > u.FrameSize {
		return nil, nil, formatErr(0, "packed unwind data saves %d bytes of registers in a %d-byte frame", savsz, u.FrameSize)
	}
	locsz := u.FrameSize - savsz
	if u.CR == 2 || u.CR == 3 {
		if locsz < 16 {
			return nil, nil, formatErr(0, "chained packed frame has %d bytes of locals, too few for the fp/lr pair", locsz)
		}
	}
	// Build the prolog in execution order.
	var p []ARM64Code
	save := func(reg uint8, file ARM64RegFile, pair bool, off uint32, first bool) {
		c := ARM64Code{Op: ARM64SaveRegs, Reg: reg, File: file, Pair: pair, Offset: off}
		if first {
			c.Writeback, c.Offset = true, savsz
		}
		p = append(p, c)
	}
	if u.CR == 2 {
		p = append(p, ARM64Code{Op: ARM64PACSignLR})
	}
	// Step 2: x19.. in pairs, the first pre-indexed by the whole save area.
	for i := uint8(0); i+1 < u.RegI; i += 2 {
		save(19+i, ARM64RegX, true, uint32(i)*8, i == 0)
	}
	if u.RegI%2 == 1 {
		r := 19 + u.RegI - 1
		if u.CR == 1 {
			// Step 3 merged: stp x(last), lr.
			c := ARM64Code{Op: ARM64SaveLRPair, Reg: r, Offset: uint32(u.RegI-1) * 8}
			if u.RegI == 1 {
				c.Writeback, c.Offset = true, savsz
			}
			p = append(p, c)
		} else {
			save(r, ARM64RegX, false, uint32(u.RegI-1)*8, u.RegI == 1)
		}
	} else if u.CR == 1 {
		save(30, ARM64RegX, false, intsz-8, u.RegI == 0)
	}
	// Step 4: d8.. in pairs, then a single if the count is odd.
	if u.RegF != 0 {
		n := u.RegF + 1
		for i := uint8(0); i+1 < n; i += 2 {
			save(8+i, ARM64RegD, true, intsz+uint32(i)*8, i == 0 && intsz == 0)
		}
		if n%2 == 1 {
			save(8+n-1, ARM64RegD, false, intsz+fpsz-8, false)
		}
	}
	// Step 5: homing x0-x7, four stp with no unwind effect.
	if u.H {
		for range 4 {
			p = append(p, ARM64Code{Op: ARM64Nop})
		}
	}
	// Step 6: the rest of the frame.
	alloc := func(n uint32) { p = append(p, ARM64Code{Op: ARM64Alloc, Size: n}) }
	switch {
	case (u.CR == 2 || u.CR == 3) && locsz <= 512:
		p = append(p, ARM64Code{Op: ARM64SaveRegs, Reg: 29, Pair: true, Writeback: true, Offset: locsz},
			ARM64Code{Op: ARM64SetFP})
	case u.CR == 2 || u.CR == 3:
		if locsz > 4080 {
			alloc(4080)
			alloc(locsz - 4080)
		} else {
			alloc(locsz)
		}
		p = append(p, ARM64Code{Op: ARM64SaveRegs, Reg: 29, Pair: true}, ARM64Code{Op: ARM64SetFP})
	case locsz > 4080:
		alloc(4080)
		alloc(locsz - 4080)
	case locsz > 0:
		alloc(locsz)
	}
	for i := len(p) - 1; i >= 0; i-- {
		prolog = append(prolog, p[i])
		if p[i].Op != ARM64SetFP && p[i].Op != ARM64Nop {
			epilog = append(epilog, p[i])
		}
	}
	return prolog, epilog, nil
}

// packedEpilog is the code index that names the epilog of packed data.
const packedEpilog = 1

// maxARM64Codes bounds a decoded sequence: 255 code words hold at most 1020 codes.
const maxARM64Codes = 1024

// UnwindCodes returns the codes that unwind the function from the instruction at
// offset bytes from its start, as RtlVirtualUnwind chooses them: in the prolog,
// only those undoing the instructions already executed (the sequence from index 0
// less one code per instruction not yet reached); in an epilog, the epilog's
// sequence less one code per instruction already executed; elsewhere the whole
// prolog sequence from index 0. The codes end with ARM64End unless the data ends
// first. inProlog and inEpilog say which case applied.
func (u *ARM64Unwind) UnwindCodes(offset uint32) (codes []ARM64Code, inProlog, inEpilog bool, err error) {
	seq := func(index int) ([]ARM64Code, error) {
		if u.Packed {
			if index == packedEpilog {
				return u.epilog, nil
			}
			return u.prolog, nil
		}
		if index >= len(u.Codes) {
			return nil, formatErr(int64(index), "unwind code index %d is past the %d code bytes", index, len(u.Codes))
		}
		cs, err := DecodeARM64Codes(u.Codes[index:])
		if len(cs) > maxARM64Codes {
			cs = cs[:maxARM64Codes]
		}
		return cs, err
	}
	// instructions counts the codes standing for instructions up to the end or
	// end_c code, which ends a fragment's own prolog.
	instructions := func(cs []ARM64Code) int {
		n := 0
		for _, c := range cs {
			if c.Op == ARM64End || c.Op == ARM64EndC {
				break
			}
			if c.Instruction() {
				n++
			}
		}
		return n
	}
	// skip drops n instruction codes from the front.
	skip := func(cs []ARM64Code, n int) []ARM64Code {
		for n > 0 && len(cs) > 0 && cs[0].Op != ARM64End {
			if cs[0].Instruction() {
				n--
			}
			cs = cs[1:]
		}
		return cs
	}
	insn := int(offset / 4)
	if !(u.Packed && u.Flag == 2) {
		prolog, err := seq(0)
		if err != nil {
			return nil, false, false, err
		}
		if n := instructions(prolog); insn < n {
			return skip(prolog, n-insn), true, false, nil
		}
		for _, e := range u.Epilogs {
			if offset < e.Start {
				continue
			}
			cs, err := seq(int(e.Index))
			if err != nil {
				return nil, false, false, err
			}
			// The epilog is its instructions and the ret its end code stands for.
			k := int((offset - e.Start) / 4)
			if k <= instructions(cs) {
				return skip(cs, k), false, true, nil
			}
		}
	}
	cs, err := seq(0)
	return cs, false, false, err
}
