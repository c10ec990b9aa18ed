package crash

import (
	"strings"
	"sync"
)

// Path is the allocation path a failed request took: which allocator the
// program called. The values are those of `explain --json`'s failed_request.
type Path string

// Allocation paths.
const (
	PathOperatorNew  Path = "operator-new" // C++ operator new / new[]
	PathMalloc       Path = "malloc"       // malloc, calloc, realloc
	PathHeap         Path = "heap"         // HeapAlloc / RtlAllocateHeap (and HeapReAlloc)
	PathVirtualAlloc Path = "virtualalloc" // VirtualAlloc(Ex), NtAllocateVirtualMemory
	PathVector       Path = "vector"       // a std::vector growing its buffer (through operator new)
	PathString       Path = "string"       // a std::basic_string growing its buffer
)

// allocator describes a function that allocates: where its size and heap
// arguments are.
type allocator struct {
	path Path
	what string // how evidence names it: "operator new"
	// size lists the argument indices whose product is the size (calloc: 0, 1).
	size []int
	// sizeByRef is set when the size argument points to the size
	// (NtAllocateVirtualMemory's PSIZE_T RegionSize).
	sizeByRef bool
	// heap is the index of the heap handle argument, -1 when none.
	heap int
}

// allocators maps the names functions have in symbols (PDB, Breakpad, COFF or
// exports) to what they are. Arguments are those of the documented signatures:
// HeapAlloc(hHeap, dwFlags, dwBytes), RtlAllocateHeap(HeapHandle, Flags, Size),
// HeapReAlloc(hHeap, dwFlags, lpMem, dwBytes), VirtualAlloc(lpAddress, dwSize,
// ...), VirtualAllocEx(hProcess, lpAddress, dwSize, ...), VirtualAlloc2(Process,
// BaseAddress, Size, ...), NtAllocateVirtualMemory(ProcessHandle, *BaseAddress,
// ZeroBits, *RegionSize, ...) (Microsoft Learn); malloc(size), calloc(num,
// size), realloc(ptr, size) (the C standard); operator new(size_t).
//
// Built on first use, as is raiseFrames: a run that never reads a crashing
// stack does not pay for them at start-up.
var allocators = sync.OnceValue(func() map[string]allocator {
	return map[string]allocator{
		"operator new":   {PathOperatorNew, "operator new", []int{0}, false, -1},
		"operator new[]": {PathOperatorNew, "operator new[]", []int{0}, false, -1},
		// Wine's msvcrt/msvcr* name their operator new so in their symbols.
		"operator_new":     {PathOperatorNew, "operator new", []int{0}, false, -1},
		"operator_new_dbg": {PathOperatorNew, "operator new", []int{0}, false, -1},
		// Itanium ABI (MinGW libstdc++, Linux): new(size_t) and new[](size_t).
		"_Znwm": {PathOperatorNew, "operator new", []int{0}, false, -1},
		"_Znam": {PathOperatorNew, "operator new[]", []int{0}, false, -1},
		"_Znwj": {PathOperatorNew, "operator new", []int{0}, false, -1},
		"_Znaj": {PathOperatorNew, "operator new[]", []int{0}, false, -1},

		"malloc":          {PathMalloc, "malloc", []int{0}, false, -1},
		"_malloc_base":    {PathMalloc, "malloc", []int{0}, false, -1},
		"_malloc_dbg":     {PathMalloc, "malloc", []int{0}, false, -1},
		"_malloc_crt":     {PathMalloc, "malloc", []int{0}, false, -1},
		"_aligned_malloc": {PathMalloc, "_aligned_malloc", []int{0}, false, -1},
		"calloc":          {PathMalloc, "calloc", []int{0, 1}, false, -1},
		"_calloc_base":    {PathMalloc, "calloc", []int{0, 1}, false, -1},
		"_calloc_dbg":     {PathMalloc, "calloc", []int{0, 1}, false, -1},
		"realloc":         {PathMalloc, "realloc", []int{1}, false, -1},
		"_realloc_base":   {PathMalloc, "realloc", []int{1}, false, -1},
		"_realloc_dbg":    {PathMalloc, "realloc", []int{1}, false, -1},
		"MSVCRT_malloc":   {PathMalloc, "malloc", []int{0}, false, -1},
		"MSVCRT_calloc":   {PathMalloc, "calloc", []int{0, 1}, false, -1},
		"MSVCRT_realloc":  {PathMalloc, "realloc", []int{1}, false, -1},

		"HeapAlloc":         {PathHeap, "HeapAlloc", []int{2}, false, 0},
		"RtlAllocateHeap":   {PathHeap, "RtlAllocateHeap", []int{2}, false, 0},
		"HeapReAlloc":       {PathHeap, "HeapReAlloc", []int{3}, false, 0},
		"RtlReAllocateHeap": {PathHeap, "RtlReAllocateHeap", []int{3}, false, 0},

		"VirtualAlloc":              {PathVirtualAlloc, "VirtualAlloc", []int{1}, false, -1},
		"VirtualAllocEx":            {PathVirtualAlloc, "VirtualAllocEx", []int{2}, false, -1},
		"VirtualAllocExNuma":        {PathVirtualAlloc, "VirtualAllocExNuma", []int{2}, false, -1},
		"VirtualAlloc2":             {PathVirtualAlloc, "VirtualAlloc2", []int{2}, false, -1},
		"NtAllocateVirtualMemory":   {PathVirtualAlloc, "NtAllocateVirtualMemory", []int{3}, true, -1},
		"ZwAllocateVirtualMemory":   {PathVirtualAlloc, "NtAllocateVirtualMemory", []int{3}, true, -1},
		"NtAllocateVirtualMemoryEx": {PathVirtualAlloc, "NtAllocateVirtualMemoryEx", []int{2}, true, -1},
	}
})

// lookupAllocator recognises an allocator by its symbol name: a plain name, an
// MSVC-decorated operator new (??2@ and ??_U@, whatever their parameter
// encoding: the aligned and nothrow forms take the size first too), or a
// demangled one with its parameter list.
func lookupAllocator(name string) (allocator, bool) {
	name = plainName(name)
	if a, ok := allocators()[name]; ok {
		return a, true
	}
	switch {
	case strings.HasPrefix(name, "??2@"):
		return allocators()["operator new"], true
	case strings.HasPrefix(name, "??_U@"):
		return allocators()["operator new[]"], true
	case strings.HasPrefix(name, "_ZnwmSt11align_val_t"), strings.HasPrefix(name, "_ZnwmRKSt9nothrow_t"):
		return allocators()["_Znwm"], true
	case strings.HasPrefix(name, "_ZnamSt11align_val_t"), strings.HasPrefix(name, "_ZnamRKSt9nothrow_t"):
		return allocators()["_Znam"], true
	}
	return allocator{}, false
}

// plainName strips what symbol sources add around a function's name: a module
// prefix ("ntdll!"), a parameter list ("operator new(unsigned __int64)"), an
// import prefix, and the "std::" of a C function seen through a C++ name.
func plainName(name string) string {
	if i := strings.LastIndexByte(name, '!'); i >= 0 {
		name = name[i+1:]
	}
	name = strings.TrimPrefix(name, "__imp_")
	if !strings.HasPrefix(name, "?") {
		if i := strings.IndexByte(name, '('); i > 0 {
			name = name[:i]
		}
	}
	return strings.TrimSpace(name)
}

// raiseFrames are the functions that raise or throw on an allocator's behalf:
// frames above the allocator on a crashing stack that carry no request.
var raiseFrames = sync.OnceValue(func() map[string]bool {
	return map[string]bool{
		"RaiseException": true, "RtlRaiseException": true, "RtlRaiseStatus": true, "raise_status": true,
		"RtlpRaiseException": true, "KiUserExceptionDispatcher": true, "RtlRaiseNoncontinuableException": true,
		"_CxxThrowException": true, "CxxThrowException": true, "throw_bad_alloc": true, "throw_exception": true,
		"__scrt_throw_std_bad_alloc": true, "__scrt_throw_std_bad_array_new_length": true,
		"std::_Throw_bad_array_new_length": true, "std::_Xbad_alloc": true, "_Xbad_alloc": true,
		"std::_Xlength_error": true, "__cxa_throw": true, "_Unwind_RaiseException": true,
		"__cxa_allocate_exception": true, "RtlpExecuteHandlerForException": true,
		"_CxxThrowException@8": true, "__CxxThrowException@8": true, "?_Xbad_alloc@std@@YAXXZ": true,
		"?_Throw_bad_array_new_length@std@@YAXXZ": true, "_ZSt17__throw_bad_allocv": true,
		"std::__throw_bad_alloc": true, "_ZSt28__throw_bad_array_new_lengthv": true,
	}
})

// isRaiseFrame reports whether a frame's function raises the exception rather
// than asks for memory.
func isRaiseFrame(name string) bool {
	n := plainName(name)
	return raiseFrames()[n] || raiseFrames()[name]
}

// chromiumOOMFrames are Chromium's and PartitionAlloc's out-of-memory reporters,
// which receive the size that could not be allocated as their first argument:
// base::TerminateBecauseOutOfMemory(size_t), base::internal::OnNoMemoryInternal
// (size_t), partition_alloc::internal::OnNoMemory(size_t) (Chromium's
// base/process/memory.h and partition_alloc/oom.h).
var chromiumOOMFrames = []string{"TerminateBecauseOutOfMemory", "OnNoMemoryInternal", "OnNoMemory", "PartitionOutOfMemory"}

// isChromiumOOMFrame reports whether name is one of Chromium's OOM reporters
// (by the last component of its qualified or underscore-joined name).
func isChromiumOOMFrame(name string) bool {
	n := plainName(name)
	for _, s := range chromiumOOMFrames {
		if n == s || strings.HasSuffix(n, "::"+s) || strings.HasSuffix(n, "_"+s) {
			return true
		}
	}
	return false
}

// growthKind says how a container frame asks for a new buffer.
type growthKind uint8

const (
	growthNone growthKind = iota
	// growthByOne: a buffer for one more element (emplace_back, push_back,
	// insert): MSVC's _Emplace_reallocate, libstdc++'s _M_realloc_insert. The
	// new capacity follows the library's growth rule, from which the element
	// size can be worked out.
	growthByOne
	// growthOther: reserve, resize, assign: the new capacity is the caller's.
	growthOther
)

// containerGrowth recognises a std::vector or std::basic_string growing its
// buffer, from names as MSVC's STL, libstdc++ and libc++ give them (demangled or
// as readable names); kind says whether the growth rule applies.
func containerGrowth(name string) (Path, growthKind) {
	n := plainName(name)
	low := strings.ToLower(n)
	isVector := strings.Contains(low, "vector")
	isString := strings.Contains(low, "basic_string") || strings.Contains(low, "string_")
	if !isVector && !isString {
		return "", growthNone
	}
	path := PathVector
	if isString && !isVector {
		path = PathString
	}
	for _, s := range []string{"_emplace_reallocate", "emplace_reallocate", "_insert_reallocate", "_m_realloc_insert", "_m_realloc_append", "__push_back_slow_path", "__emplace_back_slow_path"} {
		if strings.Contains(low, s) {
			return path, growthByOne
		}
	}
	for _, s := range []string{"_resize_reallocate", "_reallocate_exactly", "_reallocate_grow_by", "_reallocate_for", "_m_default_append", "_m_create", "_m_mutate", "reserve", "_buy_raw", "_buy_nonzero", "__append", "__grow_by", "__vallocate"} {
		if strings.Contains(low, s) {
			return path, growthOther
		}
	}
	return "", growthNone
}

// isAllocateHelper reports whether a frame between operator new and a container
// is one of the standard library's allocation helpers (std::allocator<T>::
// allocate, std::_Allocate, _Allocate_manually_vector_aligned), which debug
// builds leave as frames.
func isAllocateHelper(name string) bool {
	low := strings.ToLower(plainName(name))
	return strings.Contains(low, "allocat") && !strings.Contains(low, "realloc")
}
