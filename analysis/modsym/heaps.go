package modsym

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/dumpmap/dumpmap/analysis/pe"
	"github.com/dumpmap/dumpmap/analysis/process"
)

// HeapCheck says whether handle h, read from a global of a module with ptr-byte
// pointers, is plausibly a heap, and what was checked or what failed. The region
// map provides it: the handle must lie in committed private memory and carry a
// heap signature when its header was captured.
type HeapCheck func(h uint64, ptr int) (string, bool)

// CRTHeap is the C runtime's own heap as symbols and code identify it.
type CRTHeap struct {
	// Handle is the heap's address; 0 when no method found it.
	Handle uint64
	// How says how it was found, in the words heaps list as "found by"
	// ("PDB: crtheap.exe!_crtheap at 0x14000b170").
	How    string
	Method process.Method
	// Attempts records each try, in order, with what it found or why it failed.
	Attempts []process.Attempt
}

// IdentifyCRTHeap finds the heap of a C runtime that keeps one of its own
// (crt.Kind.OwnHeap(), or unknown with candidates), trying in order and stopping
// at the first that works:
//
//  1. the globals _crtheap and __acrt_heap in the PDBs of crt.Candidates (the
//     main module for a static CRT, the CRT DLL otherwise), their value read from
//     dump memory;
//  2. the code of the exported _get_heap_handle of crt.CodeCandidates, which
//     loads the global it returns, from dump memory or the image on disk.
//
// Every handle found must pass check. The Universal CRT allocates from the
// process heap, which the caller knows: IdentifyCRTHeap leaves it alone.
func IdentifyCRTHeap(ctx context.Context, p *process.Process, crt process.CRT, check HeapCheck) CRTHeap {
	var res CRTHeap
	tried := func(m process.Method, ok bool, format string, args ...any) {
		res.Attempts = append(res.Attempts, process.Attempt{Method: m, OK: ok, Detail: fmt.Sprintf(format, args...)})
	}
	if !p.Windows() || crt.Kind == process.CRTUniversal {
		return res
	}
	if main, _ := p.Main(); main == nil {
		return res
	}

	// 1. The heap globals in the PDBs.
	for _, mod := range crt.Candidates {
		if err := ctx.Err(); err != nil {
			tried(process.MethodPDB, false, "stopped: %v", err)
			return res
		}
		pd, err := mod.PDB(ctx)
		if err != nil {
			tried(process.MethodPDB, false, "%s: no PDB: %v%s", mod.FileName, err, triedSuffix(mod.PDBTried()))
			continue
		}
		var found bool
		for _, g := range crtHeapGlobals {
			sym, ok, _ := LookupData(pd, g)
			if !ok {
				continue
			}
			found = true
			addr := mod.Base + uint64(sym.RVA)
			name := fmt.Sprintf("%s!%s", mod.FileName, g)
			h, why, ok := readHandle(p, check, addr, mod.PointerSize())
			if !ok {
				tried(process.MethodPDB, false, "%s at %#x: %s", name, addr, why)
				continue
			}
			res.Handle, res.Method, res.How = h, process.MethodPDB, fmt.Sprintf("PDB: %s at %#x", name, addr)
			tried(process.MethodPDB, true, "%s at %#x holds %#x, %s: the CRT heap", name, addr, h, why)
			return res
		}
		if !found {
			tried(process.MethodPDB, false, "%s: its PDB has none of %s", mod.FileName, strings.Join(crtHeapGlobals, ", "))
		}
	}
	if len(crt.Candidates) == 0 {
		tried(process.MethodPDB, false, "no module to look in (no CRT with a heap of its own)")
	}

	// 2. The code of _get_heap_handle.
	for _, mod := range crt.CodeCandidates {
		h, how, why, ok := decodeHeapHandle(p, check, mod)
		if !ok {
			tried(process.MethodGetHandle, false, "%s: %s", mod.FileName, why)
			continue
		}
		res.Handle, res.Method, res.How = h, process.MethodGetHandle, how
		tried(process.MethodGetHandle, true, "%s: %s", mod.FileName, why)
		return res
	}
	if len(crt.CodeCandidates) == 0 {
		tried(process.MethodGetHandle, false, "no CRT DLL to decode (msvcr80-msvcr120 or msvcrt.dll serving malloc)")
	}
	return res
}

// The CRT's heap globals, as C names them: the old CRT's and the UCRT's.
var crtHeapGlobals = []string{"_crtheap", "__acrt_heap", "_acrt_heap"}

// decodeHeapHandle finds the module's exported _get_heap_handle, decodes its
// code and reads the global it returns.
func decodeHeapHandle(p *process.Process, check HeapCheck, mod *process.Module) (h uint64, how, why string, ok bool) {
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
	if mem := p.Memory(); mem != nil {
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
	h, verdict, ok := readHandle(p, check, code.Global, mod.PointerSize())
	if !ok {
		return 0, "", fn + ": " + verdict, false
	}
	how = fmt.Sprintf("_get_heap_handle: %s!_get_heap_handle returns the global at %#x", mod.FileName, code.Global)
	return h, how, fmt.Sprintf("%s, which holds %#x, %s: the CRT heap", fn, h, verdict), true
}

// readHandle reads a heap handle from the global at addr and checks it.
func readHandle(p *process.Process, check HeapCheck, addr uint64, ptr int) (uint64, string, bool) {
	mem := p.Memory()
	if mem == nil {
		return 0, "not captured (the dump has no memory)", false
	}
	h, err := mem.ReadPointer(addr, ptr)
	if err != nil {
		return 0, "not captured in the dump (the module's data needs MiniDumpWithDataSegs or full memory)", false
	}
	if h == 0 {
		return 0, "holds 0: the heap was not created yet", false
	}
	why, ok := check(h, ptr)
	if !ok {
		return 0, fmt.Sprintf("holds %#x, which is not a heap: %s", h, why), false
	}
	return h, why, true
}

// triedSuffix formats a lookup's trail for a one-line message.
func triedSuffix(tried []string) string {
	if len(tried) == 0 {
		return ""
	}
	return " (tried " + strings.Join(tried, "; ") + ")"
}
