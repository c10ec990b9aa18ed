package crash

import (
	"strconv"
	"strings"
	"testing"

	"github.com/dumpmap/dumpmap/minidump"
)

// TestCodeNames: the table names codes as the minidump reader does.
func TestCodeNames(t *testing.T) {
	seen := map[uint32]bool{}
	for _, c := range Codes() {
		if seen[c.Code] {
			t.Errorf("%#x listed twice", c.Code)
		}
		seen[c.Code] = true
		if n := minidump.ExceptionCode(c.Code).Name(minidump.PlatformWindows); !strings.HasPrefix(n, "0x") && n != c.Name {
			t.Errorf("%#x: %q here, %q in minidump", c.Code, c.Name, n)
		}
		if c.Meaning == "" {
			t.Errorf("%#x: no meaning", c.Code)
		}
		if minidump.ExceptionCode(c.Code).IsOutOfMemory() != c.OOM {
			t.Errorf("%#x: OOM %v here, %v in minidump", c.Code, c.OOM, !c.OOM)
		}
	}
}

func TestFastFailNames(t *testing.T) {
	for code, name := range fastFailNames() {
		if !strings.HasPrefix(name, "FAST_FAIL_") {
			t.Errorf("%d: %s", code, name)
		}
	}
	// winnt.h leaves 15-17 unassigned.
	for _, c := range []uint32{15, 16, 17, 1000} {
		if got := LookupFastFail(c); got.Name != "FAST_FAIL code "+strconv.Itoa(int(c)) {
			t.Errorf("%d: %q", c, got.Name)
		}
	}
}

func record(code uint32, params ...uint64) Input {
	return Input{
		Exception: &minidump.Exception{Code: minidump.ExceptionCode(code), Address: 0x7ff8_1000_2345, Parameters: params},
		Platform:  minidump.PlatformWindows, PointerSize: 8,
		Modules: []minidump.Module{{Base: 0x7ff8_1000_0000, Size: 0x10_0000, Name: `C:\Windows\System32\ntdll.dll`}},
	}
}

func TestCodes(t *testing.T) {
	for _, c := range []struct {
		name    string
		in      Input
		oom     bool
		size    uint64
		summary string
		unknown string
	}{
		{"no memory with size", record(CodeNoMemory, 0x100010), true, 0x100010,
			"STATUS_NO_MEMORY at ntdll.dll+0x2345: heap block size (the request plus the heap entry header, rounded up) 1048592 bytes (0x100010)\nout of memory: STATUS_NO_MEMORY", ""},
		{"no memory under Wine", record(CodeNoMemory), true, 0, "STATUS_NO_MEMORY at ntdll.dll+0x2345\nout of memory", "allocation size"},
		{"chromium", record(CodeChromiumOOM, 0x4000_0000), true, 0x4000_0000, "Chromium out of memory (0xE0000008) at ntdll.dll+0x2345: requested size 1073741824 bytes", ""},
		{"chromium without size", record(CodeChromiumOOM), true, 0, "Chromium out of memory", "allocation size"},
		{"commit limit", record(CodeCommitmentLimit), true, 0, "STATUS_COMMITMENT_LIMIT", ""},
		{"heap corruption", record(CodeHeapCorruption), false, 0, "STATUS_HEAP_CORRUPTION at ntdll.dll+0x2345", ""},
		{"stack overflow", record(CodeStackOverflow, 1, 0x3f000), false, 0, "EXCEPTION_STACK_OVERFLOW: write of 0x3f000", ""},
		{"DEP", record(CodeAccessViolation, 8, 0x7ff8_1000_2345), false, 0, "EXCEPTION_ACCESS_VIOLATION: execute (DEP) of 0x7ff810002345", ""},
		{"fast fail", record(CodeStackBufferOverrun, 2), false, 0, "STATUS_STACK_BUFFER_OVERRUN: __fastfail FAST_FAIL_STACK_COOKIE_CHECK_FAILURE (2)", ""},
		{"fast fail without code", record(CodeStackBufferOverrun), false, 0, "STATUS_STACK_BUFFER_OVERRUN", "FAST_FAIL code"},
		{"breakpoint", record(CodeBreakpoint, 0), false, 0, "EXCEPTION_BREAKPOINT at ntdll.dll+0x2345", ""},
		{"unknown code", record(0xE0001234, 1, 2), false, 0, "0xe0001234 at ntdll.dll+0x2345", ""},
		{"signal", Input{Exception: &minidump.Exception{Code: 11}, Platform: minidump.PlatformLinux}, false, 0, "SIGSEGV", ""},
		// On Linux 0xC0000017 is no NTSTATUS: the code is a signal number.
		{"not windows", Input{Exception: &minidump.Exception{Code: CodeNoMemory, Parameters: []uint64{5}}, Platform: minidump.PlatformLinux}, false, 0, "0xc0000017", ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			got := Decode(c.in)
			if got.OOM != c.oom {
				t.Errorf("OOM %v", got.OOM)
			}
			if (got.Size != nil) != (c.size != 0) || got.Size != nil && got.Size.Bytes != c.size {
				t.Errorf("size %+v", got.Size)
			}
			if !strings.HasPrefix(got.Summary(), c.summary) {
				t.Errorf("summary %q, want prefix %q", got.Summary(), c.summary)
			}
			if c.unknown != "" && !unknownAbout(got, c.unknown, "") || c.unknown == "" && len(got.Unknown) != 0 {
				t.Errorf("unknown %+v", got.Unknown)
			}
			if got.Evidence[0].Kind != EvidenceCode || got.Evidence[len(got.Evidence)-1].Kind != EvidenceVerdict {
				t.Errorf("evidence %v", kinds(got))
			}
		})
	}
}

func TestDecodeNil(t *testing.T) {
	if Decode(Input{}) != nil {
		t.Error("Decode of no exception is not nil")
	}
	var c *Crash
	if c.Summary() != "" {
		t.Error("nil summary")
	}
}
