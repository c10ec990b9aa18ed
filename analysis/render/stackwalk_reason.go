package render

import (
	"fmt"
	"sort"
	"sync"

	"github.com/dumpmap/dumpmap/analysis/crash"
	"github.com/dumpmap/dumpmap/minidump"
)

// This file names crashes as rust-minidump's CrashReason does (minidump crate,
// src/minidump.rs: from_exception and its Display), so that crash_info.type and
// last_error_value read as in minidump-stackwalk's JSON. The numbers are those of
// the systems' headers: winnt.h and ntstatus.h/winerror.h (Windows, see
// stackwalk_winerr.go), asm-generic/siginfo.h and bits/signum.h (Linux),
// mach/exception_types.h, mach/kern_return.h, mach/i386/exception.h,
// mach/arm/exception.h, kern/exc_resource.h and kern/exc_guard.h (Apple).

//go:generate go run gen_winerr.go

// swCodeName is a Windows error code and its header name.
type swCodeName struct {
	code uint32
	name string
}

// swLookup finds code in t, sorted by code; "" when absent.
func swLookup(t []swCodeName, code uint32) string {
	i := sort.Search(len(t), func(i int) bool { return t[i].code >= code })
	if i < len(t) && t[i].code == code {
		return t[i].name
	}
	return ""
}

func swWinErrorName(code uint32) string { return swLookup(swWinErrors[:], code) }
func swNTStatusName(code uint32) string { return swLookup(swNTStatuses[:], code) }

// swOS is rust-minidump's Os, which numbers platforms one above Windows'
// VER_PLATFORM_* values (its PlatformId enum starts VER_PLATFORM_WIN32s at 1): a
// platform id of 2 or 3 is Windows, 1 is not.
type swOS int

const (
	swOSUnknown swOS = iota
	swOSWindows
	swOSMac
	swOSIOS
	swOSLinux
	swOSSolaris
	swOSAndroid
	swOSPS3
	swOSNaCl
)

func swOSOf(p minidump.Platform) swOS {
	switch uint32(p) {
	case 2, 3:
		return swOSWindows
	case 0x8101:
		return swOSMac
	case 0x8102:
		return swOSIOS
	case 0x8201:
		return swOSLinux
	case 0x8202:
		return swOSSolaris
	case 0x8203:
		return swOSAndroid
	case 0x8204:
		return swOSPS3
	case 0x8205:
		return swOSNaCl
	}
	return swOSUnknown
}

// swLongName is Os::long_name, system_info.os.
func swLongName(p minidump.Platform) string {
	switch swOSOf(p) {
	case swOSWindows:
		return "Windows NT"
	case swOSMac:
		return "Mac OS X"
	case swOSIOS:
		return "iOS"
	case swOSLinux:
		return "Linux"
	case swOSSolaris:
		return "Solaris"
	case swOSAndroid:
		return "Android"
	case swOSPS3:
		return "PS3"
	case swOSNaCl:
		return "NaCl"
	}
	// format!("0x{val:#08x}"): the literal "0x", then Rust's alternate form, whose
	// width of 8 includes its own "0x" (Go's does not): "0x0x008206".
	return fmt.Sprintf("0x0x%06x", uint32(p))
}

// swCPU is rust-minidump's Cpu.
type swCPU int

const (
	swCPUUnknown swCPU = iota
	swCPUX86
	swCPUAMD64
	swCPUPPC
	swCPUPPC64
	swCPUSPARC
	swCPUARM
	swCPUARM64
	swCPUMIPS
	swCPUMIPS64
)

var swCPUNames = [...]string{"unknown", "x86", "amd64", "ppc", "ppc64", "sparc", "arm", "arm64", "mips", "mips64"}

func swCPUOf(a minidump.Arch) swCPU {
	switch a {
	case minidump.ArchX86, minidump.ArchX86Win64:
		return swCPUX86
	case minidump.ArchAMD64:
		return swCPUAMD64
	case minidump.ArchPPC:
		return swCPUPPC
	case minidump.ArchPPC64:
		return swCPUPPC64
	case minidump.ArchSPARC:
		return swCPUSPARC
	case minidump.ArchARM:
		return swCPUARM
	case minidump.ArchARM64, minidump.ArchARM64Old:
		return swCPUARM64
	case minidump.ArchMIPS:
		return swCPUMIPS
	case minidump.ArchMIPS64:
		return swCPUMIPS64
	}
	return swCPUUnknown
}

func (c swCPU) String() string { return swCPUNames[c] }

// bits32 reports whether rust-minidump writes this CPU's addresses with 8 hex
// digits (PointerWidth::Bits32); every other CPU, unknown ones included, gets 16.
func (c swCPU) bits32() bool {
	switch c {
	case swCPUX86, swCPUPPC, swCPUSPARC, swCPUARM, swCPUMIPS:
		return true
	}
	return false
}

// swCrashAddress is MinidumpException::get_crash_address: the faulting data
// address of a Windows access violation or in-page error, else the exception
// address; cut to 32 bits on 32-bit CPUs, where writers sometimes sign-extend.
func swCrashAddress(e *minidump.Exception, os swOS, cpu swCPU) uint64 {
	addr := e.Address
	if os == swOSWindows && (e.Code == 0xC0000005 || e.Code == 0xC0000006) && len(e.Parameters) >= 2 {
		addr = e.Parameters[1]
	}
	if cpu.bits32() {
		addr &= 0xffffffff
	}
	return addr
}

// swCrashReason is CrashReason::from_exception followed by its Display.
func swCrashReason(e *minidump.Exception, os swOS, cpu swCPU) string {
	code, flags := uint32(e.Code), e.Flags
	param := func(i int) uint64 {
		if i < len(e.Parameters) {
			return e.Parameters[i]
		}
		return 0
	}
	var s string
	switch os {
	case swOSMac, swOSIOS:
		s = swMacReason(code, flags, cpu, param)
	case swOSLinux, swOSAndroid:
		s = swLinuxReason(code, flags)
	case swOSWindows:
		s = swWindowsReason(code, len(e.Parameters), param)
	}
	if s == "" {
		return fmt.Sprintf("unknown 0x%08x / 0x%08x", code, flags)
	}
	return s
}

// swWindowsExceptions are rust-minidump's ExceptionCodeWindows (winnt.h and
// winbase.h names, Chromium's out-of-memory code, MSVC's C++ exception, the CLR's,
// Crashpad's simulated one), written as named here.
//
// This table and the signal, Mach and guard tables below are built on first
// use: a run that never writes a stackwalk crash reason does not pay for them
// at start-up.
var swWindowsExceptions = sync.OnceValue(func() map[uint32]string {
	return map[uint32]string{
		0x80000001: "EXCEPTION_GUARD_PAGE", 0x80000002: "EXCEPTION_DATATYPE_MISALIGNMENT",
		0x80000003: "EXCEPTION_BREAKPOINT", 0x80000004: "EXCEPTION_SINGLE_STEP",
		0xc0000005: "EXCEPTION_ACCESS_VIOLATION", 0xc0000006: "EXCEPTION_IN_PAGE_ERROR",
		0xc0000008: "EXCEPTION_INVALID_HANDLE", 0xc000001d: "EXCEPTION_ILLEGAL_INSTRUCTION",
		0xc0000025: "EXCEPTION_NONCONTINUABLE_EXCEPTION", 0xc0000026: "EXCEPTION_INVALID_DISPOSITION",
		0xc000008c: "EXCEPTION_BOUNDS_EXCEEDED", 0xc000008d: "EXCEPTION_FLT_DENORMAL_OPERAND",
		0xc000008e: "EXCEPTION_FLT_DIVIDE_BY_ZERO", 0xc000008f: "EXCEPTION_FLT_INEXACT_RESULT",
		0xc0000090: "EXCEPTION_FLT_INVALID_OPERATION", 0xc0000091: "EXCEPTION_FLT_OVERFLOW",
		0xc0000092: "EXCEPTION_FLT_STACK_CHECK", 0xc0000093: "EXCEPTION_FLT_UNDERFLOW",
		0xc0000094: "EXCEPTION_INT_DIVIDE_BY_ZERO", 0xc0000095: "EXCEPTION_INT_OVERFLOW",
		0xc0000096: "EXCEPTION_PRIV_INSTRUCTION", 0xc00000fd: "EXCEPTION_STACK_OVERFLOW",
		0xc0000194: "EXCEPTION_POSSIBLE_DEADLOCK",
		0xe0000008: "Out of Memory", 0xe06d7363: "Unhandled C++ Exception",
		0xe0434352: "MANAGED_EXCEPTION_CODE_V4", 0x0517a7ed: "Simulated Exception",
	}
})

// swAccess names ExceptionInformation[0] of an access violation or in-page error
// (EXCEPTION_RECORD: 0 read, 1 write, 8 execute).
func swAccess(v uint64) (string, bool) {
	switch v {
	case 0:
		return "READ", true
	case 1:
		return "WRITE", true
	case 8:
		return "EXEC", true
	}
	return "", false
}

func swWindowsReason(code uint32, nparams int, param func(int) uint64) string {
	switch code {
	case 0xc0000005:
		if nparams >= 1 {
			if a, ok := swAccess(param(0)); ok {
				return "EXCEPTION_ACCESS_VIOLATION_" + a
			}
		}
	case 0xc0000006:
		if nparams >= 3 {
			if a, ok := swAccess(param(0)); ok {
				return "EXCEPTION_IN_PAGE_ERROR_" + a + " / " + swNTStatus(param(2)&0xffffffff)
			}
		}
	}
	if n, ok := swWindowsExceptions()[code]; ok {
		return n
	}
	if code == 0xc0000409 && nparams >= 1 && swNTStatusName(code) != "" {
		// STATUS_STACK_BUFFER_OVERRUN is __fastfail: [0] is the FAST_FAIL_* code.
		return "EXCEPTION_STACK_BUFFER_OVERRUN / " + swFastFail(param(0)&0xffffffff)
	}
	return swWindowsError(code)
}

// swWindowsError is CrashReason::from_windows_error and its Display, the form of
// last_error_value: a winerror.h name, else an ntstatus.h name, else a
// FACILITY_VISUALCPP HRESULT/NTSTATUS ("FACILITY_VISUALCPP / ERROR_MOD_NOT_FOUND",
// the delay-load helper's codes), else "unknown 0x...".
func swWindowsError(code uint32) string {
	if n := swWinErrorName(code); n != "" {
		return n
	}
	if n := swNTStatusName(code); n != "" {
		return n
	}
	if code&0xf0000000 != 0 && (code&0x0fff0000)>>16 == 109 {
		if n := swWinErrorName(code & 0xffff); n != "" {
			return "FACILITY_VISUALCPP / " + n
		}
	}
	return fmt.Sprintf("unknown 0x%08x", code)
}

func swNTStatus(v uint64) string {
	if v <= 0xffffffff {
		if n := swNTStatusName(uint32(v)); n != "" {
			return n
		}
	}
	return fmt.Sprintf("0x%08x", v)
}

// swFastFail names a FAST_FAIL_* code as rust-minidump's FastFailCode does: the
// winnt.h codes up to 76 (FAST_FAIL_INVALID_EXTENDED_STATE), others in hex.
func swFastFail(v uint64) string {
	if v <= 76 {
		if ff := crash.LookupFastFail(uint32(v)); ff.Name != fmt.Sprintf("FAST_FAIL code %d", v) {
			return ff.Name
		}
	}
	return fmt.Sprintf("0x%08x", v)
}

// Linux: bits/signum.h numbers, asm-generic/siginfo.h si_codes. Built on first use.
var (
	swSignals = sync.OnceValue(func() map[uint32]string {
		return map[uint32]string{
			1: "SIGHUP", 2: "SIGINT", 3: "SIGQUIT", 4: "SIGILL", 5: "SIGTRAP", 6: "SIGABRT",
			7: "SIGBUS", 8: "SIGFPE", 9: "SIGKILL", 10: "SIGUSR1", 11: "SIGSEGV", 12: "SIGUSR2",
			13: "SIGPIPE", 14: "SIGALRM", 15: "SIGTERM", 16: "SIGSTKFLT", 17: "SIGCHLD",
			18: "SIGCONT", 19: "SIGSTOP", 20: "SIGTSTP", 21: "SIGTTIN", 22: "SIGTTOU", 23: "SIGURG",
			24: "SIGXCPU", 25: "SIGXFSZ", 26: "SIGVTALRM", 27: "SIGPROF", 28: "SIGWINCH",
			29: "SIGIO", 30: "SIGPWR", 31: "SIGSYS", 0xffffffff: "DUMP_REQUESTED",
		}
	})
	// swSignalKinds are the signal-specific si_codes, numbered from 1.
	swSignalKinds = sync.OnceValue(func() map[uint32][]string {
		return map[uint32][]string{
			4:  {"ILL_ILLOPC", "ILL_ILLOPN", "ILL_ILLADR", "ILL_ILLTRP", "ILL_PRVOPC", "ILL_PRVREG", "ILL_COPROC", "ILL_BADSTK", "ILL_BADIADDR"},
			5:  {"TRAP_BRKPT", "TRAP_TRACE", "TRAP_BRANCH", "TRAP_HWBKPT", "TRAP_UNK", "TRAP_PERF"},
			7:  {"BUS_ADRALN", "BUS_ADRERR", "BUS_OBJERR", "BUS_MCEERR_AR", "BUS_MCEERR_AO"},
			8:  {"FPE_INTDIV", "FPE_INTOVF", "FPE_FLTDIV", "FPE_FLTOVF", "FPE_FLTUND", "FPE_FLTRES", "FPE_FLTINV", "FPE_FLTSUB"},
			11: {"SEGV_MAPERR", "SEGV_ACCERR", "SEGV_BNDERR", "SEGV_PKUERR"},
			31: {"SYS_SECCOMP", "SYS_USER_DISPATCH"},
		}
	})
	// swSICodes are the generic si_codes.
	swSICodes = sync.OnceValue(func() map[int32]string {
		return map[int32]string{
			0: "SI_USER", 0x80: "SI_KERNEL", -1: "SI_QUEUE", -2: "SI_TIMER", -3: "SI_MESGQ",
			-4: "SI_ASYNCIO", -5: "SI_SIGIO", -6: "SI_TKILL", -7: "SI_DETHREAD", -60: "SI_ASYNCNL",
		}
	})
)

// swLinuxReason names a signal; Breakpad and Crashpad put the si_code in the
// exception flags. SI_USER (0, also what writers leave when they did not record
// one) adds nothing.
func swLinuxReason(code, flags uint32) string {
	sig, ok := swSignals()[code]
	if !ok {
		return ""
	}
	if kinds := swSignalKinds()[code]; flags >= 1 && int(flags) <= len(kinds) {
		return sig + " / " + kinds[flags-1]
	}
	switch si, ok := swSICodes()[int32(flags)]; {
	case ok && si == "SI_USER":
		return sig
	case ok:
		return sig + " / " + si
	}
	return fmt.Sprintf("%s / 0x%08x", sig, flags)
}

// Apple: mach/exception_types.h exception types; the code in the flags. Built on
// first use.
var (
	swMachExceptions = sync.OnceValue(func() map[uint32]string {
		return map[uint32]string{
			1: "EXC_BAD_ACCESS", 2: "EXC_BAD_INSTRUCTION", 3: "EXC_ARITHMETIC", 4: "EXC_EMULATION",
			5: "EXC_SOFTWARE", 6: "EXC_BREAKPOINT", 7: "EXC_SYSCALL", 8: "EXC_MACH_SYSCALL",
			9: "EXC_RPC_ALERT", 11: "EXC_RESOURCE", 12: "EXC_GUARD", 0x43507378: "SIMULATED",
		}
	})
	swKernReturns = sync.OnceValue(func() map[uint32]string {
		return map[uint32]string{
			1: "KERN_INVALID_ADDRESS", 2: "KERN_PROTECTION_FAILURE", 5: "KERN_FAILURE",
			8: "KERN_NO_ACCESS", 9: "KERN_MEMORY_FAILURE", 10: "KERN_MEMORY_ERROR", 50: "KERN_CODESIGN_ERROR",
		}
	})
	// swMachCodes: per exception type and CPU, the codes rust-minidump names.
	swMachCodes = sync.OnceValue(func() map[uint32]map[swCPU]map[uint32]string {
		return map[uint32]map[swCPU]map[uint32]string{
			1: {
				swCPUARM64: {0x101: "EXC_ARM_DA_ALIGN", 0x102: "EXC_ARM_DA_DEBUG", 0x103: "EXC_ARM_SP_ALIGN", 0x104: "EXC_ARM_SWP", 0x105: "EXC_ARM_PAC_FAIL"},
				swCPUPPC:   {0x101: "EXC_PPC_VM_PROT_READ", 0x102: "EXC_PPC_BADSPACE", 0x103: "EXC_PPC_UNALIGNED"},
				swCPUX86:   {13: "EXC_I386_GPFLT"},
			},
			2: {
				swCPUARM64: {1: "EXC_ARM_UNDEFINED"},
				swCPUPPC:   {1: "EXC_PPC_INVALID_SYSCALL", 2: "EXC_PPC_UNIPL_INST", 3: "EXC_PPC_PRIVINST", 4: "EXC_PPC_PRIVREG", 5: "EXC_PPC_TRACE", 6: "EXC_PPC_PERFMON"},
				swCPUX86:   {1: "EXC_I386_INVOP", 10: "EXC_I386_INVTSSFLT", 11: "EXC_I386_SEGNPFLT", 12: "EXC_I386_STKFLT", 13: "EXC_I386_GPFLT", 17: "EXC_I386_ALIGNFLT"},
			},
			3: {
				swCPUARM64: {1: "EXC_ARM_FP_IO", 2: "EXC_ARM_FP_DZ", 3: "EXC_ARM_FP_OF", 4: "EXC_ARM_FP_UF", 5: "EXC_ARM_FP_IX", 6: "EXC_ARM_FP_ID"},
				swCPUPPC:   {1: "EXC_PPC_OVERFLOW", 2: "EXC_PPC_ZERO_DIVIDE", 3: "EXC_FLT_INEXACT", 4: "EXC_PPC_FLT_ZERO_DIVIDE", 5: "EXC_PPC_FLT_UNDERFLOW", 6: "EXC_PPC_FLT_OVERFLOW", 7: "EXC_PPC_FLT_NOT_A_NUMBER", 8: "EXC_PPC_NOEMULATION", 9: "EXC_PPC_ALTIVECASSIST"},
				swCPUX86:   {1: "EXC_I386_DIV", 2: "EXC_I386_INTO", 3: "EXC_I386_NOEXT", 4: "EXC_I386_EXTOVR", 5: "EXC_I386_EXTERR", 6: "EXC_I386_EMERR", 7: "EXC_I386_BOUND", 8: "EXC_I386_SSEEXTERR"},
			},
			6: {
				swCPUARM64: {1: "EXC_ARM_BREAKPOINT"},
				swCPUPPC:   {1: "EXC_PPC_BREAKPOINT"},
				swCPUX86:   {1: "EXC_I386_SGL", 2: "EXC_I386_BPT"},
			},
		}
	})
	swMachSoftware = sync.OnceValue(func() map[uint32]string {
		return map[uint32]string{0x10002: "SIGABRT", 0xDEADC0DE: "UNCAUGHT_NS_EXCEPTION", 1: "EXC_PPC_TRAP", 0x10100: "EXC_PPC_MIGRATE"}
	})
)

func swMacReason(code, flags uint32, cpu swCPU, param func(int) uint64) string {
	exc, ok := swMachExceptions()[code]
	if !ok {
		return ""
	}
	if code == 0x43507378 {
		return "Simulated Exception"
	}
	codeCPU := cpu
	if cpu == swCPUAMD64 {
		codeCPU = swCPUX86 // the i386 codes serve both
	}
	switch code {
	case 1:
		if n, ok := swKernReturns()[flags]; ok {
			return exc + " / " + n
		}
	case 5:
		if n, ok := swMachSoftware()[flags]; ok {
			return exc + " / " + n
		}
	case 11:
		if s, ok := swMacResource((flags>>29)&7, param(1), param(2)); ok {
			return s
		}
	case 12:
		if s, ok := swMacGuard((flags>>29)&7, param(1), param(2)); ok {
			return s
		}
	}
	if n, ok := swMachCodes()[code][codeCPU][flags]; ok {
		return exc + " / " + n
	}
	return fmt.Sprintf("%s / 0x%08x", exc, flags)
}

// swMacResource formats EXC_RESOURCE (kern/exc_resource.h): the resource type in
// bits 29-31 of the flags, the flavor in bits 58-60 of the code.
func swMacResource(typ uint32, code, subcode uint64) (string, bool) {
	types := []string{"", "RESOURCE_TYPE_CPU", "RESOURCE_TYPE_WAKEUPS", "RESOURCE_TYPE_MEMORY", "RESOURCE_TYPE_IO", "RESOURCE_TYPE_THREADS"}
	if typ == 0 || int(typ) >= len(types) {
		return "", false
	}
	s := "EXC_RESOURCE / " + types[typ] + " / "
	flavor := (code >> 58) & 7
	raw := fmt.Sprintf("0x%016x / 0x%016x", code, subcode)
	switch typ {
	case 1:
		names := map[uint64]string{1: "FLAVOR_CPU_MONITOR", 2: "FLAVOR_CPU_MONITOR_FATAL"}
		if n, ok := names[flavor]; ok {
			return s + fmt.Sprintf("%s interval: %ds CPU limit: %d%% CPU consumed: %d%%", n, (code>>7)&0x1ffffff, code&7, subcode&7), true
		}
	case 2:
		if flavor == 1 {
			return s + fmt.Sprintf("FLAVOR_WAKEUPS_MONITOR interval: %ds wakeups permitted: %d wakeups observed: %d", (code>>20)&0xfffff, code&0xfff, subcode&0xfff), true
		}
	case 3:
		if flavor == 1 {
			return s + fmt.Sprintf("FLAVOR_HIGH_WATERMARK high watermark limit: %dMiB", code&0x1fff), true
		}
	case 4:
		names := map[uint64]string{1: "FLAVOR_IO_PHYSICAL_WRITES", 2: "FLAVOR_IO_LOGICAL_WRITES"}
		if n, ok := names[flavor]; ok {
			return s + fmt.Sprintf("%s interval: %ds I/O limit: %d%% I/O observed: %d%%", n, (code>>15)&0x1ffff, code&0x7fff, subcode&0x7fff), true
		}
	case 5:
		if flavor == 1 {
			return s + fmt.Sprintf("FLAVOR_THREADS_HIGH_WATERMARK high watermark limit: %d", code&0x7fff), true
		}
	}
	return s + raw, true
}

// swGuardFlavors name the flavors (bits 32-60 of the code) of each guard type
// (kern/exc_guard.h, mach/port.h). Built on first use.
var swGuardFlavors = sync.OnceValue(func() map[uint32]map[uint64]string {
	return map[uint32]map[uint64]string{
		1: {1: "GUARD_EXC_DESTROY", 2: "GUARD_EXC_MOD_REFS", 3: "GUARD_EXC_INVALID_OPTIONS", 4: "GUARD_EXC_SET_CONTEXT",
			5: "GUARD_EXC_THREAD_SET_STATE", 0x8: "GUARD_EXC_UNGUARDED", 0x10: "GUARD_EXC_INCORRECT_GUARD",
			0x20: "GUARD_EXC_IMMOVABLE", 0x40: "GUARD_EXC_STRICT_REPLY", 0x80: "GUARD_EXC_MSG_FILTERED",
			0x100: "GUARD_EXC_INVALID_RIGHT", 0x200: "GUARD_EXC_INVALID_NAME", 0x400: "GUARD_EXC_INVALID_VALUE",
			0x800: "GUARD_EXC_INVALID_ARGUMENT", 0x1000: "GUARD_EXC_RIGHT_EXISTS", 0x2000: "GUARD_EXC_KERN_NO_SPACE",
			0x4000: "GUARD_EXC_KERN_FAILURE", 0x8000: "GUARD_EXC_KERN_RESOURCE", 0x10000: "GUARD_EXC_SEND_INVALID_REPLY",
			0x20000: "GUARD_EXC_SEND_INVALID_VOUCHER", 0x40000: "GUARD_EXC_SEND_INVALID_RIGHT",
			0x80000: "GUARD_EXC_RCV_INVALID_NAME", 0x100000: "GUARD_EXC_RCV_GUARDED_DESC",
			0x200000: "GUARD_EXC_MOD_REFS_NON_FATAL", 0x400000: "GUARD_EXC_IMMOVABLE_NON_FATAL",
			0x800000: "GUARD_EXC_REQUIRE_REPLY_PORT_SEMANTICS", 0x1000000: "GUARD_EXC_EXCEPTION_BEHAVIOR_ENFORCE"},
		2: {1: "GUARD_EXC_CLOSE", 2: "GUARD_EXC_DUP", 4: "GUARD_EXC_NOCLOEXEC", 8: "GUARD_EXC_SOCKET_IPC",
			0x10: "GUARD_EXC_FILEPORT", 0x20: "GUARD_EXC_MISMATCH", 0x40: "GUARD_EXC_WRITE"},
		4: {1: "GUARD_EXC_RENAME_TO", 2: "GUARD_EXC_RENAME_FROM", 4: "GUARD_EXC_UNLINK", 8: "GUARD_EXC_WRITE_OTHER",
			0x10: "GUARD_EXC_TRUNC_OTHER", 0x20: "GUARD_EXC_LINK", 0x40: "GUARD_EXC_EXCHDATA"},
		5: {1: "GUARD_EXC_DEALLOC_GAP"},
		6: {0: "GUARD_EXC_MACH_TRAP"},
	}
})

// swMacGuard formats EXC_GUARD: the guard type in bits 29-31 of the flags.
func swMacGuard(typ uint32, code, subcode uint64) (string, bool) {
	types := []string{"GUARD_TYPE_NONE", "GUARD_TYPE_MACH_PORT", "GUARD_TYPE_FD", "GUARD_TYPE_USER", "GUARD_TYPE_VN", "GUARD_TYPE_VIRT_MEMORY", "GUARD_TYPE_REJECTED_SC"}
	if int(typ) >= len(types) {
		return "", false
	}
	s := "EXC_GUARD / " + types[typ]
	flavor, known := swGuardFlavors()[typ][(code>>32)&0x1fffffff]
	switch {
	case typ == 0:
		return s, true
	case typ == 3:
		// rust-minidump writes this one without a space before the slash.
		return s + fmt.Sprintf("/ namespace: %d guard identifier: %d", code&0xffffffff, subcode), true
	case !known:
		return s + fmt.Sprintf(" / 0x%016x / 0x%016x", code, subcode), true
	case typ == 1 && subcode != 0:
		return s + fmt.Sprintf(" / %s port name: %d subcode: %d", flavor, code&0xfffffff, subcode), true
	case typ == 1:
		return s + fmt.Sprintf(" / %s port name: %d", flavor, code&0xfffffff), true
	case typ == 2:
		return s + fmt.Sprintf(" / %s file descriptor: %d guard identifier: %d", flavor, code&0xfffffff, subcode), true
	case typ == 4:
		return s + fmt.Sprintf(" / %s pid: %d guard identifier: %d", flavor, code&0xfffffff, subcode), true
	case typ == 5:
		return s + fmt.Sprintf(" / %s offset: %d", flavor, subcode), true
	default: // 6
		return s + fmt.Sprintf(" / %s syscall: %d", flavor, subcode), true
	}
}
