package crash

import (
	"fmt"
	"slices"
	"sync"
)

// CodeInfo describes a Windows exception code: its name, what it means and what
// each of its ExceptionInformation parameters holds.
type CodeInfo struct {
	Code    uint32
	Name    string
	Meaning string
	// Params names ExceptionInformation[i]; a record may carry fewer.
	Params []string
	// OOM is set for the codes raised when an allocation failed.
	OOM bool
}

// Exception codes this package decodes beyond their name.
const (
	CodeAccessViolation      = 0xC0000005
	CodeInPageError          = 0xC0000006
	CodeInvalidParameter     = 0xC000000D
	CodeNoMemory             = 0xC0000017
	CodeInsufficientResource = 0xC000009A
	CodeStackOverflow        = 0xC00000FD
	CodeCommitmentLimit      = 0xC000012D
	CodeHeapCorruption       = 0xC0000374
	CodeStackBufferOverrun   = 0xC0000409
	CodeInvalidCRTParameter  = 0xC0000417
	CodeFailFast             = 0xC0000602
	CodeBreakpoint           = 0x80000003
	CodeWX86Breakpoint       = 0x4000001F
	CodeMSVCThrow            = 0xE06D7363 // 0xE0000000 | 'msc'
	CodeChromiumOOM          = 0xE0000008
	CodeGCCThrow             = 0x20474343 // 'GCC ' with the customer bit
	CodeGCCUnwind            = 0x21474343
)

// codeTable: names as in ntstatus.h/winnt.h (and minidump.ExceptionCode.Name);
// meanings and parameters from the sources cited per entry.
var codeTable = []CodeInfo{
	// winnt.h EXCEPTION_RECORD docs: [0] 0 read, 1 write, 8 DEP; [1] the address.
	{CodeAccessViolation, "EXCEPTION_ACCESS_VIOLATION", "the thread read, wrote or executed an address it may not access",
		[]string{"access (0 read, 1 write, 8 execute)", "address"}, false},
	{CodeInPageError, "EXCEPTION_IN_PAGE_ERROR", "a page could not be read in: an I/O error on a mapped file or the paging file",
		[]string{"access (0 read, 1 write, 8 execute)", "address", "NTSTATUS of the failed read"}, false},
	// Breakpad exception_handler.cc HandleInvalidParameter (and rust-minidump's
	// crash-handler): a made-up record for a CRT invalid-parameter call, with
	// pointers to the expression and file (UTF-16, MDRawAssertionInfo) and the line.
	{CodeInvalidParameter, "STATUS_INVALID_PARAMETER", "an invalid argument was passed to a function that reports it by exception; crash reporters (Breakpad) also use it for the C runtime's invalid-parameter handler",
		[]string{"expression (Breakpad)", "file (Breakpad)", "line (Breakpad)"}, false},
	// ReactOS sdk/lib/rtl/heap.c RtlAllocateHeap and Windows 10 ntdll's
	// RtlpAllocateHeapRaiseException: NumberParameters 1, ExceptionInformation[0] the
	// block size (request plus HEAP_ENTRY header, rounded to the granularity). Wine's
	// RtlAllocateHeap uses RtlRaiseStatus: no parameters.
	{CodeNoMemory, "STATUS_NO_MEMORY", "HeapAlloc (RtlAllocateHeap) failed on a heap or call with HEAP_GENERATE_EXCEPTIONS",
		[]string{"heap block size (request + header, rounded up)"}, true},
	{CodeInsufficientResource, "STATUS_INSUFFICIENT_RESOURCES", "insufficient system resources to complete the call", nil, true},
	{CodeStackOverflow, "EXCEPTION_STACK_OVERFLOW", "the thread's stack reached its last guard page: stack exhaustion (deep recursion or large locals), not heap memory",
		[]string{"access (0 read, 1 write)", "address"}, false},
	{CodeCommitmentLimit, "STATUS_COMMITMENT_LIMIT", "the system commit limit was reached: the paging file is full or too small", nil, true},
	{CodeHeapCorruption, "STATUS_HEAP_CORRUPTION", "the heap manager found its structures damaged and ended the process (RtlReportCriticalFailure)", nil, false},
	// winnt.h: __fastfail raises this code with the FAST_FAIL_* code in [0].
	{CodeStackBufferOverrun, "STATUS_STACK_BUFFER_OVERRUN", "the process ended itself at once, without running handlers: __fastfail or a /GS security check",
		[]string{"FAST_FAIL_* code", "detail", "detail"}, false},
	{CodeInvalidCRTParameter, "STATUS_INVALID_CRUNTIME_PARAMETER", "the C runtime's invalid-parameter handler ended the process (_invoke_watson, older CRTs)", nil, false},
	{CodeFailFast, "STATUS_FAIL_FAST_EXCEPTION", "RaiseFailFastException ended the process without running handlers", nil, false},
	{CodeBreakpoint, "EXCEPTION_BREAKPOINT", "a breakpoint instruction (int 3, brk, __debugbreak, DebugBreak): an assertion or a debugger break", nil, false},
	{CodeWX86Breakpoint, "STATUS_WX86_BREAKPOINT", "a breakpoint in 32-bit code under WOW64", nil, false},
	{0x80000001, "EXCEPTION_GUARD_PAGE", "a guard page was touched", []string{"access", "address"}, false},
	{0x80000002, "EXCEPTION_DATATYPE_MISALIGNMENT", "a misaligned access on hardware that does not allow it", nil, false},
	{0x80000004, "EXCEPTION_SINGLE_STEP", "a single-step or hardware breakpoint trap", nil, false},
	{0xC0000008, "STATUS_INVALID_HANDLE", "an invalid handle was used (raised when a debugger or handle tracing is on)", nil, false},
	{0xC000001D, "EXCEPTION_ILLEGAL_INSTRUCTION", "an invalid instruction was executed (also ud2, which some runtimes use to abort)", nil, false},
	{0xC0000025, "EXCEPTION_NONCONTINUABLE_EXCEPTION", "a handler tried to continue after a noncontinuable exception", nil, false},
	{0xC0000026, "EXCEPTION_INVALID_DISPOSITION", "an exception handler returned an invalid disposition", nil, false},
	{0xC000008C, "EXCEPTION_ARRAY_BOUNDS_EXCEEDED", "an array index was out of bounds (the x86 bound instruction); SyzyASan also raises it to report memory errors", nil, false},
	{0xC000008E, "EXCEPTION_FLT_DIVIDE_BY_ZERO", "floating-point division by zero", nil, false},
	{0xC0000090, "EXCEPTION_FLT_INVALID_OPERATION", "invalid floating-point operation", nil, false},
	{0xC0000094, "EXCEPTION_INT_DIVIDE_BY_ZERO", "integer division by zero", nil, false},
	{0xC0000095, "EXCEPTION_INT_OVERFLOW", "integer overflow (idiv of the most negative value by -1)", nil, false},
	{0xC0000096, "EXCEPTION_PRIV_INSTRUCTION", "a privileged instruction was executed in user mode", nil, false},
	{0xC0000135, "STATUS_DLL_NOT_FOUND", "a DLL the program needs was not found at start-up", nil, false},
	{0xC0000142, "STATUS_DLL_INIT_FAILED", "a DLL's initialisation (DllMain) failed", nil, false},
	{0xC0000194, "EXCEPTION_POSSIBLE_DEADLOCK", "a critical section wait timed out", nil, false},
	{0xC0000420, "STATUS_ASSERTION_FAILURE", "an assertion (int 2c, NT_ASSERT) failed", nil, false},
	// Delay-load helper (delayimp.h): [0] points to the DelayLoadInfo.
	{0xC06D007E, "VcppException(ERROR_MOD_NOT_FOUND) (delay load)", "a delay-loaded DLL could not be loaded", []string{"DelayLoadInfo"}, false},
	{0xC06D007F, "VcppException(ERROR_PROC_NOT_FOUND) (delay load)", "a delay-loaded function was not found", []string{"DelayLoadInfo"}, false},
	// THREADNAME_INFO (SetThreadDescription's predecessor): type, name, thread, flags.
	{0x406D1388, "MS_VC_EXCEPTION (thread name)", "a thread was named for the debugger", []string{"type (0x1000)", "name", "thread id", "flags"}, false},
	// ehdata.h: EH_EXCEPTION_NUMBER, EH_MAGIC_NUMBER1-3; the image base only with
	// _EH_RELATIVE_TYPEINFO (x64, ARM64).
	{CodeMSVCThrow, "C++ exception (MSVC)", "a C++ throw compiled by MSVC (or clang-cl, or Wine's msvcrt): the thrown type is in the ThrowInfo",
		[]string{"magic (0x19930520-0x19930522)", "thrown object", "ThrowInfo", "image base (x64, ARM64)"}, false},
	// Chromium base/process/memory_win.cc: RaiseException(kOomExceptionCode,
	// EXCEPTION_NONCONTINUABLE, 1, {size}); also PDFium and Crashpad read [0] as the size.
	{CodeChromiumOOM, "Chromium out of memory (0xE0000008)", "Chromium's (and Electron's, PDFium's) allocator could not allocate and ended the process",
		[]string{"requested size"}, true},
	// libgcc unwind-seh.c: STATUS_GCC_THROW = 'GCC ' | 0x20000000,
	// RaiseException(STATUS_GCC_THROW, 0, 1, &exc); phase 2 raises STATUS_GCC_UNWIND
	// with the frame, target IP and return register in [1..3]. LLVM libunwind's
	// Unwind-seh.cpp uses the same codes.
	{CodeGCCThrow, "C++ exception (GCC/MinGW)", "a C++ throw compiled by GCC or clang for MinGW, raised through SEH: the type is in the __cxa_exception header",
		[]string{"_Unwind_Exception"}, false},
	{CodeGCCUnwind, "C++ unwind (GCC/MinGW)", "a MinGW C++ exception being unwound to its handler (phase 2)",
		[]string{"_Unwind_Exception", "target frame", "target IP", "return register"}, false},
	{0xE0434352, "CLR exception", "a .NET exception", nil, false},
	{0xE0434F4D, "CLR exception (COM+)", "a .NET exception (COM+ runtime)", nil, false},
}

// LookupCode returns what is known about a Windows exception code.
func LookupCode(code uint32) (CodeInfo, bool) {
	i := slices.IndexFunc(codeTable, func(c CodeInfo) bool { return c.Code == code })
	if i < 0 {
		return CodeInfo{Code: code}, false
	}
	return codeTable[i], true
}

// Codes returns the table of codes this package explains, in a stable order.
func Codes() []CodeInfo { return slices.Clone(codeTable) }

// FastFailInfo names a FAST_FAIL_* code, the parameter 0 of
// STATUS_STACK_BUFFER_OVERRUN.
type FastFailInfo struct {
	Code    uint32
	Name    string
	Meaning string
}

// fastFailNames: winnt.h (Windows SDK, also Wine's include/winnt.h) values 0-70;
// 71-77 from the Windows 11 SDK (10.0.26100). Built on first use, as is
// fastFailMeanings: a run that never names a fast-fail code does not pay for
// them at start-up.
var fastFailNames = sync.OnceValue(func() map[uint32]string {
	return map[uint32]string{
		0: "FAST_FAIL_LEGACY_GS_VIOLATION", 1: "FAST_FAIL_VTGUARD_CHECK_FAILURE",
		2: "FAST_FAIL_STACK_COOKIE_CHECK_FAILURE", 3: "FAST_FAIL_CORRUPT_LIST_ENTRY",
		4: "FAST_FAIL_INCORRECT_STACK", 5: "FAST_FAIL_INVALID_ARG", 6: "FAST_FAIL_GS_COOKIE_INIT",
		7: "FAST_FAIL_FATAL_APP_EXIT", 8: "FAST_FAIL_RANGE_CHECK_FAILURE",
		9: "FAST_FAIL_UNSAFE_REGISTRY_ACCESS", 10: "FAST_FAIL_GUARD_ICALL_CHECK_FAILURE",
		11: "FAST_FAIL_GUARD_WRITE_CHECK_FAILURE", 12: "FAST_FAIL_INVALID_FIBER_SWITCH",
		13: "FAST_FAIL_INVALID_SET_OF_CONTEXT", 14: "FAST_FAIL_INVALID_REFERENCE_COUNT",
		18: "FAST_FAIL_INVALID_JUMP_BUFFER", 19: "FAST_FAIL_MRDATA_MODIFIED",
		20: "FAST_FAIL_CERTIFICATION_FAILURE", 21: "FAST_FAIL_INVALID_EXCEPTION_CHAIN",
		22: "FAST_FAIL_CRYPTO_LIBRARY", 23: "FAST_FAIL_INVALID_CALL_IN_DLL_CALLOUT",
		24: "FAST_FAIL_INVALID_IMAGE_BASE", 25: "FAST_FAIL_DLOAD_PROTECTION_FAILURE",
		26: "FAST_FAIL_UNSAFE_EXTENSION_CALL", 27: "FAST_FAIL_DEPRECATED_SERVICE_INVOKED",
		28: "FAST_FAIL_INVALID_BUFFER_ACCESS", 29: "FAST_FAIL_INVALID_BALANCED_TREE",
		30: "FAST_FAIL_INVALID_NEXT_THREAD", 31: "FAST_FAIL_GUARD_ICALL_CHECK_SUPPRESSED",
		32: "FAST_FAIL_APCS_DISABLED", 33: "FAST_FAIL_INVALID_IDLE_STATE",
		34: "FAST_FAIL_MRDATA_PROTECTION_FAILURE", 35: "FAST_FAIL_UNEXPECTED_HEAP_EXCEPTION",
		36: "FAST_FAIL_INVALID_LOCK_STATE", 37: "FAST_FAIL_GUARD_JUMPTABLE",
		38: "FAST_FAIL_INVALID_LONGJUMP_TARGET", 39: "FAST_FAIL_INVALID_DISPATCH_CONTEXT",
		40: "FAST_FAIL_INVALID_THREAD", 41: "FAST_FAIL_INVALID_SYSCALL_NUMBER",
		42: "FAST_FAIL_INVALID_FILE_OPERATION", 43: "FAST_FAIL_LPAC_ACCESS_DENIED",
		44: "FAST_FAIL_GUARD_SS_FAILURE", 45: "FAST_FAIL_LOADER_CONTINUITY_FAILURE",
		46: "FAST_FAIL_GUARD_EXPORT_SUPPRESSION_FAILURE", 47: "FAST_FAIL_INVALID_CONTROL_STACK",
		48: "FAST_FAIL_SET_CONTEXT_DENIED", 49: "FAST_FAIL_INVALID_IAT",
		50: "FAST_FAIL_HEAP_METADATA_CORRUPTION", 51: "FAST_FAIL_PAYLOAD_RESTRICTION_VIOLATION",
		52: "FAST_FAIL_LOW_LABEL_ACCESS_DENIED", 53: "FAST_FAIL_ENCLAVE_CALL_FAILURE",
		54: "FAST_FAIL_UNHANDLED_LSS_EXCEPTON", 55: "FAST_FAIL_ADMINLESS_ACCESS_DENIED",
		56: "FAST_FAIL_UNEXPECTED_CALL", 57: "FAST_FAIL_CONTROL_INVALID_RETURN_ADDRESS",
		58: "FAST_FAIL_UNEXPECTED_HOST_BEHAVIOR", 59: "FAST_FAIL_FLAGS_CORRUPTION",
		60: "FAST_FAIL_VEH_CORRUPTION", 61: "FAST_FAIL_ETW_CORRUPTION", 62: "FAST_FAIL_RIO_ABORT",
		63: "FAST_FAIL_INVALID_PFN", 64: "FAST_FAIL_GUARD_ICALL_CHECK_FAILURE_XFG",
		65: "FAST_FAIL_CAST_GUARD", 66: "FAST_FAIL_HOST_VISIBILITY_CHANGE",
		67: "FAST_FAIL_KERNEL_CET_SHADOW_STACK_ASSIST", 68: "FAST_FAIL_PATCH_CALLBACK_FAILED",
		69: "FAST_FAIL_NTDLL_PATCH_FAILED", 70: "FAST_FAIL_INVALID_FLS_DATA",
		71: "FAST_FAIL_ASAN_ERROR", 72: "FAST_FAIL_CLR_EXCEPTION_AOT",
		73: "FAST_FAIL_POINTER_AUTH_INVALID_RETURN_ADDRESS", 74: "FAST_FAIL_INVALID_THREAD_STATE",
		75: "FAST_FAIL_CORRUPT_WOW64_STATE", 76: "FAST_FAIL_INVALID_EXTENDED_STATE",
		77: "FAST_FAIL_KERNEL_POINTER_EXPECTED", 0xFFFFFFFF: "FAST_FAIL_INVALID_FAST_FAIL_CODE",
	}
})

// fastFailMeanings explain the codes met in application crashes.
var fastFailMeanings = sync.OnceValue(func() map[uint32]string {
	return map[uint32]string{
		0:  "a /GS stack cookie check failed (legacy report)",
		2:  "a /GS stack cookie check failed: a stack buffer overrun",
		3:  "a doubly linked list entry was corrupt (LIST_ENTRY check)",
		5:  "the C runtime's invalid-parameter handler ended the process",
		7:  "abort() in the C runtime: often std::terminate after an uncaught C++ exception, whose record is gone",
		10: "Control Flow Guard rejected an indirect call target",
		35: "the heap raised an exception where none was expected",
		50: "the heap found its metadata corrupt",
		64: "Control Flow Guard (XFG) rejected an indirect call target",
	}
})

// LookupFastFail names a FAST_FAIL_* code.
func LookupFastFail(code uint32) FastFailInfo {
	if n, ok := fastFailNames()[code]; ok {
		return FastFailInfo{Code: code, Name: n, Meaning: fastFailMeanings()[code]}
	}
	return FastFailInfo{Code: code, Name: fmt.Sprintf("FAST_FAIL code %d", code)}
}
