package crash

import (
	"encoding/binary"
	"fmt"
	"strings"
)

// MSVC C++ exception records and tables, from ehdata.h / ehdata_forceinclude.h
// (shipped with the MSVC runtime headers), which LLVM's MicrosoftCXXABI.cpp emits
// identically and Wine's dlls/msvcrt/cxx.h reimplements:
//
//	ExceptionInformation: [0] magic, [1] object, [2] ThrowInfo, [3] image base
//	    (x64/ARM64 only: _EH_RELATIVE_TYPEINFO, the tables hold RVAs from it)
//	ThrowInfo          { u32 attributes; ref pmfnUnwind; ref pForwardCompat; ref pCatchableTypeArray }
//	CatchableTypeArray { i32 nCatchableTypes; ref arrayOfCatchableTypes[] }
//	CatchableType      { u32 properties; ref pType; PMD {i32 mdisp, pdisp, vdisp}; i32 sizeOrOffset; ref copyFunction }
//	TypeDescriptor     { ptr pVFTable; ptr spare; char name[] }
//
// A ref is a 32-bit pointer on x86 and a 32-bit RVA on x64 and ARM64, so the first
// three structures have the same offsets on both; TypeDescriptor's two pointers
// are 4 or 8 bytes.
const (
	ehMagic1    = 0x19930520
	ehMagic2    = 0x19930521
	ehMagic3    = 0x19930522
	ehPureMagic = 0x01994000 // /clr:pure: the tables are managed metadata

	ctIsSimpleType     = 0x01
	ctByReferenceOnly  = 0x02
	ctHasVirtualBase   = 0x04
	ctIsWinRTHandle    = 0x08
	ctIsStdBadAlloc    = 0x10
	catchableTypeSize  = 28
	throwInfoSize      = 16
	eOutOfMemory       = 0x8007000E // E_OUTOFMEMORY
	decoratedException = ".?AVexception@std@@"
)

var throwAttrNames = []struct {
	bit  uint32
	name string
}{{1, "const"}, {2, "volatile"}, {4, "unaligned"}, {8, "pure"}, {0x10, "WinRT"}}

var ctPropNames = []struct {
	bit  uint32
	name string
}{{ctIsSimpleType, "simple type"}, {ctByReferenceOnly, "by reference only"}, {ctHasVirtualBase, "has virtual base"},
	{ctIsWinRTHandle, "WinRT handle"}, {ctIsStdBadAlloc, "std::bad_alloc"}}

func bitNames(v uint32, names []struct {
	bit  uint32
	name string
}) []string {
	var out []string
	for _, n := range names {
		if v&n.bit != 0 {
			out = append(out, n.name)
			v &^= n.bit
		}
	}
	if v != 0 {
		out = append(out, fmt.Sprintf("%#x", v))
	}
	return out
}

// msvc decodes an MSVC C++ exception: the ThrowInfo, every catchable type with its
// TypeDescriptor name, and for known types the object's message or HRESULT.
func (d *decoder) msvc() {
	c, r := d.c, d.r
	n := len(d.in.Exception.Parameters)
	cpp := &CPPException{ABI: "msvc"}
	c.CPP = cpp
	if n < 3 {
		d.unknown("thrown type", nil, "the C++ exception record has %d parameters; MSVC throws with 3 (x86) or 4 (x64, ARM64)", n)
		return
	}
	magic, _ := d.param(0)
	magic &= 0xFFFFFFFF
	cpp.Magic = hexp(magic)
	obj, _ := d.param(1)
	ti, _ := d.param(2)
	cpp.Object = Hex(obj)
	switch magic {
	case ehMagic1, ehMagic2, ehMagic3:
	case ehPureMagic:
		d.unknown("thrown type", nil, "magic %#x: thrown from /clr:pure code, whose type tables are managed metadata", magic)
		return
	default:
		d.unknown("thrown type", nil, "parameter 0 is %#x, not an MSVC exception magic number (0x19930520-0x19930522)", magic)
		return
	}
	// x64 and ARM64 tables hold RVAs from parameter 3; x86 tables hold pointers.
	rel := d.ptr == 8 || (d.ptr == 0 && n >= 4)
	tdPtr := 4
	var base uint64
	if rel {
		if n < 4 {
			d.unknown("thrown type", nil, "a 64-bit C++ exception record needs 4 parameters (the 4th is the image base), it has %d", n)
			return
		}
		base, _ = d.param(3)
		cpp.ImageBase = hexp(base)
		tdPtr = 8
	}
	if ti == 0 {
		d.unknown("thrown type", nil, "the ThrowInfo pointer is null: a rethrow (throw;) of the exception being handled, whose type this record does not carry")
		return
	}
	cpp.ThrowInfo = hexp(ti)
	mod := r.module(ti)
	if rel {
		if m := r.module(base); m >= 0 {
			mod = m
		}
	}
	if mod >= 0 {
		cpp.Module = r.mods[mod].BaseName()
		if d.wineBuiltin(mod) {
			cpp.Runtime = "Wine builtin DLL"
		}
	}
	if rel && r.module(base) < 0 {
		d.unknown("module of the type tables", hexp(base), "the image base %#x in parameter 3 is not the base of a loaded module", base)
	}

	// ref reads a table reference at va: an RVA from base, or a pointer.
	ref := func(va uint64) (uint64, error) {
		if rel {
			v, _, err := r.u32(va)
			if err != nil || v == 0 {
				return 0, err
			}
			return base + uint64(v), nil
		}
		return r.ptr(va, 4)
	}

	defer d.throwInfoEvidence(cpp, ti)
	attrs, _, err := r.u32(ti)
	if err != nil {
		d.unknown("ThrowInfo", hexp(ti), "%v", err)
		return
	}
	cpp.ThrowAttributes = bitNames(attrs, throwAttrNames)
	cta, err := ref(ti + 12)
	switch {
	case err != nil:
		d.unknown("CatchableTypeArray", nil, "reading its reference in the ThrowInfo at %#x: %v", ti+12, err)
		return
	case cta == 0:
		d.unknown("CatchableTypeArray", nil, "the ThrowInfo at %#x has no CatchableTypeArray", ti)
		return
	}
	cnt, _, err := r.u32(cta)
	if err != nil {
		d.unknown("CatchableTypeArray", hexp(cta), "%v", err)
		return
	}
	count := int(int32(cnt))
	if count <= 0 {
		d.unknown("catchable types", hexp(cta), "the CatchableTypeArray holds %d entries", count)
		return
	}
	if count > maxCatchable {
		d.unknown("catchable types", hexp(cta), "the CatchableTypeArray claims %d entries, more than any real class hierarchy: read the first %d", count, maxCatchable)
		count = maxCatchable
	}
	names := map[uint64]TypeName{}
	for i := range count {
		what := fmt.Sprintf("catchable type %d", i)
		ctVA, err := ref(cta + 4 + 4*uint64(i))
		if err != nil {
			d.unknown(what, nil, "reading entry %d of the CatchableTypeArray at %#x: %v", i, cta, err)
			break // the rest of the array is no more readable
		}
		if ctVA == 0 {
			d.unknown(what, nil, "entry %d of the CatchableTypeArray at %#x is null", i, cta)
			continue
		}
		var b [catchableTypeSize]byte
		src, err := r.read(b[:], ctVA)
		if err != nil {
			d.unknown(what, hexp(ctVA), "%v", err)
			continue
		}
		le := binary.LittleEndian
		ct := CatchableType{
			Address: Hex(ctVA), Properties: Hex(le.Uint32(b[0:])),
			MDisp: int32(le.Uint32(b[8:])), PDisp: int32(le.Uint32(b[12:])), VDisp: int32(le.Uint32(b[16:])),
			SizeOrOffset: int32(le.Uint32(b[20:])),
		}
		ct.PropertyNames = bitNames(uint32(ct.Properties), ctPropNames)
		td := uint64(le.Uint32(b[4:]))
		switch {
		case td == 0:
		case rel:
			td += base
		case src == fromImage:
			td = r.relocate(ctVA, td)
		}
		ct.TypeDescriptor = Hex(td)
		if td == 0 {
			d.unknown(what, hexp(ctVA), "the CatchableType at %#x has no TypeDescriptor", ctVA)
			continue
		}
		tn, ok := names[td]
		if !ok {
			tn = d.typeDescriptorName(td, tdPtr)
			names[td] = tn
		}
		if tn.Decorated == "" {
			continue
		}
		ct.Type = tn
		cpp.CatchableTypes = append(cpp.CatchableTypes, ct)
		if i == 0 {
			t := tn
			cpp.ThrownType = &t
		}
	}
	d.typeEvidence(cpp)
	if obj == 0 {
		d.unknown("thrown object", nil, "parameter 1, the thrown object's address, is null")
		return
	}
	d.msvcMessage(cpp, obj, tdPtr)
	d.msvcHResult(cpp, obj, tdPtr)
}

// typeDescriptorName reads and demangles the name in a TypeDescriptor. A failure
// is listed in Unknown and gives an empty Decorated.
func (d *decoder) typeDescriptorName(td uint64, ptr int) TypeName {
	at := td + 2*uint64(ptr)
	s, trunc, err := d.r.cstring(at, maxDecoratedName)
	switch {
	case err != nil && s == "":
		d.unknown("type name", hexp(td), "TypeDescriptor at %#x: %v", td, err)
		return TypeName{}
	case err != nil || trunc:
		why := fmt.Sprintf("longer than %d bytes", maxDecoratedName)
		if err != nil {
			why = err.Error()
		}
		d.unknown("type name", hexp(td), "the name in the TypeDescriptor at %#x is cut short (%s)", td, why)
		return rawName(s, "the name was cut short")
	}
	if !strings.HasPrefix(s, ".") {
		tn := rawName(s, "a TypeDescriptor name starts with '.'")
		d.unknown("type name", hexp(td), "the TypeDescriptor at %#x holds %q, not a decorated type name", td, clip(s, 64))
		return tn
	}
	return DemangleMSVC(s)
}

// throwInfoEvidence adds where the type tables were found.
func (d *decoder) throwInfoEvidence(cpp *CPPException, ti uint64) {
	t := []string{"ThrowInfo at " + Hex(ti).String()}
	if cpp.Module != "" {
		t[0] += " in " + cpp.Module
	}
	if cpp.Runtime != "" {
		t = append(t, cpp.Module+" is a "+cpp.Runtime)
	}
	if src := d.r.used.String(); src != "" {
		t = append(t, "tables read from "+src)
	}
	// Insert it after the code, before the types it leads to.
	ev := Evidence{Kind: EvidenceThrowInfo, Address: hexp(ti), Text: t}
	i := 1
	if len(d.c.Evidence) < 1 {
		i = 0
	}
	d.c.Evidence = append(d.c.Evidence[:i], append([]Evidence{ev}, d.c.Evidence[i:]...)...)
}

// typeEvidence adds the thrown type and the bases it can be caught as.
func (d *decoder) typeEvidence(cpp *CPPException) {
	for i, ct := range cpp.CatchableTypes {
		if i == 0 {
			t := []string{"thrown type " + ct.Type.Name, "decorated " + ct.Type.Decorated}
			if !ct.Type.Demangled {
				t = append(t, "not demangled: "+ct.Type.Why)
			}
			d.evidence(EvidenceThrownType, hexp(uint64(ct.TypeDescriptor)), t...)
			continue
		}
		d.evidence(EvidenceBaseType, hexp(uint64(ct.TypeDescriptor)), "can be caught as "+ct.Type.Name)
	}
}

// msvcMessage reads what() of a thrown std::exception. MSVC's object is
// {vftable; __std_exception_data {const char* _What; bool _DoFree}} (vcruntime
// <vcruntime_exception.h>); Wine's msvcrt exception is {vtable; char* name; int
// do_free} (dlls/msvcrt/cpp.c). Both keep the string pointer one pointer in.
func (d *decoder) msvcMessage(cpp *CPPException, obj uint64, ptr int) {
	var exc *CatchableType
	deref := false
	ptrName := ".PAVexception@std@@"
	if ptr == 8 {
		ptrName = ".PEAVexception@std@@"
	}
	for i := range cpp.CatchableTypes {
		switch cpp.CatchableTypes[i].Type.Decorated {
		case decoratedException:
			exc = &cpp.CatchableTypes[i]
		case ptrName:
			exc, deref = &cpp.CatchableTypes[i], true
		}
		if exc != nil {
			break
		}
	}
	if exc == nil {
		return
	}
	layout := "MSVC std::exception {vftable, __std_exception_data {_What, _DoFree}}"
	if cpp.Runtime != "" {
		layout = "Wine msvcrt exception {vtable, name, do_free}"
	}
	at := obj
	if deref {
		// A thrown pointer: the object holds the pointer to the exception.
		p, err := d.r.ptr(obj, ptr)
		if err != nil {
			d.unknown("what() message", hexp(obj), "reading the thrown pointer: %v", err)
			return
		}
		if p == 0 {
			d.unknown("what() message", hexp(obj), "the thrown pointer is null")
			return
		}
		at = p
	} else {
		if exc.PDisp >= 0 {
			d.unknown("what() message", hexp(obj), "std::exception is a virtual base of the thrown type (pdisp %d): its place needs the vbtable", exc.PDisp)
			return
		}
		at = obj + uint64(int64(exc.MDisp))
	}
	what, err := d.r.ptr(at+uint64(ptr), ptr)
	if err != nil {
		d.unknown("what() message", hexp(at), "reading the std::exception at %#x: %v", at, err)
		return
	}
	if what == 0 {
		d.unknown("what() message", hexp(at), "the std::exception at %#x has no message pointer (an exception built without one, or Wine failing to allocate its copy)", at)
		return
	}
	s, trunc, err := d.r.cstring(what, maxMessage)
	if err != nil && s == "" {
		d.unknown("what() message", hexp(what), "%v", err)
		return
	}
	cpp.Message = &Message{Text: s, Address: Hex(what), Truncated: trunc, Layout: layout}
	t := []string{fmt.Sprintf("what() = %q", s), "read through the std::exception at " + Hex(at).String() + " (" + layout + ")"}
	if trunc {
		t = append(t, fmt.Sprintf("cut at %d bytes", len(s)))
	}
	d.evidence(EvidenceMessage, hexp(what), t...)
}

// msvcHResult reads the HRESULT of ATL's CAtlException {HRESULT m_hr} (no vtable,
// atlexcept.h) and of _com_error {vftable; HRESULT m_hresult; ...} (comdef.h).
func (d *decoder) msvcHResult(cpp *CPPException, obj uint64, ptr int) {
	if cpp.ThrownType == nil {
		return
	}
	var at uint64
	switch cpp.ThrownType.Decorated {
	case ".?AVCAtlException@ATL@@":
		at = obj
	case ".?AV_com_error@@":
		at = obj + uint64(ptr)
	default:
		return
	}
	hr, _, err := d.r.u32(at)
	if err != nil {
		d.unknown("HRESULT", hexp(at), "%v", err)
		return
	}
	cpp.HResult = hexp(uint64(hr))
	t := []string{fmt.Sprintf("HRESULT %#08x", hr)}
	if hr == eOutOfMemory {
		t[0] += " (E_OUTOFMEMORY)"
	}
	d.evidence(EvidenceObject, hexp(at), t...)
}

func clip(s string, n int) string {
	if len(s) > n {
		return s[:n] + "..."
	}
	return s
}
