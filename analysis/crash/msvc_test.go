package crash

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/dumpmap/dumpmap/minidump"
)

// msvcFixture lays out the tables of an MSVC throw in memory as ehdata.h defines
// them (crash-facts.md): ThrowInfo {attributes, pmfnUnwind, pForwardCompat,
// pCatchableTypeArray}, CatchableTypeArray {n, refs...}, CatchableType
// {properties, pType, mdisp, pdisp, vdisp, sizeOrOffset, copyFunction},
// TypeDescriptor {pVFTable, spare, name}. A ref is an absolute 32-bit pointer on
// x86 and an RVA from the image base on x64.
type msvcFixture struct {
	ptr  int    // 4: x86 layout, 8: x64 layout
	base uint64 // the module's base (the image base of x64 RVAs)
	mem  *fakeMem
	l    layout
	ti   uint64
	obj  uint64
}

type fxType struct {
	name  string // decorated, ".?AVbad_alloc@std@@"
	props uint32
	mdisp int32
	pdisp int32
}

const (
	fxTI   = 0x1000
	fxCTA  = 0x1100
	fxCT   = 0x1200 // + 0x40*i
	fxTD   = 0x3000 // + 0x100*i
	fxVFT  = 0x4000
	fxSize = 0x10000
)

func newMSVC(ptr int, base uint64, types ...fxType) *msvcFixture {
	f := &msvcFixture{ptr: ptr, base: base, mem: &fakeMem{}}
	f.l = layout{f.mem}
	f.ti = base + fxTI
	ref := func(rva uint64) uint32 {
		if ptr == 8 {
			return uint32(rva)
		}
		return uint32(base + rva)
	}
	f.l.u32s(base+fxTI, 0, 0, 0, ref(fxCTA))
	refs := []uint32{uint32(len(types))}
	for i, t := range types {
		ct := uint64(fxCT + 0x40*i)
		td := uint64(fxTD + 0x100*i)
		refs = append(refs, ref(ct))
		f.l.u32s(base+ct, t.props, ref(td), uint32(t.mdisp), uint32(t.pdisp), 0, 24, 0)
		f.l.ptrs(base+td, ptr, base+fxVFT, 0)
		f.l.str(base+td+2*uint64(ptr), t.name)
	}
	f.l.u32s(base+fxCTA, refs...)
	return f
}

// object places a std::exception-like object {vftable, what, do_free} with its
// message at obj.
func (f *msvcFixture) object(obj uint64, msg string) *msvcFixture {
	f.obj = obj
	f.l.ptrs(obj, f.ptr, f.base+fxVFT, obj+0x100, 0)
	f.l.str(obj+0x100, msg)
	return f
}

func (f *msvcFixture) input() Input {
	e := &minidump.Exception{Code: CodeMSVCThrow, Flags: 1, ThreadID: 7, Address: f.base + 0x777}
	e.Parameters = []uint64{ehMagic1, f.obj, f.ti}
	if f.ptr == 8 {
		e.Parameters = append(e.Parameters, f.base)
	}
	return Input{
		Exception: e, Platform: minidump.PlatformWindows, PointerSize: f.ptr, Memory: f.mem,
		Modules: []minidump.Module{{Base: f.base, Size: fxSize, Name: `C:\Windows\System32\vcruntime140.dll`}},
	}
}

var (
	tBadAlloc  = fxType{name: ".?AVbad_alloc@std@@", props: 0x10, pdisp: -1}
	tException = fxType{name: ".?AVexception@std@@", pdisp: -1}
)

func kinds(c *Crash) []EvidenceKind {
	var k []EvidenceKind
	for _, e := range c.Evidence {
		k = append(k, e.Kind)
	}
	return k
}

func TestMSVCBadAlloc(t *testing.T) {
	for _, c := range []struct {
		name string
		ptr  int
		base uint64
	}{{"x64", 8, 0x7ff6_1234_0000}, {"x86", 4, 0x6a00_0000}} {
		t.Run(c.name, func(t *testing.T) {
			f := newMSVC(c.ptr, c.base, tBadAlloc, tException).object(0x20_0000, "bad allocation")
			got := Decode(f.input())
			if len(got.Unknown) != 0 {
				t.Errorf("unknown: %+v", got.Unknown)
			}
			cpp := got.CPP
			if cpp == nil || cpp.ThrownType == nil || cpp.ThrownType.Name != "std::bad_alloc" {
				t.Fatalf("cpp = %+v", cpp)
			}
			if len(cpp.CatchableTypes) != 2 || cpp.CatchableTypes[1].Type.Name != "std::exception" {
				t.Errorf("catchable types %+v", cpp.CatchableTypes)
			}
			if !slices.Equal(cpp.CatchableTypes[0].PropertyNames, []string{"std::bad_alloc"}) {
				t.Errorf("properties %v", cpp.CatchableTypes[0].PropertyNames)
			}
			if cpp.Message == nil || cpp.Message.Text != "bad allocation" || uint64(cpp.Message.Address) != 0x20_0100 {
				t.Errorf("message %+v", cpp.Message)
			}
			if cpp.Module != "vcruntime140.dll" || cpp.TablesFrom != "dump memory" || uint64(*cpp.ThrowInfo) != c.base+fxTI {
				t.Errorf("module %q from %q ti %v", cpp.Module, cpp.TablesFrom, cpp.ThrowInfo)
			}
			if (cpp.ImageBase != nil) != (c.ptr == 8) {
				t.Errorf("image base %v", cpp.ImageBase)
			}
			if !got.OOM || got.Refused || !strings.Contains(got.Verdict, "std::bad_alloc") {
				t.Errorf("OOM %v refused %v verdict %q", got.OOM, got.Refused, got.Verdict)
			}
			want := []EvidenceKind{EvidenceCode, EvidenceThrowInfo, EvidenceThrownType, EvidenceBaseType, EvidenceMessage, EvidenceVerdict}
			if !slices.Equal(kinds(got), want) {
				t.Errorf("evidence %v, want %v", kinds(got), want)
			}
			s := got.Summary()
			if !strings.HasPrefix(s, `C++ exception std::bad_alloc ("bad allocation") thrown from vcruntime140.dll; object at 0x200000, ThrowInfo at `) ||
				!strings.Contains(s, "\nout of memory: thrown std::bad_alloc") {
				t.Errorf("summary:\n%s", s)
			}
		})
	}
}

func TestMSVCLengthErrorRefused(t *testing.T) {
	f := newMSVC(4, 0x6a00_0000, fxType{name: ".?AVlength_error@std@@", pdisp: -1},
		fxType{name: ".?AVlogic_error@std@@", pdisp: -1}, tException).object(0x30_0000, "vector too long")
	got := Decode(f.input())
	if got.OOM || !got.Refused || !strings.Contains(got.Verdict, `"vector too long"`) {
		t.Errorf("OOM %v refused %v verdict %q", got.OOM, got.Refused, got.Verdict)
	}
	if !strings.Contains(got.Summary(), "allocation refused, not out of memory") {
		t.Errorf("summary %q", got.Summary())
	}
}

// TestMSVCWOW64 gives a 32-bit record as a 64-bit writer may: parameters
// sign-extended above 2 GB.
func TestMSVCWOW64(t *testing.T) {
	f := newMSVC(4, 0x8100_0000, tBadAlloc, tException).object(0x9000_0000, "bad allocation")
	in := f.input()
	for i := range in.Exception.Parameters {
		if v := in.Exception.Parameters[i]; v >= 0x8000_0000 {
			in.Exception.Parameters[i] = v | 0xFFFF_FFFF_0000_0000
		}
	}
	got := Decode(in)
	if got.CPP.ThrownType == nil || got.CPP.ThrownType.Name != "std::bad_alloc" || got.CPP.Message == nil {
		t.Fatalf("cpp %+v unknown %+v", got.CPP, got.Unknown)
	}
	if uint64(*got.CPP.ThrowInfo) != 0x8100_0000+fxTI || uint64(got.Parameters[2].Value) != 0x8100_0000+fxTI {
		t.Errorf("ThrowInfo %v, parameter %v", got.CPP.ThrowInfo, got.Parameters[2].Value)
	}
}

func TestMSVCWine(t *testing.T) {
	f := newMSVC(8, 0x7a00_0000, tBadAlloc, tException).object(0x20_0000, "bad allocation")
	f.l.str(f.base+0x40, "Wine builtin DLL")
	got := Decode(f.input())
	if got.CPP.Runtime != "Wine builtin DLL" || got.CPP.Message == nil || !strings.HasPrefix(got.CPP.Message.Layout, "Wine") {
		t.Errorf("runtime %q message %+v", got.CPP.Runtime, got.CPP.Message)
	}
	if got.CPP.TablesFrom != "dump memory" {
		t.Errorf("tables from %q", got.CPP.TablesFrom)
	}
}

func TestMSVCDerivedFromBadAlloc(t *testing.T) {
	for _, c := range []struct {
		name  string
		types []fxType
	}{
		{"base", []fxType{{name: ".?AVmy_oom@@", pdisp: -1}, {name: ".?AVbad_alloc@std@@", pdisp: -1}, tException}},
		{"flag", []fxType{{name: ".?AVmy_oom@@", props: ctIsStdBadAlloc, pdisp: -1}}},
		{"array", []fxType{{name: ".?AVbad_array_new_length@std@@", pdisp: -1}, tBadAlloc, tException}},
		{"mfc", []fxType{{name: ".PAVCMemoryException@@", props: 1}, {name: ".PAVCException@@", props: 1}, {name: ".PAX", props: 1}}},
	} {
		t.Run(c.name, func(t *testing.T) {
			f := newMSVC(4, 0x100_0000, c.types...)
			f.obj = 0x50_0000
			got := Decode(f.input())
			if !got.OOM {
				t.Errorf("not OOM; verdict %q unknown %+v", got.Verdict, got.Unknown)
			}
		})
	}
}

func TestMSVCHResult(t *testing.T) {
	for _, c := range []struct {
		name string
		obj  func(f *msvcFixture)
		oom  bool
	}{
		{".?AVCAtlException@ATL@@", func(f *msvcFixture) { f.l.u32s(f.obj, eOutOfMemory) }, true},
		{".?AVCAtlException@ATL@@", func(f *msvcFixture) { f.l.u32s(f.obj, 0x80070057) }, false},
		{".?AV_com_error@@", func(f *msvcFixture) { f.l.ptrs(f.obj, 8, 0x1234); f.l.u32s(f.obj+8, eOutOfMemory) }, true},
	} {
		f := newMSVC(8, 0x7ff0_0000_0000, fxType{name: c.name, pdisp: -1})
		f.obj = 0x60_0000
		c.obj(f)
		got := Decode(f.input())
		if got.CPP.HResult == nil || got.OOM != c.oom {
			t.Errorf("%s: hresult %v OOM %v (%s)", c.name, got.CPP.HResult, got.OOM, got.Verdict)
		}
	}
}

// TestMSVCThrownPointer: `throw new std::exception(...)` throws a pointer; the
// message is read through it.
func TestMSVCThrownPointer(t *testing.T) {
	f := newMSVC(8, 0x7ff0_0000_0000, fxType{name: ".PEAVexception@std@@", props: 1}, fxType{name: ".PEAX", props: 1})
	f.obj = 0x70_0000
	f.l.ptrs(f.obj, 8, 0x71_0000)
	f.l.ptrs(0x71_0000, 8, 0x1234, 0x72_0000)
	f.l.str(0x72_0000, "oops")
	got := Decode(f.input())
	if got.CPP.ThrownType.Name != "std::exception*" || got.CPP.Message == nil || got.CPP.Message.Text != "oops" {
		t.Errorf("thrown %+v message %+v unknown %+v", got.CPP.ThrownType, got.CPP.Message, got.Unknown)
	}
}

// unknownAbout reports whether c lists an Unknown whose What is what and whose
// Why contains why.
func unknownAbout(c *Crash, what, why string) bool {
	for _, u := range c.Unknown {
		if u.What == what && strings.Contains(u.Why, why) {
			return true
		}
	}
	return false
}

// TestMSVCDamage: damaged and missing tables give partial results with Unknown
// entries, never a panic.
func TestMSVCDamage(t *testing.T) {
	const base = 0x7ff6_0000_0000
	cases := []struct {
		name   string
		setup  func(f *msvcFixture, in *Input)
		what   string
		why    string
		thrown string // the thrown type still decoded, if any
	}{
		{"ThrowInfo not captured", func(f *msvcFixture, in *Input) { f.mem.blocks = nil }, "ThrowInfo", "no image file of vcruntime140.dll", ""},
		{"ThrowInfo outside modules", func(f *msvcFixture, in *Input) { in.Exception.Parameters[2] = 0x1234_5678 }, "ThrowInfo", "lies in no loaded module", ""},
		{"rethrow", func(f *msvcFixture, in *Input) { in.Exception.Parameters[2] = 0 }, "thrown type", "rethrow", ""},
		{"bad magic", func(f *msvcFixture, in *Input) { in.Exception.Parameters[0] = 0x12345678 }, "thrown type", "not an MSVC exception magic", ""},
		{"pure magic", func(f *msvcFixture, in *Input) { in.Exception.Parameters[0] = ehPureMagic }, "thrown type", "/clr:pure", ""},
		{"two parameters", func(f *msvcFixture, in *Input) { in.Exception.Parameters = in.Exception.Parameters[:2] }, "thrown type", "has 2 parameters", ""},
		{"no image base", func(f *msvcFixture, in *Input) { in.Exception.Parameters = in.Exception.Parameters[:3] }, "thrown type", "needs 4 parameters", ""},
		{"absurd count", func(f *msvcFixture, in *Input) { f.l.u32s(base+fxCTA, 0x7FFFFFFF) }, "catchable types", "claims 2147483647 entries", "std::bad_alloc"},
		{"negative count", func(f *msvcFixture, in *Input) { f.l.u32s(base+fxCTA, 0xFFFFFFFF) }, "catchable types", "holds -1 entries", ""},
		{"no array", func(f *msvcFixture, in *Input) { f.l.u32s(base+fxTI+12, 0) }, "CatchableTypeArray", "has no CatchableTypeArray", ""},
		{"base name missing", func(f *msvcFixture, in *Input) {
			f.mem.blocks = slices.DeleteFunc(f.mem.blocks, func(b memBlock) bool { return b.va == base+fxTD+0x100+16 })
		}, "type name", "not captured in the dump", "std::bad_alloc"},
		{"null type descriptor", func(f *msvcFixture, in *Input) { f.l.u32s(base+fxCT+4, 0) }, "catchable type 0", "no TypeDescriptor", ""},
		{"null entry", func(f *msvcFixture, in *Input) { f.l.u32s(base+fxCTA+4, 0) }, "catchable type 0", "is null", ""},
		{"name without dot", func(f *msvcFixture, in *Input) { f.l.str(base+fxTD+16, "?AVbad_alloc@std@@") }, "type name", "not a decorated type name", ""},
		{"huge name", func(f *msvcFixture, in *Input) { f.l.mem.add(base+fxTD+16, []byte(strings.Repeat("A", 10000))) }, "type name", "cut short", ""},
		{"name runs into missing memory", func(f *msvcFixture, in *Input) {
			f.mem.blocks = slices.DeleteFunc(f.mem.blocks, func(b memBlock) bool { return b.va == base+fxTD+16 })
			f.l.mem.add(base+fxTD+16, []byte(".?AVbad_al"))
		}, "type name", "cut short", ""},
		{"null object", func(f *msvcFixture, in *Input) { in.Exception.Parameters[1] = 0 }, "thrown object", "null", "std::bad_alloc"},
		{"message not captured", func(f *msvcFixture, in *Input) {
			f.mem.blocks = slices.DeleteFunc(f.mem.blocks, func(b memBlock) bool { return b.va == 0x20_0100 })
		}, "what() message", "not captured", "std::bad_alloc"},
		{"null what", func(f *msvcFixture, in *Input) { f.l.ptrs(0x20_0008, 8, 0) }, "what() message", "no message pointer", "std::bad_alloc"},
		{"virtual base", func(f *msvcFixture, in *Input) { f.l.u32s(base+fxCT+0x40+12, 0) }, "what() message", "virtual base", "std::bad_alloc"},
		{"no memory at all", func(f *msvcFixture, in *Input) { in.Memory = nil }, "ThrowInfo", "no process memory was given", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := newMSVC(8, base, tBadAlloc, tException).object(0x20_0000, "bad allocation")
			in := f.input()
			c.setup(f, &in)
			got := Decode(in)
			if !unknownAbout(got, c.what, c.why) {
				t.Errorf("want an Unknown %q about %q, got %+v", c.what, c.why, got.Unknown)
			}
			thrown := ""
			if got.CPP != nil && got.CPP.ThrownType != nil && got.CPP.ThrownType.Demangled {
				thrown = got.CPP.ThrownType.Name
			}
			if thrown != c.thrown {
				t.Errorf("thrown type %q, want %q", thrown, c.thrown)
			}
			if thrown == "std::bad_alloc" && !got.OOM {
				t.Errorf("OOM %v with thrown type %q", got.OOM, thrown)
			}
			if got.Summary() == "" {
				t.Error("empty summary")
			}
			if _, err := json.Marshal(got); err != nil {
				t.Error(err)
			}
		})
	}
}

// TestMSVCRepeatedEntries: every array entry names the same CatchableType (a
// loop in a damaged table); the work stays bounded and the name is read once.
func TestMSVCRepeatedEntries(t *testing.T) {
	const base = 0x7ff6_0000_0000
	f := newMSVC(8, base, tBadAlloc)
	refs := []uint32{5000}
	for range 5000 {
		refs = append(refs, fxCT)
	}
	f.l.u32s(base+0x8000, refs...)
	f.l.u32s(base+fxTI+12, 0x8000)
	got := Decode(f.input())
	if len(got.CPP.CatchableTypes) != maxCatchable {
		t.Errorf("%d catchable types, want the bound %d", len(got.CPP.CatchableTypes), maxCatchable)
	}
	if !unknownAbout(got, "catchable types", "claims 5000") {
		t.Errorf("unknown %+v", got.Unknown)
	}
}
