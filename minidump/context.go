package minidump

import (
	"encoding/binary"
	"fmt"
	"strings"
)

// A Context is a thread's CPU state as the dump recorded it: the CONTEXT record a
// Thread's Context (or the Exception's Context) locates.
//
// The record's layout depends on the processor. These are decoded, each checked
// against the published definition:
//
//	x86      CONTEXT (i386), 716 bytes with the 512-byte extended registers
//	         (204 without): winnt.h; Breakpad's MDRawContextX86.
//	amd64    CONTEXT, 1232 bytes (larger when followed by XSTATE): winnt.h;
//	         Breakpad's MDRawContextAMD64.
//	arm64    ARM64_NT_CONTEXT, 912 bytes, used by Windows and by newer Breakpad and
//	         Crashpad writers: winnt.h; Breakpad's MDRawContextARM64.
//	arm64old Breakpad's MDRawContextARM64_Old, 796 bytes (64-bit flags, packed to 4),
//	         written on Android and iOS before Windows on ARM64 had a number.
//	arm      Breakpad's MDRawContextARM, 368 bytes (Linux, Android, iOS).
//
// Sources: Microsoft winnt.h (CONTEXT, ARM64_NT_CONTEXT) and Breakpad's
// src/google_breakpad/common/minidump_cpu_{x86,amd64,arm,arm64}.h.
//
// The records are decoded by hand from one read rather than with binparsergen
// accessors: every register is a fixed-size integer at a fixed offset, a table of
// (name, offset) per layout describes them completely, and the stack walker decodes
// a context per thread, where one read beats an accessor call per register.
type Context struct {
	// Arch is the layout that was decoded: ArchX86, ArchAMD64, ArchARM, ArchARM64
	// or ArchARM64Old.
	Arch Arch
	// Flags is ContextFlags as stored (64 bits only in the arm64old layout): the CPU
	// bits and which register groups (control, integer, floating point, ...) the
	// writer filled in.
	Flags uint64
	// Size is the size of the record in the file, which may exceed the layout's
	// (an amd64 context followed by its XSTATE area).
	Size int

	regs [ctxMaxRegs]uint64
	vec  [32][16]byte
	nvec int
}

// Register is a named register value.
type Register struct {
	Name  string
	Value uint64
}

// Context CPU flags: the processor bits of ContextFlags (CONTEXT_i386,
// CONTEXT_AMD64, CONTEXT_ARM, CONTEXT_ARM64, and Breakpad's old ARM64 bit, which
// sits in the 64-bit flags of that layout).
const (
	ContextX86      = 0x00010000
	ContextAMD64    = 0x00100000
	ContextARM      = 0x40000000
	ContextARM64    = 0x00400000
	ContextARM64Old = 0x80000000
)

// Context record sizes of each layout.
const (
	ContextX86Size      = 716
	ContextX86BaseSize  = 204 // without the extended (FXSAVE) registers
	ContextAMD64Size    = 1232
	ContextARMSize      = 368
	ContextARM64Size    = 912
	ContextARM64OldSize = 796
)

const ctxMaxRegs = 40

// ctxReg places one register in a layout.
type ctxReg struct {
	name string
	off  int
	size int // 2, 4 or 8
}

// ctxLayout describes one context record layout.
type ctxLayout struct {
	arch       Arch
	size       int // bytes the decoder needs
	cpuFlag    uint64
	flagsSize  int // 4, or 8 for arm64old
	flagsOff   int
	regs       []ctxReg
	pc, sp, fp int // indexes into regs
	aliases    map[string]int
	// vecOff is where the vector registers start, vecN how many, vecSize the bytes
	// of each (16, or 8 for ARM's D registers); vecMin is the record size that
	// holds them all.
	vecOff, vecN, vecSize int
}

func (l *ctxLayout) index(name string) (int, bool) {
	for i, r := range l.regs {
		if r.name == name {
			return i, true
		}
	}
	i, ok := l.aliases[name]
	return i, ok
}

// x86 CONTEXT: ContextFlags at 0, Dr0-3,6,7 at 4, FLOATING_SAVE_AREA (112 bytes)
// at 28, then Seg{Gs,Fs,Es,Ds} at 140, Edi Esi Ebx Edx Ecx Eax at 156, Ebp Eip
// SegCs EFlags Esp SegSs at 180, ExtendedRegisters[512] at 204.
var layoutX86 = &ctxLayout{
	arch: ArchX86, size: ContextX86BaseSize, cpuFlag: ContextX86, flagsSize: 4,
	regs: []ctxReg{
		{"eip", 184, 4}, {"esp", 196, 4}, {"ebp", 180, 4}, {"ebx", 164, 4},
		{"esi", 160, 4}, {"edi", 156, 4}, {"eax", 176, 4}, {"ecx", 172, 4},
		{"edx", 168, 4}, {"eflags", 192, 4},
		{"cs", 188, 4}, {"ds", 152, 4}, {"es", 148, 4}, {"fs", 144, 4}, {"gs", 140, 4}, {"ss", 200, 4},
		{"dr0", 4, 4}, {"dr1", 8, 4}, {"dr2", 12, 4}, {"dr3", 16, 4}, {"dr6", 20, 4}, {"dr7", 24, 4},
	},
	pc: 0, sp: 1, fp: 2,
	aliases: map[string]int{"efl": 9},
	// XMM0-7 in the FXSAVE image of ExtendedRegisters, 160 bytes in.
	vecOff: 204 + 160, vecN: 8, vecSize: 16,
}

// amd64 CONTEXT: P1Home-P6Home at 0, ContextFlags 48, MxCsr 52, SegCs 56, SegDs
// 58, SegEs 60, SegFs 62, SegGs 64, SegSs 66, EFlags 68, Dr0-3,6,7 at 72, Rax Rcx
// Rdx Rbx Rsp Rbp Rsi Rdi R8-R15 at 120, Rip 248, FltSave (XMM_SAVE_AREA32) at
// 256 with Xmm0-15 at 256+160, VectorRegister[26] 768, VectorControl 1184,
// DebugControl and the four branch/exception addresses to 1232.
var layoutAMD64 = &ctxLayout{
	arch: ArchAMD64, size: ContextAMD64Size, cpuFlag: ContextAMD64, flagsSize: 4, flagsOff: 48,
	regs: []ctxReg{
		{"rax", 120, 8}, {"rdx", 136, 8}, {"rcx", 128, 8}, {"rbx", 144, 8},
		{"rsi", 168, 8}, {"rdi", 176, 8}, {"rbp", 160, 8}, {"rsp", 152, 8},
		{"r8", 184, 8}, {"r9", 192, 8}, {"r10", 200, 8}, {"r11", 208, 8},
		{"r12", 216, 8}, {"r13", 224, 8}, {"r14", 232, 8}, {"r15", 240, 8},
		{"rip", 248, 8}, {"eflags", 68, 4},
		{"cs", 56, 2}, {"ds", 58, 2}, {"es", 60, 2}, {"fs", 62, 2}, {"gs", 64, 2}, {"ss", 66, 2},
		{"mx_csr", 52, 4},
		{"dr0", 72, 8}, {"dr1", 80, 8}, {"dr2", 88, 8}, {"dr3", 96, 8}, {"dr6", 104, 8}, {"dr7", 112, 8},
	},
	pc: 16, sp: 7, fp: 6,
	aliases: map[string]int{"efl": 17},
	vecOff:  256 + 160, vecN: 16, vecSize: 16,
}

// Breakpad MDRawContextARM: context_flags 0, iregs[16] at 4 (r13 sp, r14 lr, r15
// pc), cpsr 68, float_save {fpscr u64 at 72, regs[32] u64 at 80, extra[8] u32}.
var layoutARM = &ctxLayout{
	arch: ArchARM, size: ContextARMSize, cpuFlag: ContextARM, flagsSize: 4,
	regs: func() []ctxReg {
		r := make([]ctxReg, 0, 18)
		for i := range 13 {
			r = append(r, ctxReg{fmt.Sprintf("r%d", i), 4 + 4*i, 4})
		}
		return append(r, ctxReg{"sp", 56, 4}, ctxReg{"lr", 60, 4}, ctxReg{"pc", 64, 4},
			ctxReg{"cpsr", 68, 4}, ctxReg{"fpscr", 72, 8})
	}(),
	pc: 15, sp: 13, fp: 11,
	aliases: map[string]int{"r13": 13, "r14": 14, "r15": 15, "fp": 11, "ip": 12},
	vecOff:  80, vecN: 32, vecSize: 8,
}

// arm64Regs lists x0-x28, fp, lr, sp, pc at consecutive 8-byte slots from off.
func arm64Regs(off int) []ctxReg {
	r := make([]ctxReg, 0, 36)
	for i := range 29 {
		r = append(r, ctxReg{fmt.Sprintf("x%d", i), off + 8*i, 8})
	}
	return append(r, ctxReg{"fp", off + 8*29, 8}, ctxReg{"lr", off + 8*30, 8},
		ctxReg{"sp", off + 8*31, 8}, ctxReg{"pc", off + 8*32, 8})
}

var arm64Aliases = map[string]int{"x29": 29, "x30": 30, "x31": 31}

// ARM64_NT_CONTEXT: ContextFlags 0, Cpsr 4, X0-X28 Fp Lr Sp Pc at 8, V[32] at
// 272, Fpcr 784, Fpsr 788, Bcr[8] Bvr[8] Wcr[2] Wvr[2] to 912.
var layoutARM64 = &ctxLayout{
	arch: ArchARM64, size: ContextARM64Size, cpuFlag: ContextARM64, flagsSize: 4,
	regs: append(arm64Regs(8), ctxReg{"cpsr", 4, 4}, ctxReg{"fpcr", 784, 4}, ctxReg{"fpsr", 788, 4}),
	pc:   32, sp: 31, fp: 29,
	aliases: arm64Aliases,
	vecOff:  272, vecN: 32, vecSize: 16,
}

// MDRawContextARM64_Old (#pragma pack(4)): context_flags u64 at 0, iregs[33] at 8
// (x0-x28, fp, lr, sp, pc), cpsr 272, float_save {fpsr 276, fpcr 280, regs[32] at
// 284}.
var layoutARM64Old = &ctxLayout{
	arch: ArchARM64Old, size: ContextARM64OldSize, cpuFlag: ContextARM64Old, flagsSize: 8,
	regs: append(arm64Regs(8), ctxReg{"cpsr", 272, 4}, ctxReg{"fpcr", 280, 4}, ctxReg{"fpsr", 276, 4}),
	pc:   32, sp: 31, fp: 29,
	aliases: arm64Aliases,
	vecOff:  284, vecN: 32, vecSize: 16,
}

// contextReadSize bounds the bytes read for a context: the largest layout. An
// amd64 record's XSTATE tail is not decoded.
const contextReadSize = ContextAMD64Size

// Context reads the CPU context at loc: a Thread's Context or the Exception's
// Context. arch is the dump's processor architecture (SystemInfo.Arch); with
// ArchUnknown the layout is inferred from the record's size and flags.
//
// The error is a *FormatError carrying the file offset when the record is missing,
// too short for its layout, or its flags name another processor.
func (f *File) Context(loc Location, arch Arch) (*Context, error) {
	where := "thread context"
	if loc.Size == 0 {
		return nil, formatErr(where, int64(loc.RVA), "the context is empty (size 0)")
	}
	n := min(int(loc.Size), contextReadSize)
	buf := make([]byte, n)
	if err := f.readAt(buf, int64(loc.RVA), where); err != nil {
		return nil, err
	}
	return parseContext(buf, arch, int(loc.Size), int64(loc.RVA))
}

// ParseContext decodes a context record held in data (the whole record, or at least
// its layout's size); arch is as for File.Context. Error offsets are relative to
// the start of data.
func ParseContext(data []byte, arch Arch) (*Context, error) {
	return parseContext(data, arch, len(data), 0)
}

func parseContext(data []byte, arch Arch, size int, base int64) (*Context, error) {
	where := "thread context"
	le := binary.LittleEndian
	var flags32 uint32
	if len(data) >= 4 {
		flags32 = le.Uint32(data)
	}
	var l *ctxLayout
	switch arch {
	case ArchX86, ArchX86Win64:
		l = layoutX86
	case ArchAMD64:
		l = layoutAMD64
	case ArchARM:
		l = layoutARM
	case ArchARM64, ArchARM64Old:
		// Both writers' layouts occur under both numbers; the size tells them apart
		// (796 is unique to the old one), then the flags.
		switch {
		case size == ContextARM64OldSize:
			l = layoutARM64Old
		case size >= ContextARM64Size && flags32&ContextARM64 != 0:
			l = layoutARM64
		case len(data) >= 8 && le.Uint64(data)&ContextARM64Old != 0:
			l = layoutARM64Old
		case arch == ArchARM64Old:
			l = layoutARM64Old
		default:
			l = layoutARM64
		}
	case ArchUnknown:
		l = inferLayout(data, size)
		if l == nil {
			return nil, formatErr(where, base, "cannot tell the processor of a %d-byte context with flags %#x", size, flags32)
		}
	default:
		return nil, formatErr(where, base, "contexts of %v processors are not decoded", arch)
	}
	if size < l.size || len(data) < l.size {
		return nil, formatErr(where, base, "context is %d bytes, the %v layout needs %d", size, l.arch, l.size)
	}
	c := &Context{Arch: l.arch, Size: size}
	if l.flagsSize == 8 {
		c.Flags = le.Uint64(data[l.flagsOff:])
	} else {
		c.Flags = uint64(le.Uint32(data[l.flagsOff:]))
	}
	if b := foreignCPU(l, c.Flags); b != 0 {
		// Empty CPU bits occur (some writers leave the flags zero) and are accepted;
		// a bit naming another processor means the record is not what the dump says.
		return nil, formatErr(where, base+int64(l.flagsOff), "context flags %#x name another processor (%#x) than %v", c.Flags, b, l.arch)
	}
	for i, r := range l.regs {
		switch r.size {
		case 2:
			c.regs[i] = uint64(le.Uint16(data[r.off:]))
		case 4:
			c.regs[i] = uint64(le.Uint32(data[r.off:]))
		default:
			c.regs[i] = le.Uint64(data[r.off:])
		}
	}
	if end := l.vecOff + l.vecN*l.vecSize; len(data) >= end && size >= end {
		for i := range l.vecN {
			copy(c.vec[i][:], data[l.vecOff+i*l.vecSize:l.vecOff+(i+1)*l.vecSize])
		}
		c.nvec = l.vecN
	}
	return c, nil
}

// windowsCPUBits are the processor bits of ContextFlags that Windows defines:
// CONTEXT_i386, CONTEXT_AMD64, CONTEXT_ARM (0x200000) and CONTEXT_ARM64. Breakpad's
// own processor bits are not all checked: several coincide with Windows flag bits
// (0x10000000 is both MD_CONTEXT_SPARC and CONTEXT_SERVICE_ACTIVE).
var windowsCPUBits = [...]uint64{ContextX86, ContextAMD64, 0x00200000, ContextARM64}

// foreignCPU returns a processor bit of flags that is not the layout's, or 0.
func foreignCPU(l *ctxLayout, flags uint64) uint64 {
	for _, b := range windowsCPUBits {
		if b != l.cpuFlag && flags&b != 0 {
			return b
		}
	}
	return 0
}

// inferLayout picks a layout from the record alone.
func inferLayout(data []byte, size int) *ctxLayout {
	le := binary.LittleEndian
	if size == ContextAMD64Size || (len(data) >= 52 && le.Uint32(data[48:])&0x7fff0000 == ContextAMD64 && size >= ContextAMD64Size) {
		return layoutAMD64
	}
	if size == ContextARM64OldSize {
		return layoutARM64Old
	}
	if len(data) < 4 {
		return nil
	}
	switch le.Uint32(data) & 0x7fff0000 {
	case ContextX86:
		return layoutX86
	case ContextARM:
		return layoutARM
	case ContextARM64:
		return layoutARM64
	}
	return nil
}

func (c *Context) layout() *ctxLayout {
	switch c.Arch {
	case ArchX86:
		return layoutX86
	case ArchAMD64:
		return layoutAMD64
	case ArchARM:
		return layoutARM
	case ArchARM64:
		return layoutARM64
	case ArchARM64Old:
		return layoutARM64Old
	}
	return nil
}

// PC returns the instruction pointer (eip, rip, pc).
func (c *Context) PC() uint64 { return c.regs[c.layout().pc] }

// SP returns the stack pointer (esp, rsp, sp).
func (c *Context) SP() uint64 { return c.regs[c.layout().sp] }

// FP returns the frame pointer register (ebp, rbp, r11 on ARM, x29 on ARM64).
func (c *Context) FP() uint64 { return c.regs[c.layout().fp] }

// Reg returns the named register ("rax", "eip", "x19", "lr", "r7", ...), case
// insensitively; ok is false for a name the layout does not have. Aliases: x29,
// x30 and x31 for fp, lr and sp on ARM64; r13-r15 and fp (r11) on ARM; efl for
// eflags.
func (c *Context) Reg(name string) (v uint64, ok bool) {
	l := c.layout()
	if l == nil {
		return 0, false
	}
	i, ok := l.index(strings.ToLower(name))
	if !ok {
		return 0, false
	}
	return c.regs[i], true
}

// Registers lists the general registers in the layout's conventional order,
// program counter first on x86 and amd64 as Breakpad prints them.
func (c *Context) Registers() []Register {
	l := c.layout()
	if l == nil {
		return nil
	}
	out := make([]Register, len(l.regs))
	for i, r := range l.regs {
		out[i] = Register{r.name, c.regs[i]}
	}
	return out
}

// Vector returns vector register i: XMM0-15 on amd64, XMM0-7 on x86 (from the
// extended registers), V0-V31 on ARM64, D0-D31 on ARM (in the low 8 bytes). ok is
// false when the record does not hold it.
func (c *Context) Vector(i int) (v [16]byte, ok bool) {
	if i < 0 || i >= c.nvec {
		return v, false
	}
	return c.vec[i], true
}

// SetReg sets the named register (truncated to its width), for building contexts in tests and for callers
// that adjust a context before walking; it reports whether the name exists.
func (c *Context) SetReg(name string, v uint64) bool {
	l := c.layout()
	if l == nil {
		return false
	}
	i, ok := l.index(strings.ToLower(name))
	if ok {
		if sz := l.regs[i].size; sz < 8 {
			v &= 1<<(8*sz) - 1 // the register's width
		}
		c.regs[i] = v
	}
	return ok
}

// NewContext returns a zeroed context of the given layout (ArchX86, ArchAMD64,
// ArchARM, ArchARM64 or ArchARM64Old), or nil for another architecture.
func NewContext(arch Arch) *Context {
	c := &Context{Arch: arch}
	l := c.layout()
	if l == nil {
		return nil
	}
	c.Flags = l.cpuFlag
	c.Size = l.size
	return c
}

// MarshalBinary encodes the context as a record of its layout (the layout's size,
// registers and vector registers set, everything else zero), as a writer would
// store it. Tests build dumps with it.
func (c *Context) MarshalBinary() ([]byte, error) {
	l := c.layout()
	if l == nil {
		return nil, fmt.Errorf("minidump: cannot encode a context of %v", c.Arch)
	}
	size := l.size
	if l == layoutX86 {
		size = ContextX86Size
	}
	b := make([]byte, size)
	le := binary.LittleEndian
	if l.flagsSize == 8 {
		le.PutUint64(b[l.flagsOff:], c.Flags)
	} else {
		le.PutUint32(b[l.flagsOff:], uint32(c.Flags))
	}
	for i, r := range l.regs {
		switch r.size {
		case 2:
			le.PutUint16(b[r.off:], uint16(c.regs[i]))
		case 4:
			le.PutUint32(b[r.off:], uint32(c.regs[i]))
		default:
			le.PutUint64(b[r.off:], c.regs[i])
		}
	}
	for i := range c.nvec {
		copy(b[l.vecOff+i*l.vecSize:l.vecOff+(i+1)*l.vecSize], c.vec[i][:l.vecSize])
	}
	return b, nil
}

// SetVector sets vector register i (see Vector); it reports whether the layout
// has it.
func (c *Context) SetVector(i int, v [16]byte) bool {
	l := c.layout()
	if l == nil || i < 0 || i >= l.vecN {
		return false
	}
	if c.nvec < l.vecN {
		c.nvec = l.vecN
	}
	c.vec[i] = v
	return true
}
