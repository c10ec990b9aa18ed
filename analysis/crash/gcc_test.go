package crash

import (
	"strings"
	"testing"

	"github.com/dumpmap/dumpmap/minidump"
)

// gccFixture lays out a MinGW x64 exception as libstdc++ allocates it
// (libsupc++/unwind-cxx.h, libgcc unwind-generic.h with __SEH__):
//
//	__cxa_exception     at ue-80: exceptionType at +0 (9 pointers + 2 ints before unwindHeader)
//	_Unwind_Exception   at ue:    exception_class (u64), cleanup, private_[6]: 64 bytes
//	thrown object       at ue+64
//	type_info           {vtable, const char* name}
type gccFixture struct {
	mem *fakeMem
	l   layout
	ue  uint64
}

func newGCC(class uint64, typeName string) *gccFixture {
	g := &gccFixture{mem: &fakeMem{}, ue: 0x5000_0050}
	g.l = layout{g.mem}
	g.l.ptrs(g.ue, 8, class, 0x7000_0000) // exception_class, exception_cleanup
	g.l.ptrs(g.ue-80, 8, 0x6000_0000)     // exceptionType
	g.l.ptrs(0x6000_0000, 8, 0x6100_0000, 0x6000_0100)
	g.l.str(0x6000_0100, typeName)
	return g
}

func (g *gccFixture) input() Input {
	return Input{
		Exception: &minidump.Exception{Code: CodeGCCThrow, Address: 0x7ffa_0000_1000, Parameters: []uint64{g.ue}},
		Platform:  minidump.PlatformWindows, PointerSize: 8, Memory: g.mem,
		Modules: []minidump.Module{{Base: 0x6000_0000, Size: 0x10_0000, Name: `C:\mingw64\bin\libstdc++-6.dll`}},
	}
}

func TestGCCBadAlloc(t *testing.T) {
	g := newGCC(gxxPrimary, "St9bad_alloc")
	got := Decode(g.input())
	cpp := got.CPP
	if cpp == nil || cpp.ThrownType == nil || cpp.ThrownType.Name != "std::bad_alloc" {
		t.Fatalf("cpp %+v unknown %+v", cpp, got.Unknown)
	}
	if uint64(cpp.Object) != g.ue+64 || uint64(*cpp.TypeInfo) != 0x6000_0000 || cpp.ExceptionClass != "GNUCC++ primary" ||
		cpp.Runtime != "libstdc++" || cpp.Module != "libstdc++-6.dll" || cpp.ABI != "itanium" {
		t.Errorf("cpp %+v", cpp)
	}
	if !got.OOM || len(got.Unknown) != 0 {
		t.Errorf("OOM %v unknown %+v", got.OOM, got.Unknown)
	}
	if s := got.Summary(); !strings.HasPrefix(s, "C++ exception std::bad_alloc thrown from libstdc++-6.dll; object at 0x50000090, type_info at 0x60000000\nout of memory") {
		t.Errorf("summary %q", s)
	}
}

func TestGCCLengthError(t *testing.T) {
	g := newGCC(gxxPrimary, "St12length_error")
	g.l.ptrs(g.ue+64, 8, 0x6100_0010, 0x5100_0000) // {vptr, __cow_string._M_p}
	g.l.str(0x5100_0000, "vector::_M_realloc_insert")
	got := Decode(g.input())
	if got.OOM || !got.Refused || got.CPP.Message == nil || got.CPP.Message.Text != "vector::_M_realloc_insert" {
		t.Errorf("OOM %v refused %v message %+v unknown %+v", got.OOM, got.Refused, got.CPP.Message, got.Unknown)
	}
}

func TestGCCDependent(t *testing.T) {
	for _, c := range []struct {
		class uint64
		slot  uint64 // where primaryException lies before the dependent ue
	}{{gxxDependent, 80}, {clangDepend, 88}} {
		g := newGCC(c.class, "St9bad_alloc")
		// The primary exception elsewhere: its object, its header with the type.
		const obj = 0x5800_0040
		g.l.ptrs(obj-64-80, 8, 0x6000_0000)
		g.mem.blocks = g.mem.blocks[1:] // drop the dependent's own exceptionType
		g.l.ptrs(g.ue, 8, c.class)
		g.l.ptrs(g.ue-c.slot, 8, obj)
		got := Decode(g.input())
		if got.CPP.ThrownType == nil || got.CPP.ThrownType.Name != "std::bad_alloc" || uint64(got.CPP.Object) != obj {
			t.Errorf("class %#x: cpp %+v unknown %+v", c.class, got.CPP, got.Unknown)
		}
	}
}

func TestGCCOther(t *testing.T) {
	for _, c := range []struct {
		name  string
		setup func(g *gccFixture, in *Input)
		what  string
		why   string
		type_ string
	}{
		{"libc++abi", func(g *gccFixture, in *Input) { g.l.ptrs(g.ue, 8, clangPrimary) }, "", "", "std::bad_alloc"},
		{"anonymous namespace", func(g *gccFixture, in *Input) { g.l.str(0x6000_0100, "*N12_GLOBAL__N_15MyErrE") }, "", "", "(anonymous namespace)::MyErr"},
		{"foreign", func(g *gccFixture, in *Input) { g.l.ptrs(g.ue, 8, 0x4d4f5a0043202b2b) }, "thrown type", "foreign exception", ""},
		{"no parameter", func(g *gccFixture, in *Input) { in.Exception.Parameters = nil }, "thrown type", "no _Unwind_Exception", ""},
		{"header missing", func(g *gccFixture, in *Input) {
			g.mem.blocks = g.mem.blocks[:1]
		}, "type_info", "not captured", ""},
		{"unwind exception missing", func(g *gccFixture, in *Input) { in.Exception.Parameters[0] = 0x1234 }, "exception class", "not captured", ""},
		{"null type", func(g *gccFixture, in *Input) { g.l.ptrs(g.ue-80, 8, 0) }, "type_info", "null", ""},
		{"bad name", func(g *gccFixture, in *Input) { g.l.str(0x6000_0100, "Z4mainE3Foo") }, "", "", "Z4mainE3Foo"},
	} {
		t.Run(c.name, func(t *testing.T) {
			g := newGCC(gxxPrimary, "St9bad_alloc")
			in := g.input()
			c.setup(g, &in)
			got := Decode(in)
			if c.what != "" && !unknownAbout(got, c.what, c.why) {
				t.Errorf("want Unknown %q about %q, got %+v", c.what, c.why, got.Unknown)
			}
			name := ""
			if got.CPP.ThrownType != nil {
				name = got.CPP.ThrownType.Name
			}
			if name != c.type_ {
				t.Errorf("thrown type %q, want %q", name, c.type_)
			}
			if got.OOM != (name == "std::bad_alloc") {
				t.Errorf("OOM %v for %q", got.OOM, name)
			}
		})
	}
}
