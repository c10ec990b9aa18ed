package crash

import (
	"fmt"

	"github.com/dumpmap/dumpmap/minidump"
)

// Input is what Decode reads. Only Exception is required.
type Input struct {
	Exception *minidump.Exception
	// Platform is the dump's operating system: codes are NTSTATUS values only on
	// Windows (elsewhere they are signals or Mach exceptions, named but not decoded).
	// The zero value and the other VER_PLATFORM_* values count as Windows.
	Platform minidump.Platform
	// PointerSize is the crashed process's: 4 for x86 and for a 32-bit process in a
	// 64-bit dump (WOW64), 8 for x64 and ARM64. 0 lets the C++ record's parameter
	// count decide (3 on x86, 4 on x64).
	PointerSize int
	// Memory reads the process memory the dump captured (*minidump.Memory).
	Memory Memory
	// Modules are the loaded modules, to name addresses and to find image files.
	Modules []minidump.Module
	// Image opens a module's image file for tables not captured in the dump.
	Image ImageFunc
}

// Decode decodes the exception in in. It never fails: what cannot be read is
// listed in the result's Unknown, with the reason.
func Decode(in Input) *Crash {
	e := in.Exception
	if e == nil {
		return nil
	}
	d := &decoder{in: in, ptr: in.PointerSize, r: &reader{mem: in.Memory, mods: in.Modules, image: in.Image}}
	d.decode()
	return d.c
}

type decoder struct {
	in  Input
	ptr int
	r   *reader
	c   *Crash
}

func (d *decoder) windows() bool {
	return d.in.Platform < minidump.PlatformUnix
}

// platform is the platform codes are named for.
func (d *decoder) platform() minidump.Platform {
	if d.windows() {
		return minidump.PlatformWindows
	}
	return d.in.Platform
}

// param returns parameter i as the process saw it: 32-bit processes get the low
// 32 bits, because 64-bit writers of WOW64 dumps and dbghelp's sign extension put
// garbage in the upper half.
func (d *decoder) param(i int) (uint64, bool) {
	ps := d.in.Exception.Parameters
	if i >= len(ps) {
		return 0, false
	}
	v := ps[i]
	if d.ptr == 4 {
		v &= 0xFFFFFFFF
	}
	return v, true
}

func (d *decoder) where(va uint64) string {
	if i := d.r.module(va); i >= 0 {
		m := &d.r.mods[i]
		return fmt.Sprintf("%s+%#x", m.BaseName(), va-m.Base)
	}
	return ""
}

func (d *decoder) evidence(k EvidenceKind, addr *Hex, text ...string) {
	d.c.Evidence = append(d.c.Evidence, Evidence{Kind: k, Address: addr, Text: text})
}

func (d *decoder) unknown(what string, addr *Hex, format string, args ...any) {
	d.c.Unknown = append(d.c.Unknown, Unknown{What: what, Address: addr, Why: fmt.Sprintf(format, args...)})
}

func (d *decoder) decode() {
	e := d.in.Exception
	code := uint32(e.Code)
	c := &Crash{
		Code: Hex(code), Name: e.Code.Name(d.platform()), Flags: Hex(e.Flags), ThreadID: e.ThreadID,
		Address: Hex(e.Address), Parameters: []Parameter{}, Evidence: []Evidence{},
	}
	d.c = c
	addr := e.Address
	if d.ptr == 4 {
		addr &= 0xFFFFFFFF
		c.Address = Hex(addr)
	}
	c.Where = d.where(addr)
	info, known := CodeInfo{}, false
	if d.windows() {
		info, known = LookupCode(code)
		if known {
			c.Meaning = info.Meaning
		}
	} else {
		c.Meaning = signalMeaning(d.in.Platform, code)
	}
	for i := range e.Parameters {
		v, _ := d.param(i)
		p := Parameter{Index: i, Value: Hex(v)}
		if i < len(info.Params) {
			p.Name = info.Params[i]
		}
		c.Parameters = append(c.Parameters, p)
	}
	codeText := []string{fmt.Sprintf("exception code %#08x: %s", code, c.Name)}
	if c.Meaning != "" {
		codeText = append(codeText, c.Meaning)
	}
	if c.Where != "" {
		codeText = append(codeText, "raised at "+c.Where)
	}
	d.evidence(EvidenceCode, hexp(addr), codeText...)
	if !d.windows() {
		d.verdict()
		return
	}

	switch code {
	case CodeAccessViolation, CodeInPageError, CodeStackOverflow, 0x80000001:
		d.access()
	case CodeStackBufferOverrun:
		if v, ok := d.param(0); ok {
			ff := LookupFastFail(uint32(v))
			c.FastFail = &ff
			t := []string{fmt.Sprintf("parameter 0: %s (%d)", ff.Name, v)}
			if ff.Meaning != "" {
				t = append(t, ff.Meaning)
			}
			d.evidence(EvidenceParameter, nil, t...)
		} else {
			d.unknown("FAST_FAIL code", nil, "the record has no parameters (a /GS failure reported without a code)")
		}
	case CodeNoMemory:
		if v, ok := d.param(0); ok {
			c.Size = &Size{Bytes: v, What: "heap block size (the request plus the heap entry header, rounded up)", From: "parameter 0"}
			d.evidence(EvidenceParameter, nil, fmt.Sprintf("parameter 0: heap block size %d bytes (%#x)", v, v),
				"RtlAllocateHeap puts the size of the block it could not allocate here: the request plus its header, rounded up")
		} else {
			d.unknown("allocation size", nil, "STATUS_NO_MEMORY carries no parameters here (Wine's RtlAllocateHeap raises it with none); the size must come from the stack")
		}
	case CodeChromiumOOM:
		if v, ok := d.param(0); ok {
			c.Size = &Size{Bytes: v, What: "requested size", From: "parameter 0"}
			d.evidence(EvidenceParameter, nil, fmt.Sprintf("parameter 0: requested size %d bytes (%#x)", v, v),
				"Chromium's TerminateBecauseOutOfMemory passes the size it could not allocate")
		} else {
			d.unknown("allocation size", nil, "the record has no parameters (Chromium passes the size as parameter 0 when it knows it)")
		}
	case CodeInvalidParameter:
		d.assertion()
	case CodeMSVCThrow:
		d.msvc()
	case CodeGCCThrow, CodeGCCUnwind:
		d.gcc()
	}
	if d.c.CPP != nil && d.r.used != 0 {
		d.c.CPP.TablesFrom = d.r.used.String()
	}
	d.verdict()
}

// assertion reads Breakpad's invalid-parameter record: [0] and [1] point to the
// expression and file in its MDRawAssertionInfo (128 UTF-16 units each), [2] is
// the line.
func (d *decoder) assertion() {
	if len(d.in.Exception.Parameters) != 3 {
		return
	}
	p0, _ := d.param(0)
	p1, _ := d.param(1)
	line, _ := d.param(2)
	expr, err := d.r.wstring(p0, 128)
	if err != nil {
		d.unknown("invalid-parameter expression", hexp(p0), "%v", err)
		return
	}
	file, err := d.r.wstring(p1, 128)
	if err != nil {
		d.unknown("invalid-parameter file", hexp(p1), "%v", err)
		return
	}
	d.c.Assertion = &Assertion{Expression: expr, File: file, Line: uint32(line)}
	d.evidence(EvidenceParameter, hexp(p0), fmt.Sprintf("invalid parameter: %q in %s line %d", expr, file, line),
		"as the crash reporter's invalid-parameter handler recorded it")
}

// access decodes the operation and address of an access violation.
func (d *decoder) access() {
	p0, ok0 := d.param(0)
	p1, ok1 := d.param(1)
	if !ok0 || !ok1 {
		return
	}
	op := "access"
	switch p0 {
	case 0:
		op = "read"
	case 1:
		op = "write"
	case 8:
		op = "execute (DEP)"
	}
	d.c.Access = &Access{Op: op, Address: Hex(p1)}
	t := []string{fmt.Sprintf("%s of %#x", op, p1)}
	if w := d.where(p1); w != "" {
		t = append(t, "inside "+w)
	} else if p1 < 0x10000 {
		t = append(t, "in the first 64 KB: a null pointer, or one with a small offset")
	}
	d.evidence(EvidenceAccess, hexp(p1), t...)
}

// verdict classifies the exception as out of memory, refused, or neither, and
// closes the evidence chain.
func (d *decoder) verdict() {
	c := d.c
	if d.windows() {
		if info, ok := LookupCode(uint32(c.Code)); ok && info.OOM {
			c.OOM = true
			c.Verdict = fmt.Sprintf("%s: %s", c.Name, info.Meaning)
		}
	}
	if cpp := c.CPP; cpp != nil && !c.OOM {
		d.cppVerdict(cpp)
	}
	switch {
	case c.OOM:
		d.evidence(EvidenceVerdict, nil, "out of memory", c.Verdict)
	case c.Refused:
		d.evidence(EvidenceVerdict, nil, "allocation refused, not out of memory", c.Verdict)
	default:
		d.evidence(EvidenceVerdict, nil, "not an allocation failure")
	}
}

// cppVerdict classifies a thrown C++ type.
func (d *decoder) cppVerdict(cpp *CPPException) {
	c := d.c
	if cpp.ThrownType == nil {
		return
	}
	thrown := cpp.ThrownType.Name
	switch {
	case thrown == "std::bad_alloc":
		c.OOM, c.Verdict = true, "thrown std::bad_alloc: operator new (or an allocator) could not allocate"
	case thrown == "std::bad_array_new_length":
		c.OOM, c.Verdict = true, "thrown std::bad_array_new_length, a std::bad_alloc: new[] was asked for an impossible size"
	case thrown == "CMemoryException*" || thrown == "CMemoryException":
		c.OOM, c.Verdict = true, "thrown MFC CMemoryException: an MFC allocation failed (AfxThrowMemoryException)"
	case cpp.HResult != nil && uint32(*cpp.HResult) == eOutOfMemory:
		c.OOM, c.Verdict = true, fmt.Sprintf("thrown %s with HRESULT E_OUTOFMEMORY", thrown)
	case thrown == "std::length_error":
		c.Refused = true
		c.Verdict = "thrown std::length_error: a container was asked to grow past max_size(); no memory was sought"
		if cpp.Message != nil {
			c.Verdict += fmt.Sprintf(" (%q)", cpp.Message.Text)
		}
	default:
		for _, ct := range cpp.CatchableTypes[min(1, len(cpp.CatchableTypes)):] {
			if ct.Type.Name == "std::bad_alloc" || ct.Properties&ctIsStdBadAlloc != 0 {
				c.OOM, c.Verdict = true, fmt.Sprintf("thrown %s, which derives from std::bad_alloc", thrown)
				break
			}
		}
		if !c.OOM && len(cpp.CatchableTypes) > 0 && cpp.CatchableTypes[0].Properties&ctIsStdBadAlloc != 0 {
			c.OOM, c.Verdict = true, fmt.Sprintf("thrown %s, marked as std::bad_alloc in its CatchableType", thrown)
		}
	}
}

// signalMeaning explains the signals of Breakpad and Crashpad dumps of Linux,
// Android and macOS processes.
func signalMeaning(p minidump.Platform, code uint32) string {
	switch p {
	case minidump.PlatformLinux, minidump.PlatformAndroid:
		switch code {
		case 6:
			return "abort(): an assertion, std::terminate, or an allocator giving up; the record does not say which"
		case 11:
			return "segmentation fault: an access to unmapped or protected memory"
		case 7:
			return "bus error: a misaligned access or a mapped file shorter than its mapping"
		case 8:
			return "arithmetic error, such as an integer division by zero"
		case 4:
			return "illegal instruction"
		case 5:
			return "trap: a breakpoint or __builtin_trap"
		}
	case minidump.PlatformMacOS, minidump.PlatformIOS:
		switch code {
		case 1:
			return "bad access: unmapped or protected memory"
		case 10:
			return "the process crashed after a signal (often abort())"
		case 11:
			return "a resource limit was exceeded"
		}
	}
	return ""
}

// wineBuiltin recognises the DOS stub text Wine writes into its builtin DLLs
// (dlls/winebuild: "Wine builtin DLL" at offset 0x40, "Wine placeholder DLL" for
// the fake ones).
func (d *decoder) wineBuiltin(module int) bool {
	if module < 0 {
		return false
	}
	var b [16]byte
	used := d.r.used // a header read is not where the tables came from
	_, err := d.r.read(b[:], d.r.mods[module].Base+0x40)
	d.r.used = used
	if err != nil {
		return false
	}
	s := string(b[:])
	return s == "Wine builtin DLL" || s == "Wine placeholder"
}
