package crash

import (
	"errors"
	"strings"
	"testing"

	"github.com/dumpmap/dumpmap/analysis/stack"
)

// noCode is process memory without any code: every argument is then unknown,
// which is what these tests check the words of.
type noCode struct{}

func (noCode) ReadAt(p []byte, va uint64) (int, error) { return 0, errors.New("not captured") }

// frames builds a stack of named frames in one module whose names come from
// symbols with extents (so they count as exact), frame 0 first.
func frames(names ...string) *stack.Thread {
	t := &stack.Thread{Crashed: true}
	for i, n := range names {
		ip := uint64(0x401000 + 0x100*i + 0x10)
		t.Frames = append(t.Frames, stack.Frame{Index: i, IP: ip, SP: 0x10000 + uint64(0x40*i), Module: "app.exe",
			ModuleBase: 0x400000, ModuleOffset: ip - 0x400000, Function: n, FunctionOffset: 0x10, FunctionSize: 0x80})
	}
	return t
}

// TestFindRequestCases decides, from exceptions and stacks built by hand,
// whether there is a failed request and what is (and is not) known of it:
// a C++ exception of unknown type counts only when operator new threw it; an
// allocator on the stack of another crash is no request; the size the
// exception carries is used, and what cannot be recovered says why.
func TestFindRequestCases(t *testing.T) {
	w := stack.NewWalker(stack.ArchAMD64, noCode{}, []stack.Module{{Base: 0x400000, Size: 0x10000, Name: "app.exe"}}, stack.Options{Windows: true})
	cppUnknown := &Crash{Code: 0xE06D7363, CPP: &CPPException{ABI: "msvc"}, Unknown: []Unknown{{What: "ThrowInfo", Why: "not captured"}}}
	cppBadAlloc := &Crash{Code: 0xE06D7363, OOM: true, CPP: &CPPException{ABI: "msvc", ThrownType: &TypeName{Name: "std::bad_alloc"}}}
	av := &Crash{Code: CodeAccessViolation}
	chromium := &Crash{Code: CodeChromiumOOM, OOM: true, Size: &Size{Bytes: 1 << 28, What: "requested size", From: "parameter 0"}}
	noMem := &Crash{Code: CodeNoMemory, OOM: true, Size: &Size{Bytes: 0xc800, What: "heap block size (the request plus the heap entry header, rounded up)", From: "parameter 0"}}
	cases := []struct {
		name    string
		crash   *Crash
		thread  *stack.Thread
		ptr     int
		path    Path   // "" when no request
		size    uint64 // the size, 0 when unknown
		thrown  string
		unknown []string // what must be listed unknown
	}{
		{"unknown C++ type thrown by operator new", cppUnknown, frames("RaiseException", "_CxxThrowException", "operator new", "Parser::Read"), 8,
			PathOperatorNew, 0, "std::bad_alloc", []string{"size", "ThrowInfo"}},
		{"unknown C++ type thrown by user code", cppUnknown, frames("RaiseException", "_CxxThrowException", "Parser::Fail", "operator new"), 8,
			"", 0, "", nil},
		{"unknown C++ type, no symbols", cppUnknown, frames("", "", ""), 8, "", 0, "", nil},
		{"access violation inside an allocator", av, frames("RtlpAllocateHeap", "RtlAllocateHeap", "malloc", "main"), 8, "", 0, "", nil},
		{"bad_alloc from MSVC's operator new", cppBadAlloc, frames("RaiseException", "_CxxThrowException", "__scrt_throw_std_bad_alloc", "operator new", "Parser::Read"), 8,
			PathOperatorNew, 0, "std::bad_alloc", []string{"size"}},
		{"STATUS_NO_MEMORY in HeapAlloc called by malloc", noMem, frames("RtlRaiseStatus", "RtlAllocateHeap", "_malloc_base", "main"), 8,
			PathMalloc, 0xc800 - 16, "", []string{"heap", "exact size"}},
		{"bad_alloc from a vector growth", cppBadAlloc, frames("RaiseException", "_CxxThrowException", "operator new", "std::allocator<Item>::allocate", "std::vector<Item,std::allocator<Item> >::_Emplace_reallocate<Item const &>", "Loader::Add"), 8,
			PathVector, 0, "std::bad_alloc", []string{"size", "element size"}},
		{"Chromium's reporter with the size in the record", chromium, frames("RaiseException", "base::TerminateBecauseOutOfMemory", "base::UncheckedMalloc", "operator new"), 8,
			PathHeap, 1 << 28, "", []string{"heap"}},
		{"STATUS_NO_MEMORY with its block size, x86", noMem, frames("RtlRaiseStatus"), 4,
			PathHeap, 0xc800 - 8, "", []string{"exact size", "heap"}},
		{"STATUS_NO_MEMORY with its block size, x64", noMem, frames("RtlRaiseStatus"), 8,
			PathHeap, 0xc800 - 16, "", []string{"exact size", "heap"}},
		{"STATUS_NO_MEMORY raised in HeapAlloc", noMem, frames("RtlRaiseStatus", "RtlAllocateHeap", "Cache::Add"), 8,
			PathHeap, 0xc800 - 16, "", []string{"heap", "exact size"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r, looked := FindRequest(RequestInput{Crash: c.crash, Thread: c.thread, Walker: w, Memory: noCode{}, PointerSize: c.ptr})
			if c.path == "" {
				if r != nil {
					t.Fatalf("a request: %+v", r)
				}
				if len(looked) == 0 {
					t.Fatal("no word on what was looked for")
				}
				return
			}
			if r == nil {
				t.Fatalf("no request; looked for %v", looked)
			}
			if r.Path != c.path || r.Size != c.size || r.ThrownType != c.thrown {
				t.Errorf("path %q size %d thrown %q; want %q %d %q", r.Path, r.Size, r.ThrownType, c.path, c.size, c.thrown)
			}
			for _, want := range c.unknown {
				found := false
				for _, u := range r.Unknown {
					found = found || u.What == want && u.Why != ""
				}
				if !found {
					t.Errorf("%q not listed unknown with a reason: %+v", want, r.Unknown)
				}
			}
			for _, u := range r.Unknown {
				if strings.TrimSpace(u.Why) == "" {
					t.Errorf("unknown %q without a reason", u.What)
				}
			}
		})
	}
}
