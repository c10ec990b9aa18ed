package process

import (
	"fmt"
	"strings"

	"github.com/dumpmap/dumpmap/analysis/pe"
)

// CRTKind is the kind of C runtime that serves the process's malloc, which
// decides where malloc's heap is.
type CRTKind int

// C runtime kinds.
const (
	CRTUnknown CRTKind = iota
	// CRTUniversal is the Universal CRT (ucrtbase.dll and the api-ms-win-crt-* API
	// sets): it allocates from the process heap.
	CRTUniversal
	// CRTVersioned is a versioned Visual C++ runtime DLL (msvcr70-msvcr120 and
	// their debug builds): it creates a heap of its own.
	CRTVersioned
	// CRTSystem is Windows' msvcrt.dll (also what mingw-w64 and Wine programs
	// link): a heap of its own.
	CRTSystem
	// CRTStatic is a C runtime linked into the executable: a heap of its own,
	// whose handle is in a global of the executable.
	CRTStatic
	// CRTOther is a malloc imported from a DLL that is not a Microsoft C runtime.
	CRTOther
)

var crtKindNames = [...]string{"unknown", "universal", "versioned", "system", "static", "other"}

// String returns "universal", "versioned", "system", "static", "other" or "unknown".
func (k CRTKind) String() string {
	if int(k) < len(crtKindNames) {
		return crtKindNames[k]
	}
	return fmt.Sprintf("CRTKind(%d)", int(k))
}

// OwnHeap reports whether a C runtime of this kind creates a heap of its own
// (every kind but the Universal CRT, and unknown).
func (k CRTKind) OwnHeap() bool { return k != CRTUniversal && k != CRTUnknown }

// Method names an identification method; Attempts are recorded under these.
type Method string

// Methods of identifying the C runtime and its heap.
const (
	MethodImports   Method = "imports"
	MethodUCRT      Method = "UCRT rule"
	MethodPDB       Method = "PDB"
	MethodGetHandle Method = "_get_heap_handle"
	MethodPEB       Method = "PEB"
	MethodPEBHeaps  Method = "PEB.ProcessHeaps"
	MethodHeaps     Method = "heaps"
)

// Attempt is one try at identifying something: the method, whether it found
// what it looked for, and what it found or why it failed.
type Attempt struct {
	Method Method `json:"method"`
	OK     bool   `json:"ok"`
	Detail string `json:"detail"`
}

// String returns "method: detail", the line `dumpmap heaps` prints.
func (a Attempt) String() string { return string(a.Method) + ": " + a.Detail }

// CRT is the C runtime that serves the process's malloc and how that was found.
type CRT struct {
	Kind CRTKind
	// DLL is the module malloc is imported from ("" for a static CRT or when
	// unknown); Function is the import that told ("malloc", "??2@YAPEAX_K@Z").
	DLL, Function string
	// ImportsFrom says where the main module's import table was read ("dump
	// memory" or an image file's path); "" when it could not be read, and the
	// kind then comes from the module list alone.
	ImportsFrom string
	// How is a sentence for the Universal CRT: why malloc uses the process heap.
	How string
	// Attempts records each step: the module-list rule, the imports.
	Attempts []Attempt
	// Candidates are the modules whose globals (in their PDBs) and whose
	// _get_heap_handle code may name the CRT's heap, in the order to try them;
	// CodeCandidates are those whose _get_heap_handle is worth decoding.
	Candidates, CodeCandidates []*Module
}

// CRTKindOf classifies a DLL name as a C runtime: the one rule for the CRT
// flavour of a module name. It compares without case, as Windows does.
func CRTKindOf(dll string) CRTKind {
	n := strings.ToLower(dll)
	switch {
	case n == "ucrtbase.dll" || n == "ucrtbased.dll" || strings.HasPrefix(n, "api-ms-win-crt-"):
		return CRTUniversal
	case n == "msvcrt.dll" || n == "msvcrtd.dll":
		return CRTSystem
	case isVersionedCRT(n):
		return CRTVersioned
	case n == "":
		return CRTUnknown
	}
	return CRTOther
}

// isVersionedCRT reports whether lowered name n is a versioned Visual C++
// runtime (msvcr120.dll, msvcr100_clr0400.dll): msvcr[0-9]+d?(_clr[0-9]+)?\.dll.
// By hand, not a regexp: CRTKindOf runs on each of a process's modules (2,000
// are common) before its heaps are read, and the regexp's compile and matches
// were a fifth of a millisecond there.
func isVersionedCRT(n string) bool {
	rest, ok := strings.CutPrefix(n, "msvcr")
	if !ok {
		return false
	}
	if rest, ok = strings.CutSuffix(rest, ".dll"); !ok {
		return false
	}
	i := leadingDigits(rest)
	if i == 0 {
		return false
	}
	rest = strings.TrimPrefix(rest[i:], "d")
	if rest == "" {
		return true
	}
	if rest, ok = strings.CutPrefix(rest, "_clr"); !ok {
		return false
	}
	j := leadingDigits(rest)
	return j > 0 && j == len(rest)
}

// leadingDigits returns how many ASCII digits s starts with.
func leadingDigits(s string) int {
	i := 0
	for i < len(s) && '0' <= s[i] && s[i] <= '9' {
		i++
	}
	return i
}

// mallocNames are the imports that say which DLL serves malloc, in order of
// preference: malloc itself, then its siblings and operator new (x86, x64).
var mallocNames = []string{"malloc", "calloc", "realloc", "_malloc_dbg", "??2@YAPAXI@Z", "??2@YAPEAX_K@Z"}

// MallocImport returns the DLL an import table imports malloc (or a sibling)
// from, and the function's name; "" when it imports none of them.
func MallocImport(imps []pe.Import) (dll, fn string) {
	for _, want := range mallocNames {
		for _, imp := range imps {
			for _, f := range imp.Functions {
				if f.Name == want {
					return imp.DLL, want
				}
			}
		}
	}
	return "", ""
}

// CRT identifies the C runtime serving malloc: from the main module's import
// table (which DLL its malloc comes from; none: a static CRT), read from dump
// memory or the image path; when that cannot be read, from the module list (the
// Universal CRT applies when ucrtbase.dll is loaded and no versioned CRT DLL is;
// Windows' own msvcrt.dll, loaded by system DLLs in most processes, says nothing).
func (p *Process) CRT() CRT {
	p.crtOnce.Do(func() { p.crt = p.identifyCRT() })
	return p.crt
}

func (p *Process) identifyCRT() CRT {
	var c CRT
	if !p.Windows() {
		return c
	}
	try := func(m Method, ok bool, format string, args ...any) {
		c.Attempts = append(c.Attempts, Attempt{Method: m, OK: ok, Detail: fmt.Sprintf(format, args...)})
	}
	// The module-list rule, which the imports confirm or withdraw.
	var ucrt bool
	var versioned []string
	var versionedMods []*Module
	for _, m := range p.Modules() {
		switch CRTKindOf(m.FileName) {
		case CRTUniversal:
			if n := strings.ToLower(m.FileName); n == "ucrtbase.dll" || n == "ucrtbased.dll" {
				ucrt = true
			}
		case CRTVersioned:
			versioned = append(versioned, m.FileName)
			versionedMods = append(versionedMods, m)
		}
	}
	listSaysUCRT := false
	switch {
	case ucrt && len(versioned) == 0:
		listSaysUCRT = true
	case ucrt:
		try(MethodUCRT, false, "ucrtbase.dll is loaded but so are %s, which have heaps of their own", strings.Join(versioned, ", "))
	default:
		try(MethodUCRT, false, "ucrtbase.dll is not loaded")
	}

	main, _ := p.Main()
	if main == nil {
		try(MethodImports, false, "the dump has no module list")
		return c
	}
	var imps []pe.Import
	src, err := main.Image(func(img *pe.File) error {
		var err error
		imps, err = img.Imports()
		return err
	})
	if err != nil {
		try(MethodImports, false, "the import table of %s is not readable (%v)", main.FileName, err)
		if listSaysUCRT {
			c.Kind, c.How = CRTUniversal, "UCRT rule: ucrtbase.dll allocates from the process heap"
			try(MethodUCRT, true, "applied from the module list alone (ucrtbase.dll is loaded and no older CRT DLL is); the main module's imports could confirm it")
			return c
		}
		// Without imports, every CRT that keeps a heap of its own is a candidate,
		// the main module (a static CRT) first.
		c.Candidates = append(c.Candidates, main)
		for _, m := range versionedMods {
			if m != main {
				c.Candidates = append(c.Candidates, m)
				c.CodeCandidates = append(c.CodeCandidates, m)
			}
		}
		return c
	}
	dll, fn := MallocImport(imps)
	c.DLL, c.Function, c.ImportsFrom = dll, fn, src
	where := "its image in dump memory"
	if src != "dump memory" {
		where = src
	}
	module := func(name string) *Module {
		for _, m := range p.Modules() {
			if strings.EqualFold(m.FileName, name) {
				return m
			}
		}
		return nil
	}
	c.Kind = CRTKindOf(dll)
	switch c.Kind {
	case CRTUniversal:
		try(MethodImports, true, "%s imports %s from %s (read from %s)", main.FileName, fn, dll, where)
		c.How = fmt.Sprintf("UCRT rule: %s imports %s from %s (the Universal CRT), which allocates from the process heap", main.FileName, fn, dll)
		return c
	case CRTVersioned, CRTSystem:
		try(MethodImports, true, "%s imports %s from %s (read from %s), a CRT with a heap of its own", main.FileName, fn, dll, where)
		if m := module(dll); m != nil {
			c.Candidates = append(c.Candidates, m)
			c.CodeCandidates = append(c.CodeCandidates, m)
		} else {
			try(MethodImports, false, "%s is not in the module list", dll)
		}
	case CRTUnknown: // no import of malloc at all
		c.Kind = CRTStatic
		try(MethodImports, true, "%s imports no malloc (read from %s): its C runtime is linked in statically, or it has its own malloc", main.FileName, where)
		c.Candidates = append(c.Candidates, main)
		c.CodeCandidates = append(c.CodeCandidates, main)
	default:
		try(MethodImports, true, "%s imports %s from %s (read from %s), which is not a Microsoft C runtime: its heap, if any, is found only through symbols", main.FileName, fn, dll, where)
		if m := module(dll); m != nil {
			c.Candidates = append(c.Candidates, m)
			c.CodeCandidates = append(c.CodeCandidates, m)
		}
	}
	if listSaysUCRT {
		try(MethodUCRT, false, "withdrawn: the main module's malloc does not come from ucrtbase.dll, whatever else loaded it")
	}
	return c
}
