package breakpad

import (
	"errors"
	"fmt"
	"strings"
	"sync"
)

// Arch is a CPU architecture whose registers CFI rules name.
type Arch int

// Architectures with Breakpad register names.
const (
	ArchUnknown Arch = iota
	ArchX86          // $eip $esp $ebp $eax $ebx $ecx $edx $esi $edi
	ArchAMD64        // $rip $rsp $rbp $rax ... $r15
	ArchARM          // r0 ... r12 sp lr pc
	ArchARM64        // x0 ... x30 sp pc
)

// String returns the MODULE record spelling of a.
func (a Arch) String() string {
	switch a {
	case ArchX86:
		return "x86"
	case ArchAMD64:
		return "x86_64"
	case ArchARM:
		return "arm"
	case ArchARM64:
		return "arm64"
	}
	return "unknown"
}

// ParseArch maps a MODULE record's architecture to an Arch.
func ParseArch(s string) Arch {
	switch strings.ToLower(s) {
	case "x86", "i386", "i686":
		return ArchX86
	case "x86_64", "amd64":
		return ArchAMD64
	case "arm", "armv7":
		return ArchARM
	case "arm64", "aarch64", "arm64e":
		return ArchARM64
	}
	return ArchUnknown
}

// Width is the size of a register and of a dereference, in bytes.
func (a Arch) Width() int {
	if a == ArchAMD64 || a == ArchARM64 {
		return 8
	}
	return 4
}

// archRegs lists an architecture's integer registers as Breakpad names
// them, which are callee-saved, and which register takes .ra and .cfa when
// the rules do not name it (the register maps of Breakpad's
// stackwalker_x86.cc, stackwalker_amd64.cc, stackwalker_arm.cc and
// stackwalker_arm64.cc).
type archRegs struct {
	names       []string
	calleeSaved map[string]bool
	pc, sp      string
	essential   []string
}

// regTables holds each architecture's registers. Built on first use: a run that
// never unwinds with CFI does not pay for it at start-up.
var regTables = sync.OnceValue(func() map[Arch]*archRegs {
	return map[Arch]*archRegs{
		ArchX86: {
			names:       []string{"$eip", "$esp", "$ebp", "$eax", "$ebx", "$ecx", "$edx", "$esi", "$edi"},
			calleeSaved: set("$ebp", "$ebx", "$esi", "$edi"),
			pc:          "$eip", sp: "$esp",
			essential: []string{"$eip", "$esp", "$ebp"},
		},
		ArchAMD64: {
			names: []string{"$rax", "$rdx", "$rcx", "$rbx", "$rsi", "$rdi", "$rbp", "$rsp",
				"$r8", "$r9", "$r10", "$r11", "$r12", "$r13", "$r14", "$r15", "$rip"},
			calleeSaved: set("$rbx", "$rbp", "$r12", "$r13", "$r14", "$r15"),
			pc:          "$rip", sp: "$rsp",
			essential: []string{"$rip", "$rsp"},
		},
		ArchARM: {
			names: []string{"r0", "r1", "r2", "r3", "r4", "r5", "r6", "r7", "r8", "r9", "r10", "r11", "r12", "sp", "lr", "pc"},
			// r4-r11 per the AAPCS, as stackwalker_arm.cc.
			calleeSaved: set("r4", "r5", "r6", "r7", "r8", "r9", "r10", "r11"),
			pc:          "pc", sp: "sp",
			essential: []string{"pc", "sp"},
		},
		ArchARM64: {
			names: []string{"x0", "x1", "x2", "x3", "x4", "x5", "x6", "x7", "x8", "x9", "x10", "x11", "x12", "x13", "x14", "x15",
				"x16", "x17", "x18", "x19", "x20", "x21", "x22", "x23", "x24", "x25", "x26", "x27", "x28", "x29", "x30", "sp", "pc"},
			// x19-x29 per the AAPCS64, as stackwalker_arm64.cc.
			calleeSaved: set("x19", "x20", "x21", "x22", "x23", "x24", "x25", "x26", "x27", "x28", "x29"),
			pc:          "pc", sp: "sp",
			essential: []string{"pc", "sp"},
		},
	}
})

func set(names ...string) map[string]bool {
	m := make(map[string]bool, len(names))
	for _, n := range names {
		m[n] = true
	}
	return m
}

// Registers returns the Breakpad names of a's integer registers, the
// names UnwindCFI reads and returns.
func (a Arch) Registers() []string {
	t := regTables()[a]
	if t == nil {
		return nil
	}
	return append([]string(nil), t.names...)
}

// PC and SP return the names of a's program counter and stack pointer.
func (a Arch) PC() string {
	if t := regTables()[a]; t != nil {
		return t.pc
	}
	return ""
}

// SP returns the name of a's stack pointer.
func (a Arch) SP() string {
	if t := regTables()[a]; t != nil {
		return t.sp
	}
	return ""
}

// ErrNoRule is returned when the rules lack .cfa or .ra: Breakpad then
// ignores the CFI and tries another strategy.
var ErrNoRule = errors.New("breakpad: CFI rules lack .cfa or .ra")

// FindCallerRegs applies the rules to the callee's registers, as Breakpad's
// CFIFrameInfo::FindCallerRegs does: .cfa is computed from the callee's
// registers, then .ra and every register rule from the callee's registers
// plus .cfa. The result holds .cfa, .ra and each register whose rule could
// be evaluated; a rule that fails (".undef", unreadable memory) leaves its
// register out. It fails when .cfa or .ra is missing or cannot be computed.
// width is 4 or 8: the size of values and dereferences.
func (r *CFIRules) FindCallerRegs(callee Registers, mem Memory, width int) (Registers, error) {
	if r.CFA == "" || r.RA == "" {
		return nil, ErrNoRule
	}
	// Each rule sees the callee's registers: a copy, since a rule cannot
	// assign but the evaluator's map must not be shared with the caller's.
	work := make(Registers, len(callee)+1)
	for k, v := range callee {
		work[k] = v
	}
	delete(work, ".cfa")
	ev := Evaluator{Vars: work, Memory: mem, Width: width}
	cfa, err := ev.Value(r.CFA)
	if err != nil {
		return nil, fmt.Errorf(".cfa: %w", err)
	}
	work[".cfa"] = cfa
	ra, err := ev.Value(r.RA)
	if err != nil {
		return nil, fmt.Errorf(".ra: %w", err)
	}
	out := make(Registers, len(r.Regs)+2)
	for _, rule := range r.Regs {
		ev := ev
		if strings.Contains(rule.Expr, "=") {
			// Breakpad starts each rule from the callee's registers; an
			// assignment inside a rule must not leak into the next one.
			ev.Vars = work.Clone()
		}
		if v, err := ev.Value(rule.Expr); err == nil {
			out[rule.Reg] = v
		}
	}
	out[".ra"] = ra
	out[".cfa"] = cfa
	return out, nil
}

// UnwindCFI computes the caller's registers from the callee's with the CFI
// rules in effect at the callee's address, as Breakpad's stack walkers do
// (SimpleCFIWalker for x86 and amd64, the ARM and ARM64 walkers): a register
// the rules recover takes that value; the program counter not named takes
// .ra and the stack pointer not named takes .cfa; a callee-saved register
// the rules do not mention keeps the callee's value when the callee had one;
// other registers are unknown (absent). The result must hold the program
// counter and stack pointer (and EBP on x86), else the step fails as
// Breakpad's does.
func UnwindCFI(arch Arch, rules *CFIRules, callee Registers, mem Memory) (Registers, error) {
	t := regTables()[arch]
	if t == nil {
		return nil, fmt.Errorf("breakpad: no register names for architecture %v", arch)
	}
	// Only the architecture's registers feed the rules, as Breakpad fills
	// its dictionary from the context.
	in := make(Registers, len(t.names))
	for _, n := range t.names {
		if v, ok := callee[n]; ok {
			in[n] = v
		}
	}
	got, err := rules.FindCallerRegs(in, mem, arch.Width())
	if err != nil {
		return nil, err
	}
	out := make(Registers, len(t.names))
	for _, n := range t.names {
		if v, ok := got[n]; ok {
			out[n] = v
			continue
		}
		if t.calleeSaved[n] {
			if v, ok := in[n]; ok {
				out[n] = v
			}
		}
	}
	if _, ok := out[t.pc]; !ok {
		out[t.pc] = got[".ra"]
	}
	if _, ok := out[t.sp]; !ok {
		out[t.sp] = got[".cfa"]
	}
	for _, n := range t.essential {
		if _, ok := out[n]; !ok {
			return nil, fmt.Errorf("breakpad: CFI did not recover %s", n)
		}
	}
	return out, nil
}

// UnwindCFI looks up the CFI rules at rva and applies them (see the
// package function UnwindCFI). arch is usually ParseArch(f.Module.Arch).
func (f *File) UnwindCFI(arch Arch, rva uint64, callee Registers, mem Memory) (Registers, error) {
	rules, err := f.CFIRulesAt(rva)
	if err != nil {
		return nil, err
	}
	return UnwindCFI(arch, &rules, callee, mem)
}
