package stack

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"path"
	"strings"
)

// SignatureRules say which frames a crash signature leaves out and which it
// reads past, like Socorro's signature generation lists: a frame matching
// Irrelevant is skipped; one matching Prefix is kept and the signature goes on to
// the next frame; the first other frame ends it. Patterns are shell globs (path
// .Match syntax: * any run of characters, ? one, [...] a class) matched against
// the frame's function name, and against "module!function" and the module name
// alone, so "ntdll.dll!*" drops every ntdll frame and "KiUserExceptionDispatcher"
// a function wherever it is. Matching ignores case.
type SignatureRules struct {
	Irrelevant []string
	Prefix     []string
	// MaxFrames bounds the frames in a signature (default 8).
	MaxFrames int
}

// DefaultSignatureRules returns the rules Signature uses when given none. The
// lists hold, with the reason for each group:
//
// Irrelevant (skipped):
//   - exception raising and dispatch: the frames between the faulting code and
//     the handler (RaiseException, _CxxThrowException, KiUserExceptionDispatcher,
//     RtlDispatchException, the C++ frame handlers);
//   - process and thread start: they are at the bottom of every stack;
//   - abort and fail-fast paths (abort, raise, _invoke_watson, __fastfail and
//     their glibc forms);
//   - the allocation path that reports a failure (operator new, malloc,
//     HeapAlloc, std::_Allocate, std::_Throw_bad_array_new_length,
//     std::_Xbad_alloc, __scrt_throw_std_bad_alloc): for an out-of-memory crash
//     the caller that asked for the memory is the interesting frame.
//
// Prefix (kept, and the signature goes on): container and string growth and the
// memory/string primitives (std::vector<...>::_Emplace_reallocate, push_back,
// std::basic_string<...>::_Reallocate*, memcpy, memmove, memset, strlen), which
// say what failed but not who asked.
func DefaultSignatureRules() SignatureRules {
	return SignatureRules{
		Irrelevant: append([]string(nil), defaultIrrelevant...),
		Prefix:     append([]string(nil), defaultPrefix...),
		MaxFrames:  8,
	}
}

var defaultIrrelevant = []string{
	// Exception raising and dispatch (Windows).
	"RaiseException", "RtlRaiseException", "RtlRaiseStatus", "_CxxThrowException", "CxxThrowException",
	"KiUserExceptionDispatcher", "RtlDispatchException", "RtlpExecuteHandlerForException",
	"RtlUnwindEx", "RtlpUnwindHandler", "__CxxFrameHandler*", "__InternalCxxFrameHandler*", "_CallSettingFrame*",
	"__C_specific_handler", "_except_handler*", "__FrameHandler*", "UnhandledExceptionFilter",
	"KERNELBASE.dll!UnhandledExceptionFilter", "RtlUserThreadStart", "_RtlUserThreadStart",
	"BaseThreadInitThunk", "BaseThreadStart", "__scrt_common_main*", "invoke_main", "mainCRTStartup",
	"wmainCRTStartup", "WinMainCRTStartup", "wWinMainCRTStartup", "__tmainCRTStartup", "_initterm*",
	"thread_start<*", "_beginthreadex*", "__RtlUserThreadStart", "LdrInitializeThunk",
	// Abort and fail-fast.
	"abort", "raise", "_invoke_watson", "_invalid_parameter*", "__fastfail", "_CrtDbgReport*",
	"__report_gsfailure", "__GSHandlerCheck*", "terminate", "std::terminate", "_purecall",
	"__GI_raise", "__GI_abort", "__pthread_kill*", "pthread_kill", "gsignal", "__libc_message",
	"__libc_start_main*", "__libc_start_call_main", "_start", "start_thread", "clone", "clone3",
	"__assert_fail*", "_assert", "_wassert",
	// The allocation path that reports a failure.
	"operator new", "operator new[]", "operator new(*", "operator new[](*", "malloc", "_malloc_base",
	"calloc", "_calloc_base", "realloc", "_realloc_base", "HeapAlloc", "RtlAllocateHeap", "HeapReAlloc",
	"RtlReAllocateHeap", "std::_Allocate*", "std::allocator<*>::allocate", "std::_Default_allocate_traits::*",
	"std::_Throw_bad_array_new_length", "std::_Xbad_alloc", "std::_Xlength_error", "std::_Xout_of_range",
	"__scrt_throw_std_bad_alloc", "std::__throw_bad_alloc", "std::__throw_length_error", "_CxxThrowException<*",
	"??2@*", "??_U@*", "_Znwm", "_Znam", "_Znwj", "_Znaj", "_malloc_dbg", "_calloc_dbg", "_realloc_dbg",
	// Wine's builtin DLLs, named by their COFF symbols: its raise and throw
	// helpers and its msvcrt allocator.
	"raise_status", "throw_bad_alloc", "throw_exception", "operator_new", "msvcrt_heap_alloc", "RtlpRaiseException",
	// Chromium's out-of-memory reporters (base/process/memory.h, partition_alloc/oom.h).
	"base::TerminateBecauseOutOfMemory", "base::internal::OnNoMemoryInternal", "base::internal::OnNoMemory",
	"partition_alloc::internal::OnNoMemory*", "partition_alloc::TerminateBecauseOutOfMemory",
}

var defaultPrefix = []string{
	"std::vector<*>::_Emplace_reallocate*", "std::vector<*>::_Emplace_back*", "std::vector<*>::push_back",
	"std::vector<*>::emplace_back*", "std::vector<*>::_Resize*", "std::vector<*>::resize", "std::vector<*>::reserve",
	"std::vector<*>::_Reallocate*", "std::vector<*>::_M_realloc_insert*", "std::vector<*>::_M_default_append",
	"std::basic_string<*>::_Reallocate*", "std::basic_string<*>::append", "std::basic_string<*>::_M_mutate",
	"std::basic_string<*>::_M_create", "std::_Hash<*>::_Forced_rehash", "std::_Hash<*>::_Insert*",
	"memcpy", "memmove", "memset", "memcmp", "strlen", "wcslen", "strcpy", "strcmp", "RtlCopyMemory",
	"RtlMoveMemory", "__memcpy_*", "__memmove_*", "__memset_*",
}

// ReadSignatureRules reads extra patterns from r, one per line after a line
// "[irrelevant]" or "[prefix]"; blank lines and lines starting with # are
// ignored. The patterns are added to rules.
func ReadSignatureRules(r io.Reader, rules *SignatureRules) error {
	sc := bufio.NewScanner(r)
	var list *[]string
	n := 0
	for sc.Scan() {
		n++
		line := strings.TrimSpace(sc.Text())
		switch {
		case line == "" || strings.HasPrefix(line, "#"):
		case strings.EqualFold(line, "[irrelevant]"):
			list = &rules.Irrelevant
		case strings.EqualFold(line, "[prefix]"):
			list = &rules.Prefix
		case list == nil:
			return fmt.Errorf("stack: signature rules line %d: a pattern before [irrelevant] or [prefix]", n)
		default:
			if _, err := path.Match(line, ""); err != nil {
				return fmt.Errorf("stack: signature rules line %d: %v", n, err)
			}
			*list = append(*list, line)
		}
	}
	return sc.Err()
}

// frameName is what a frame contributes to a signature: the function, or
// module+0xoffset, or the address.
func frameName(f *Frame) string {
	if f.Function != "" {
		return f.Function
	}
	if f.Module != "" {
		return fmt.Sprintf("%s+0x%x", f.Module, f.ModuleOffset)
	}
	return fmt.Sprintf("0x%x", f.IP)
}

func matchAny(patterns []string, f *Frame) bool {
	fn := strings.ToLower(f.Function)
	mod := strings.ToLower(f.Module)
	for _, p := range patterns {
		p = strings.ToLower(p)
		if strings.Contains(p, "!") {
			if mod != "" && globMatch(p, mod+"!"+fn) {
				return true
			}
			continue
		}
		if fn != "" && globMatch(p, fn) {
			return true
		}
		if fn == "" && mod != "" && globMatch(p, mod) {
			return true
		}
	}
	return false
}

// globMatch is path.Match without its special treatment of '/', which C++ names
// do not contain but file names in patterns might.
func globMatch(pattern, name string) bool {
	ok, err := path.Match(pattern, name)
	return err == nil && ok
}

// Signature returns a crash signature for a stack: the names of its top frames,
// skipping irrelevant ones and reading past prefix ones, joined with " | ", such
// as "std::vector<Item>::_Emplace_reallocate | Loader::Add". It is "" for a stack
// with no frame left.
func Signature(frames []Frame, rules *SignatureRules) string {
	if rules == nil {
		r := DefaultSignatureRules()
		rules = &r
	}
	maxN := rules.MaxFrames
	if maxN <= 0 {
		maxN = 8
	}
	var parts []string
	for i := range frames {
		f := &frames[i]
		if matchAny(rules.Irrelevant, f) {
			continue
		}
		parts = append(parts, frameName(f))
		if len(parts) >= maxN || !matchAny(rules.Prefix, f) {
			break
		}
	}
	return strings.Join(parts, " | ")
}

// LoadSignatureRules returns the default rules, extended by the file at path when
// path is not "" (see ReadSignatureRules for its form).
func LoadSignatureRules(path string) (*SignatureRules, error) {
	rules := DefaultSignatureRules()
	if path == "" {
		return &rules, nil
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if err := ReadSignatureRules(io.LimitReader(f, 1<<20), &rules); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &rules, nil
}
