package minidump

import (
	"fmt"
	"sync"
)

// ExceptionCode is an exception code: an NTSTATUS on Windows, a signal number in
// Breakpad/Crashpad dumps of Linux, macOS and Android processes.
type ExceptionCode uint32

// Common Windows exception codes.
const (
	ExceptionAccessViolation      ExceptionCode = 0xC0000005
	ExceptionInPageError          ExceptionCode = 0xC0000006
	ExceptionNoMemory             ExceptionCode = 0xC0000017 // STATUS_NO_MEMORY: HeapAlloc with HEAP_GENERATE_EXCEPTIONS failed
	ExceptionCommitmentLimit      ExceptionCode = 0xC000012D // STATUS_COMMITMENT_LIMIT
	ExceptionInsufficientResource ExceptionCode = 0xC000009A
	ExceptionStackOverflow        ExceptionCode = 0xC00000FD
	ExceptionStackBufferOverrun   ExceptionCode = 0xC0000409 // also __fastfail
	ExceptionHeapCorruption       ExceptionCode = 0xC0000374
	ExceptionBreakpoint           ExceptionCode = 0x80000003
	ExceptionCPlusPlus            ExceptionCode = 0xE06D7363 // MSVC throw ("msc")
	ExceptionChromeOOM            ExceptionCode = 0xE0000008 // Chromium's base::TerminateBecauseOutOfMemory
)

// ntstatusNames names Windows exception codes. Built on first use, like the
// tables below: a run that never names an exception code does not pay for them
// at start-up.
var ntstatusNames = sync.OnceValue(func() map[ExceptionCode]string {
	return map[ExceptionCode]string{
		0x40000015: "STATUS_FATAL_APP_EXIT",
		0x4000001F: "STATUS_WX86_BREAKPOINT",
		0x40010005: "DBG_CONTROL_C",
		0x40010008: "DBG_CONTROL_BREAK",
		0x406D1388: "MS_VC_EXCEPTION (thread name)",
		0x80000001: "EXCEPTION_GUARD_PAGE",
		0x80000002: "EXCEPTION_DATATYPE_MISALIGNMENT",
		0x80000003: "EXCEPTION_BREAKPOINT",
		0x80000004: "EXCEPTION_SINGLE_STEP",
		0xC0000005: "EXCEPTION_ACCESS_VIOLATION",
		0xC0000006: "EXCEPTION_IN_PAGE_ERROR",
		0xC0000008: "STATUS_INVALID_HANDLE",
		0xC000000D: "STATUS_INVALID_PARAMETER",
		0xC0000017: "STATUS_NO_MEMORY",
		0xC000001D: "EXCEPTION_ILLEGAL_INSTRUCTION",
		0xC0000022: "STATUS_ACCESS_DENIED",
		0xC0000025: "EXCEPTION_NONCONTINUABLE_EXCEPTION",
		0xC0000026: "EXCEPTION_INVALID_DISPOSITION",
		0xC0000028: "STATUS_BAD_STACK",
		0xC000008C: "EXCEPTION_ARRAY_BOUNDS_EXCEEDED",
		0xC000008D: "EXCEPTION_FLT_DENORMAL_OPERAND",
		0xC000008E: "EXCEPTION_FLT_DIVIDE_BY_ZERO",
		0xC000008F: "EXCEPTION_FLT_INEXACT_RESULT",
		0xC0000090: "EXCEPTION_FLT_INVALID_OPERATION",
		0xC0000091: "EXCEPTION_FLT_OVERFLOW",
		0xC0000092: "EXCEPTION_FLT_STACK_CHECK",
		0xC0000093: "EXCEPTION_FLT_UNDERFLOW",
		0xC0000094: "EXCEPTION_INT_DIVIDE_BY_ZERO",
		0xC0000095: "EXCEPTION_INT_OVERFLOW",
		0xC0000096: "EXCEPTION_PRIV_INSTRUCTION",
		0xC000009A: "STATUS_INSUFFICIENT_RESOURCES",
		0xC00000FD: "EXCEPTION_STACK_OVERFLOW",
		0xC000012D: "STATUS_COMMITMENT_LIMIT",
		0xC0000135: "STATUS_DLL_NOT_FOUND",
		0xC0000142: "STATUS_DLL_INIT_FAILED",
		0xC0000194: "EXCEPTION_POSSIBLE_DEADLOCK",
		0xC00002B4: "STATUS_FLOAT_MULTIPLE_FAULTS",
		0xC00002B5: "STATUS_FLOAT_MULTIPLE_TRAPS",
		0xC0000374: "STATUS_HEAP_CORRUPTION",
		0xC0000409: "STATUS_STACK_BUFFER_OVERRUN",
		0xC0000417: "STATUS_INVALID_CRUNTIME_PARAMETER",
		0xC0000420: "STATUS_ASSERTION_FAILURE",
		0xC0000602: "STATUS_FAIL_FAST_EXCEPTION",
		0xC06D007E: "VcppException(ERROR_MOD_NOT_FOUND) (delay load)",
		0xC06D007F: "VcppException(ERROR_PROC_NOT_FOUND) (delay load)",
		0xE0000008: "Chromium out of memory (0xE0000008)",
		0xE0434352: "CLR exception",
		0xE0434F4D: "CLR exception (COM+)",
		0xE06D7363: "C++ exception (MSVC)",
	}
})

// signalNames are the POSIX signal numbers Breakpad and Crashpad write on Linux
// and Android.
var signalNames = sync.OnceValue(func() map[ExceptionCode]string {
	return map[ExceptionCode]string{
		1: "SIGHUP", 2: "SIGINT", 3: "SIGQUIT", 4: "SIGILL", 5: "SIGTRAP", 6: "SIGABRT", 7: "SIGBUS",
		8: "SIGFPE", 9: "SIGKILL", 10: "SIGUSR1", 11: "SIGSEGV", 12: "SIGUSR2", 13: "SIGPIPE",
		14: "SIGALRM", 15: "SIGTERM", 0xffffffff: "DUMP_REQUESTED",
	}
})

// machSignalNames are the Mach exception types written on macOS and iOS.
var machSignalNames = sync.OnceValue(func() map[ExceptionCode]string {
	return map[ExceptionCode]string{
		1: "EXC_BAD_ACCESS", 2: "EXC_BAD_INSTRUCTION", 3: "EXC_ARITHMETIC", 4: "EXC_EMULATION",
		5: "EXC_SOFTWARE", 6: "EXC_BREAKPOINT", 7: "EXC_SYSCALL", 8: "EXC_MACH_SYSCALL",
		9: "EXC_RPC_ALERT", 10: "EXC_CRASH", 11: "EXC_RESOURCE", 12: "EXC_GUARD", 13: "EXC_CORPSE_NOTIFY",
		0x43507378: "Crashpad simulated exception",
	}
})

// String names c as a Windows NTSTATUS, or returns it in hex.
func (c ExceptionCode) String() string { return c.Name(PlatformWindows) }

// Name names c as the given platform uses it: NTSTATUS names on Windows, signal names
// on Linux and Android, Mach exception names on macOS and iOS. Unknown codes are
// returned in hex.
func (c ExceptionCode) Name(p Platform) string {
	var table map[ExceptionCode]string
	switch p {
	case PlatformLinux, PlatformAndroid, PlatformSolaris, PlatformNaCl, PlatformUnix, PlatformFuchsia:
		table = signalNames()
	case PlatformMacOS, PlatformIOS:
		table = machSignalNames()
	default:
		table = ntstatusNames()
	}
	if n, ok := table[c]; ok {
		return n
	}
	return fmt.Sprintf("0x%08x", uint32(c))
}

// IsOutOfMemory reports whether c, on a Windows dump, is a code that processes raise
// when an allocation fails (STATUS_NO_MEMORY from HeapAlloc with
// HEAP_GENERATE_EXCEPTIONS, commit limit, Chromium's OOM code). A C++ std::bad_alloc
// cannot be told from other C++ exceptions by its code alone.
func (c ExceptionCode) IsOutOfMemory() bool {
	switch c {
	case ExceptionNoMemory, ExceptionCommitmentLimit, ExceptionInsufficientResource, ExceptionChromeOOM:
		return true
	}
	return false
}
