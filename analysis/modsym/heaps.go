package modsym

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"regexp"
	"strings"

	"github.com/dumpmap/dumpmap/analysis"
	"github.com/dumpmap/dumpmap/analysis/pe"
	"github.com/dumpmap/dumpmap/minidump"
)

// IdentifyHeaps finds the heaps of the process in f: those of the PEB (see
// analysis.Map.FindHeaps, which also lays their segments over m) and the C
// runtime's heap, by the methods of Resolver.IdentifyCRTHeap. It is what the
// heaps, explain and report commands call with their --symbol-path and
// --image-path.
func IdentifyHeaps(ctx context.Context, f *minidump.File, m *analysis.Map, opts Options) *analysis.HeapSet {
	r := New(f, opts)
	defer r.Close()
	return r.IdentifyHeaps(ctx, m)
}

// IdentifyHeaps is the package function IdentifyHeaps on a resolver that
// may serve other lookups too.
func (r *Resolver) IdentifyHeaps(ctx context.Context, m *analysis.Map) *analysis.HeapSet {
	hs := m.FindHeaps(r.f)
	r.IdentifyCRTHeap(ctx, m, hs)
	r.readHeapFlags(m, hs)
	return hs
}

// Names of the methods, as they start the lines of HeapSet.Tried and the
// FoundBy of the heap they find.
const (
	MethodImports   = "imports"
	MethodUCRT      = "UCRT rule"
	MethodPDB       = "PDB"
	MethodGetHandle = "_get_heap_handle"
)

// The CRT's heap globals, as C names them: the old CRT's and the UCRT's.
var crtHeapGlobals = []string{"_crtheap", "__acrt_heap", "_acrt_heap"}

// crtFlavour classifies a DLL name as a C runtime.
type crtFlavour int

const (
	notCRT crtFlavour = iota
	ucrt              // ucrtbase.dll and the api-ms-win-crt-* API sets: the process heap
	oldCRT            // msvcr70-msvcr120 (and debug builds): a heap of their own
	msvcrt            // Windows' msvcrt.dll (also mingw's and Wine's CRT): a heap of its own
)

var oldCRTName = regexp.MustCompile(`^msvcr[0-9]+d?(_clr[0-9]+)?\.dll$`)

func crtOf(dll string) crtFlavour {
	n := strings.ToLower(dll)
	switch {
	case n == "ucrtbase.dll" || n == "ucrtbased.dll" || strings.HasPrefix(n, "api-ms-win-crt-"):
		return ucrt
	case n == "msvcrt.dll" || n == "msvcrtd.dll":
		return msvcrt
	case oldCRTName.MatchString(n):
		return oldCRT
	}
	return notCRT
}

// mallocNames are the imports that say which DLL serves malloc, in order of
// preference: malloc itself, then its siblings and operator new (x86, x64).
var mallocNames = []string{"malloc", "calloc", "realloc", "_malloc_dbg", "??2@YAPAXI@Z", "??2@YAPEAX_K@Z"}

// mallocImport returns the DLL the image imports malloc (or a sibling) from,
// and the function's name; "" when it imports none of them.
func mallocImport(imps []pe.Import) (dll, fn string) {
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

// IdentifyCRTHeap identifies the C runtime's heap and records it in hs with
// Map.SetCRTHeap, trying in order and stopping at the first that works:
//
//  1. the UCRT rule (ucrtbase.dll allocates from the process heap), which
//     FindHeaps applied from the module list, confirmed or withdrawn by the
//     main module's import table (which DLL serves its malloc, if any);
//  2. the globals _crtheap and __acrt_heap in the PDBs of the main module and
//     of the CRT DLL, their value read from dump memory;
//  3. the code of the CRT DLL's exported _get_heap_handle, which loads the
//     global it returns, from dump memory or the image on disk.
//
// Every handle found is checked to be a plausible heap (committed private
// memory, a heap signature when its header was captured). Each attempt is
// recorded in hs.Tried with what it found or why it failed.
func (r *Resolver) IdentifyCRTHeap(ctx context.Context, m *analysis.Map, hs *analysis.HeapSet) {
	tried := func(method, format string, args ...any) {
		hs.Tried = append(hs.Tried, method+": "+fmt.Sprintf(format, args...))
	}
	if !m.Space.Windows {
		return // FindHeaps said so
	}
	main := r.Main()
	if main == nil {
		tried(MethodImports, "the dump has no module list")
		return
	}

	// 1. Which DLL serves the main module's malloc?
	var imps []pe.Import
	src, err := main.Image(func(img *pe.File) error {
		var err error
		imps, err = img.Imports()
		return err
	})
	// pdbTargets and codeTargets are the modules whose PDB globals and
	// _get_heap_handle code are examined in steps 2 and 3.
	var pdbTargets, codeTargets []*Module
	crtModule := func(dll string) *Module {
		for _, mod := range r.mods {
			if strings.EqualFold(mod.FileName, dll) {
				return mod
			}
		}
		return nil
	}
	if err != nil {
		tried(MethodImports, "the import table of %s is not readable (%v)", main.FileName, err)
		if hs.CRTHow != "" {
			tried(MethodUCRT, "applied from the module list alone (ucrtbase.dll is loaded and no older CRT DLL is); the main module's imports could confirm it")
			return
		}
		// Without imports, every CRT that keeps a heap of its own is a
		// candidate, the main module (a static CRT) first.
		pdbTargets = append(pdbTargets, main)
		for _, mod := range r.mods[1:] {
			if crtOf(mod.FileName) == oldCRT {
				pdbTargets = append(pdbTargets, mod)
				codeTargets = append(codeTargets, mod)
			}
		}
	} else {
		dll, fn := mallocImport(imps)
		where := "its image in dump memory"
		if src != "dump memory" {
			where = src
		}
		switch crtOf(dll) {
		case ucrt:
			how := fmt.Sprintf("UCRT rule: %s imports %s from %s (the Universal CRT), which allocates from the process heap", main.FileName, fn, dll)
			tried(MethodImports, "%s imports %s from %s (read from %s)", main.FileName, fn, dll, where)
			if hs.Process == 0 {
				tried(MethodUCRT, "applies, but the process heap's address is unknown (the PEB is not captured)")
				hs.CRT, hs.CRTHow = 0, how
				return
			}
			withdrawUCRT(hs)
			m.SetCRTHeap(hs, hs.Process, how)
			tried(MethodUCRT, "the CRT heap is the process heap %#x", hs.Process)
			return
		case oldCRT, msvcrt:
			tried(MethodImports, "%s imports %s from %s (read from %s), a CRT with a heap of its own", main.FileName, fn, dll, where)
			if mod := crtModule(dll); mod != nil {
				pdbTargets = append(pdbTargets, mod)
				codeTargets = append(codeTargets, mod)
			} else {
				tried(MethodImports, "%s is not in the module list", dll)
			}
		case notCRT:
			if dll == "" {
				tried(MethodImports, "%s imports no malloc (read from %s): its C runtime is linked in statically, or it has its own malloc", main.FileName, where)
				pdbTargets = append(pdbTargets, main)
				codeTargets = append(codeTargets, main)
			} else {
				tried(MethodImports, "%s imports %s from %s (read from %s), which is not a Microsoft C runtime: its heap, if any, is found only through symbols", main.FileName, fn, dll, where)
				if mod := crtModule(dll); mod != nil {
					pdbTargets = append(pdbTargets, mod)
					codeTargets = append(codeTargets, mod)
				}
			}
		}
		if hs.CRTHow != "" {
			withdrawUCRT(hs)
			tried(MethodUCRT, "withdrawn: the main module's malloc does not come from ucrtbase.dll, whatever else loaded it")
		}
	}

	// 2. The heap globals in the PDBs.
	for _, mod := range pdbTargets {
		if err := ctx.Err(); err != nil {
			tried(MethodPDB, "stopped: %v", err)
			return
		}
		p, err := mod.PDB(ctx)
		if err != nil {
			tried(MethodPDB, "%s: no PDB: %v%s", mod.FileName, err, triedSuffix(mod.pdbTriedCopy()))
			continue
		}
		var found bool
		for _, g := range crtHeapGlobals {
			sym, ok, _ := LookupData(p, g)
			if !ok {
				continue
			}
			found = true
			addr := mod.Base + uint64(sym.RVA)
			name := fmt.Sprintf("%s!%s", mod.FileName, g)
			h, why, ok := r.readHandle(m, addr, mod.PointerSize())
			if !ok {
				tried(MethodPDB, "%s at %#x: %s", name, addr, why)
				continue
			}
			how := fmt.Sprintf("PDB: %s at %#x", name, addr)
			m.SetCRTHeap(hs, h, how)
			tried(MethodPDB, "%s at %#x holds %#x, %s: the CRT heap", name, addr, h, why)
			return
		}
		if !found {
			tried(MethodPDB, "%s: its PDB has none of %s", mod.FileName, strings.Join(crtHeapGlobals, ", "))
		}
	}
	if len(pdbTargets) == 0 {
		tried(MethodPDB, "no module to look in (no CRT with a heap of its own)")
	}

	// 3. The code of _get_heap_handle.
	for _, mod := range codeTargets {
		h, how, why, ok := r.decodeHeapHandle(m, mod)
		if !ok {
			tried(MethodGetHandle, "%s: %s", mod.FileName, why)
			continue
		}
		m.SetCRTHeap(hs, h, how)
		tried(MethodGetHandle, "%s: %s", mod.FileName, why)
		return
	}
	if len(codeTargets) == 0 {
		tried(MethodGetHandle, "no CRT DLL to decode (msvcr80-msvcr120 or msvcrt.dll serving malloc)")
	}
}

// withdrawUCRT undoes the UCRT rule FindHeaps applied from the module list.
func withdrawUCRT(hs *analysis.HeapSet) {
	if h := hs.Get(hs.CRT); h != nil {
		kept := h.FoundBy[:0]
		for _, f := range h.FoundBy {
			if !strings.HasPrefix(f, "UCRT") {
				kept = append(kept, f)
			}
		}
		h.FoundBy = kept
		h.CRTHeap = false
	}
	hs.CRT, hs.CRTHow = 0, ""
}

// decodeHeapHandle finds the module's exported _get_heap_handle, decodes its
// code and reads the global it returns.
func (r *Resolver) decodeHeapHandle(m *analysis.Map, mod *Module) (h uint64, how, why string, ok bool) {
	var rva uint32
	var haveExports bool
	_, err := mod.Image(func(img *pe.File) error {
		d, err := img.Exports()
		if err != nil {
			return err
		}
		haveExports = true
		if d != nil {
			for _, e := range d.Exports {
				if e.Name == "_get_heap_handle" && e.Forwarder == "" {
					rva = e.RVA
					return nil
				}
			}
		}
		return errors.New("no export named _get_heap_handle")
	})
	if rva == 0 {
		if haveExports {
			return 0, "", "does not export _get_heap_handle", false
		}
		return 0, "", fmt.Sprintf("no export table (%v)", err), false
	}
	is64 := !mod.Is32()
	// The code from dump memory, else from the image file (where absolute
	// addresses are relative to the file's ImageBase).
	var code GetHeapHandleCode
	var from string
	var errs []string
	if mem := r.mem; mem != nil {
		read := func(p []byte, va uint64) error {
			_, err := mem.ReadAt(p, va)
			return err
		}
		if code, err = DecodeGetHeapHandle(read, mod.Base+uint64(rva), is64); err == nil {
			from = "dump memory"
		} else {
			errs = append(errs, "in dump memory: "+err.Error())
		}
	}
	if from == "" {
		if img, derr := mod.DiskImage(); derr == nil {
			ib := img.ImageBase
			read := func(p []byte, va uint64) error {
				if va < ib || va-ib > 0xFFFFFFFF {
					return fmt.Errorf("%#x is outside the image", va)
				}
				return img.ReadRVA(p, uint32(va-ib))
			}
			if code, err = DecodeGetHeapHandle(read, ib+uint64(rva), is64); err == nil {
				from = mod.DiskImagePath()
				code.Global = code.Global - ib + mod.Base
			} else {
				errs = append(errs, mod.DiskImagePath()+": "+err.Error())
			}
		} else {
			errs = append(errs, "image file: "+derr.Error())
		}
	}
	if from == "" {
		return 0, "", "_get_heap_handle at " + fmt.Sprintf("%#x", mod.Base+uint64(rva)) + ": " + strings.Join(errs, "; "), false
	}
	if code.Global < mod.Base || code.Global >= mod.End() {
		return 0, "", fmt.Sprintf("_get_heap_handle at %#x (code from %s) loads %#x, outside the module", mod.Base+uint64(rva), from, code.Global), false
	}
	fn := fmt.Sprintf("_get_heap_handle at %#x (code from %s) returns the global at %#x", mod.Base+uint64(rva), from, code.Global)
	h, verdict, ok := r.readHandle(m, code.Global, mod.PointerSize())
	if !ok {
		return 0, "", fn + ": " + verdict, false
	}
	how = fmt.Sprintf("_get_heap_handle: %s!_get_heap_handle returns the global at %#x", mod.FileName, code.Global)
	return h, how, fmt.Sprintf("%s, which holds %#x, %s: the CRT heap", fn, h, verdict), true
}

// readHandle reads a heap handle from the global at addr and checks it.
func (r *Resolver) readHandle(m *analysis.Map, addr uint64, ptr int) (uint64, string, bool) {
	if r.mem == nil {
		return 0, "not captured (the dump has no memory)", false
	}
	h, err := r.mem.ReadPointer(addr, ptr)
	if err != nil {
		return 0, "not captured in the dump (the module's data needs MiniDumpWithDataSegs or full memory)", false
	}
	if h == 0 {
		return 0, "holds 0: the heap was not created yet", false
	}
	why, ok := r.CheckHeap(m, h, ptr)
	if !ok {
		return 0, fmt.Sprintf("holds %#x, which is not a heap: %s", h, why), false
	}
	return h, why, true
}

// Heap signatures (docs/windows-memory.md): an NT heap starts with its first
// segment, whose SegmentSignature follows the segment's _HEAP_ENTRY (8 bytes on
// x86, 16 on x64); a segment heap has its own signature at the same offset.
const (
	sigNTSegment   = 0xFFEEFFEE
	sigSegmentHeap = 0xDDEEDDEE
	heapGrowable   = 0x2 // HEAP_GROWABLE in _HEAP.Flags
)

// CheckHeap says whether handle h is plausibly a heap: it must lie in committed
// private memory (when the region map knows), and when the dump captured its
// header, carry the NT heap segment signature 0xFFEEFFEE or the segment heap
// signature 0xDDEEDDEE after its first ptr*2 bytes. The string says what was
// checked, or what failed.
func (r *Resolver) CheckHeap(m *analysis.Map, h uint64, ptr int) (string, bool) {
	var checked []string
	if reg := m.Region(h); reg != nil && reg.State != 0 {
		switch {
		case reg.IsFree() || reg.State == minidump.MemFree:
			return fmt.Sprintf("the region at %#x is free", reg.Base), false
		case reg.State != minidump.MemCommit:
			return fmt.Sprintf("the region at %#x is reserved, not committed memory", reg.Base), false
		case reg.Type == minidump.MemImage:
			return fmt.Sprintf("the region at %#x is image memory, not private", reg.Base), false
		case reg.Type == minidump.MemMapped:
			return fmt.Sprintf("the region at %#x is mapped memory, not private", reg.Base), false
		case reg.Usage == analysis.UsageStack || reg.Usage == analysis.UsageTEB || reg.Usage == analysis.UsagePEB:
			return fmt.Sprintf("it lies in a %s", reg.Usage), false
		}
		if reg.Type == minidump.MemPrivate {
			checked = append(checked, "committed private memory")
		} else {
			checked = append(checked, "committed memory")
		}
	} else if h >= m.Space.End && m.Space.End != 0 {
		return fmt.Sprintf("%#x is above the user address space", h), false
	}
	off := uint64(2 * ptr)
	if r.mem != nil {
		if sig, err := r.mem.ReadUint32(h + off); err == nil {
			switch sig {
			case sigNTSegment:
				checked = append(checked, fmt.Sprintf("with an NT heap's segment signature %#x at +%#x", sig, off))
			case sigSegmentHeap:
				checked = append(checked, fmt.Sprintf("with a segment heap's signature %#x at +%#x", sig, off))
			default:
				return fmt.Sprintf("no heap signature at %#x+%#x (%#x; an NT heap has %#x, a segment heap %#x)", h, off, sig, uint32(sigNTSegment), uint32(sigSegmentHeap)), false
			}
		} else {
			checked = append(checked, "header not captured, signature not checked")
		}
	}
	if len(checked) == 0 {
		return "not verified: the dump has neither the region nor the heap's header", true
	}
	return strings.Join(checked, ", "), true
}

// readHeapFlags fills Heap.Growable from the heap header's Flags (at 0x40 on
// x86, 0x70 on x64, after checking the segment signature) for the heaps whose
// header was captured.
func (r *Resolver) readHeapFlags(m *analysis.Map, hs *analysis.HeapSet) {
	if r.mem == nil {
		return
	}
	ptr := m.Space.PointerSize
	sigOff, flagsOff := uint64(8), uint64(0x40)
	if ptr == 8 {
		sigOff, flagsOff = 0x10, 0x70
	}
	for i := range hs.Heaps {
		h := &hs.Heaps[i]
		if h.Growable != nil {
			continue
		}
		if sig, err := r.mem.ReadUint32(h.Handle + sigOff); err != nil || sig != sigNTSegment {
			continue
		}
		var b [4]byte
		if _, err := r.mem.ReadAt(b[:], h.Handle+flagsOff); err != nil {
			continue
		}
		flags := binary.LittleEndian.Uint32(b[:])
		g := flags&heapGrowable != 0
		h.Growable = &g
		h.Notes = append(h.Notes, fmt.Sprintf("Flags %#x in the heap's header: %s", flags, map[bool]string{true: "HEAP_GROWABLE", false: "not growable (created with a maximum size)"}[g]))
	}
}

// triedSuffix formats a lookup's trail for a one-line message.
func triedSuffix(tried []string) string {
	if len(tried) == 0 {
		return ""
	}
	return " (tried " + strings.Join(tried, "; ") + ")"
}
