package stack

import (
	"fmt"
	"strings"
	"sync"

	"github.com/dumpmap/dumpmap/minidump"
)

// Arch is the instruction set a walk unwinds. It folds the dump's processor
// numbers together: Breakpad's old ARM64 is ARM64, WOW64's x86 is X86.
type Arch uint8

// Architectures.
const (
	ArchUnknown Arch = iota
	ArchX86
	ArchAMD64
	ArchARM
	ArchARM64
)

var archNames = [...]string{"unknown", "x86", "amd64", "arm", "arm64"}

func (a Arch) String() string {
	if int(a) < len(archNames) {
		return archNames[a]
	}
	return fmt.Sprintf("arch(%d)", uint8(a))
}

// ArchOf maps a dump's processor architecture to the one a walk uses.
func ArchOf(a minidump.Arch) Arch {
	switch a {
	case minidump.ArchX86, minidump.ArchX86Win64:
		return ArchX86
	case minidump.ArchAMD64:
		return ArchAMD64
	case minidump.ArchARM:
		return ArchARM
	case minidump.ArchARM64, minidump.ArchARM64Old:
		return ArchARM64
	}
	return ArchUnknown
}

// PointerSize returns 4 or 8 (0 for ArchUnknown).
func (a Arch) PointerSize() int {
	switch a {
	case ArchX86, ArchARM:
		return 4
	case ArchAMD64, ArchARM64:
		return 8
	}
	return 0
}

// Reg numbers a register of an architecture:
//
//	amd64  0-15 rax rcx rdx rbx rsp rbp rsi rdi r8-r15 (the numbering of x64
//	       unwind codes), 16 rip
//	x86    0-7 eax ecx edx ebx esp ebp esi edi (the ModRM numbering), 8 eip
//	arm64  0-28 x0-x28, 29 fp (x29), 30 lr (x30), 31 sp, 32 pc
//	arm    0-12 r0-r12, 13 sp, 14 lr, 15 pc
type Reg uint8

// Register numbers used by the walker.
const (
	RegRAX Reg = 0
	RegRCX Reg = 1
	RegRDX Reg = 2
	RegRBX Reg = 3
	RegRSP Reg = 4
	RegRBP Reg = 5
	RegRSI Reg = 6
	RegRDI Reg = 7
	RegR12 Reg = 12
	RegR15 Reg = 15
	RegRIP Reg = 16

	RegEAX Reg = 0
	RegEBX Reg = 3
	RegESP Reg = 4
	RegEBP Reg = 5
	RegESI Reg = 6
	RegEDI Reg = 7
	RegEIP Reg = 8

	RegX19  Reg = 19
	RegFP64 Reg = 29
	RegLR64 Reg = 30
	RegSP64 Reg = 31
	RegPC64 Reg = 32

	RegR7   Reg = 7
	RegR11  Reg = 11
	RegSP32 Reg = 13
	RegLR32 Reg = 14
	RegPC32 Reg = 15
)

const maxRegs = 33

// regNames are the names of each architecture's registers, indexed by Reg.
// Built on first use, as is regAliases: a run that never walks a stack does not
// pay for them at start-up.
var regNames = sync.OnceValue(func() map[Arch][]string {
	return map[Arch][]string{
		ArchAMD64: {"rax", "rcx", "rdx", "rbx", "rsp", "rbp", "rsi", "rdi", "r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15", "rip"},
		ArchX86:   {"eax", "ecx", "edx", "ebx", "esp", "ebp", "esi", "edi", "eip"},
		ArchARM64: func() []string {
			n := make([]string, 0, 33)
			for i := range 29 {
				n = append(n, fmt.Sprintf("x%d", i))
			}
			return append(n, "fp", "lr", "sp", "pc")
		}(),
		ArchARM: {"r0", "r1", "r2", "r3", "r4", "r5", "r6", "r7", "r8", "r9", "r10", "r11", "r12", "sp", "lr", "pc"},
	}
})

// regAliases are other names Lookup accepts (Breakpad's CFI spells some
// registers these ways).
var regAliases = sync.OnceValue(func() map[Arch]map[string]Reg {
	return map[Arch]map[string]Reg{
		ArchARM64: {"x29": 29, "x30": 30, "x31": 31, "w29": 29},
		ArchARM:   {"r13": 13, "r14": 14, "r15": 15, "fp": 11, "ip": 12},
		ArchX86:   {},
		ArchAMD64: {},
	}
})

// Regs is the register state of one frame: the values, which of them are known,
// and for each restored from memory, the address it was read from.
//
// A caller frame knows its instruction pointer and stack pointer, and whatever
// the unwinder could establish besides: on x64 and ARM64 with unwind data, every
// nonvolatile register (each either restored from where the callee saved it, or
// unchanged because the callee never touched it); with a frame pointer, the frame
// pointer; with a scan, nothing more.
type Regs struct {
	Arch     Arch
	val      [maxRegs]uint64
	addr     [maxRegs]uint64 // where a restored register was read from
	valid    uint64          // known values
	restored uint64          // values read from memory by this frame's unwind step

	// Vector registers: XMM0-15 on amd64, v0-v15 (low 64 bits unless Q) on arm64;
	// v16-v31 are volatile and never restored, so they are not kept.
	vec      [numVec][16]byte
	vecValid uint32
	vecSaved uint32
}

// NumRegs returns how many general registers the architecture numbers.
func (a Arch) NumRegs() int { return len(regNames()[a]) }

// RegName returns the name of register r ("rbx", "x19", ...).
func (a Arch) RegName(r Reg) string {
	if n := regNames()[a]; int(r) < len(n) {
		return n[r]
	}
	return fmt.Sprintf("reg%d", r)
}

// LookupReg finds a register by name, case insensitively and with a leading '$'
// ignored (Breakpad's "$rsp").
func (a Arch) LookupReg(name string) (Reg, bool) {
	name = strings.ToLower(strings.TrimPrefix(name, "$"))
	for i, n := range regNames()[a] {
		if n == name {
			return Reg(i), true
		}
	}
	r, ok := regAliases()[a][name]
	return r, ok
}

// Get returns register r and whether it is known.
func (r *Regs) Get(reg Reg) (uint64, bool) {
	if reg >= maxRegs {
		return 0, false
	}
	return r.val[reg], r.valid&(1<<reg) != 0
}

// Value returns register r, 0 when unknown.
func (r *Regs) Value(reg Reg) uint64 {
	if reg >= maxRegs {
		return 0
	}
	return r.val[reg]
}

// Valid reports whether register r is known.
func (r *Regs) Valid(reg Reg) bool { return reg < maxRegs && r.valid&(1<<reg) != 0 }

// Set makes register r known with value v, truncated to the pointer size.
func (r *Regs) Set(reg Reg, v uint64) {
	if reg >= maxRegs {
		return
	}
	if r.Arch.PointerSize() == 4 {
		v &= 0xffffffff
	}
	r.val[reg] = v
	r.valid |= 1 << reg
}

// Restore sets register r to a value read from memory at addr.
func (r *Regs) Restore(reg Reg, v, addr uint64) {
	if reg >= maxRegs {
		return
	}
	r.Set(reg, v)
	r.addr[reg] = addr
	r.restored |= 1 << reg
}

// Invalidate forgets register r.
func (r *Regs) Invalidate(reg Reg) {
	if reg < maxRegs {
		r.valid &^= 1 << reg
		r.restored &^= 1 << reg
	}
}

// Restored reports whether this frame's unwind step read register r from memory,
// and from where.
func (r *Regs) Restored(reg Reg) (addr uint64, ok bool) {
	if reg >= maxRegs || r.restored&(1<<reg) == 0 {
		return 0, false
	}
	return r.addr[reg], true
}

// PC returns the instruction pointer.
func (r *Regs) PC() uint64 { return r.val[pcReg(r.Arch)] }

// SP returns the stack pointer.
func (r *Regs) SP() uint64 { return r.val[spReg(r.Arch)] }

// numVec is how many vector registers Regs keeps.
const numVec = 16

// Vector returns vector register i and whether it is known.
func (r *Regs) Vector(i int) ([16]byte, bool) {
	if i < 0 || i >= numVec {
		return [16]byte{}, false
	}
	return r.vec[i], r.vecValid&(1<<i) != 0
}

// SetVector makes vector register i known.
func (r *Regs) SetVector(i int, v [16]byte) {
	if i >= 0 && i < numVec {
		r.vec[i] = v
		r.vecValid |= 1 << i
	}
}

// RestoreVector sets vector register i to a value read from memory.
func (r *Regs) RestoreVector(i int, v [16]byte) {
	if i >= 0 && i < numVec {
		r.SetVector(i, v)
		r.vecSaved |= 1 << i
	}
}

// A Register is a named register value, with where it was read from when the
// unwinder restored it from memory.
type Register struct {
	Name  string
	Value uint64
	// Restored is set when this frame's unwind step read the value from the
	// stack, at Addr; otherwise the value came from the context or was carried
	// over unchanged from the callee.
	Restored bool
	Addr     uint64
}

// List returns the known general registers in number order.
func (r *Regs) List() []Register {
	var out []Register
	for i := range r.Arch.NumRegs() {
		if r.valid&(1<<i) == 0 {
			continue
		}
		reg := Register{Name: r.Arch.RegName(Reg(i)), Value: r.val[i]}
		if r.restored&(1<<i) != 0 {
			reg.Restored, reg.Addr = true, r.addr[i]
		}
		out = append(out, reg)
	}
	return out
}

// clearRestored starts a new frame: the values carry over, the record of which
// were restored does not.
func (r *Regs) clearRestored() {
	r.restored = 0
	r.vecSaved = 0
}

func pcReg(a Arch) Reg {
	switch a {
	case ArchAMD64:
		return RegRIP
	case ArchX86:
		return RegEIP
	case ArchARM64:
		return RegPC64
	case ArchARM:
		return RegPC32
	}
	return 0
}

func spReg(a Arch) Reg {
	switch a {
	case ArchAMD64:
		return RegRSP
	case ArchX86:
		return RegESP
	case ArchARM64:
		return RegSP64
	case ArchARM:
		return RegSP32
	}
	return 0
}

func fpReg(a Arch) Reg {
	switch a {
	case ArchAMD64:
		return RegRBP
	case ArchX86:
		return RegEBP
	case ArchARM64:
		return RegFP64
	case ArchARM:
		return RegR11
	}
	return 0
}

// SetPC sets the instruction pointer.
func (r *Regs) SetPC(v uint64) { r.Set(pcReg(r.Arch), v) }

// SetSP sets the stack pointer.
func (r *Regs) SetSP(v uint64) { r.Set(spReg(r.Arch), v) }

// RegsFromContext takes the registers of a decoded minidump context.
func RegsFromContext(c *minidump.Context) Regs {
	r := Regs{Arch: ArchOf(c.Arch)}
	names := regNames()[r.Arch]
	for i, n := range names {
		if v, ok := c.Reg(n); ok {
			r.Set(Reg(i), v)
		}
	}
	for i := range numVec {
		if v, ok := c.Vector(i); ok {
			r.SetVector(i, v)
		}
	}
	return r
}

// breakpadName returns register r's name in Breakpad's symbol files and
// processor: "$eip", "$rbx" on x86 and amd64; "x29", "x30", "sp", "pc" on
// arm64; "r11", "sp", "lr", "pc" on arm.
func (a Arch) breakpadName(r Reg) string {
	switch a {
	case ArchX86, ArchAMD64:
		return "$" + a.RegName(r)
	case ArchARM64:
		if r == RegFP64 || r == RegLR64 {
			return fmt.Sprintf("x%d", r)
		}
	}
	return a.RegName(r)
}

// BreakpadMap returns the known registers keyed by their Breakpad names (see
// RegsFromBreakpad), the form Breakpad's CFI and STACK WIN evaluators take.
func (r *Regs) BreakpadMap() map[string]uint64 {
	m := make(map[string]uint64, r.Arch.NumRegs())
	for i := range r.Arch.NumRegs() {
		if v, ok := r.Get(Reg(i)); ok {
			m[r.Arch.breakpadName(Reg(i))] = v
		}
	}
	return m
}

// RegsFromBreakpad makes registers from values keyed by Breakpad names ("$rip",
// "$rsp", "x29", "pc", "sp", ...); other keys (".cfa", ".ra", "$T0") are ignored.
func RegsFromBreakpad(a Arch, m map[string]uint64) Regs {
	r := Regs{Arch: a}
	for k, v := range m {
		if reg, ok := a.LookupReg(k); ok {
			r.Set(reg, v)
		}
	}
	return r
}
