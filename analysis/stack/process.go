package stack

import (
	"context"
	"sort"
	"sync"

	"github.com/dumpmap/dumpmap/analysis/breakpad"
	"github.com/dumpmap/dumpmap/analysis/pdb"
	"github.com/dumpmap/dumpmap/analysis/pe"
	"github.com/dumpmap/dumpmap/analysis/process"
)

// ForProcess prepares to walk the threads of process p. The streams come from p,
// which decodes each once; the modules' symbols and images come from the symbol
// and image paths p was built with: PDBs (procedures, lines, FPO and FrameData),
// Breakpad symbol files (functions, lines, STACK CFI and STACK WIN), the export
// tables of the images, and image files for the unwind data and code the dump did
// not capture. Hooks already set in opts are kept. ctx bounds the symbol lookups.
func ForProcess(ctx context.Context, p *process.Process, opts Options) (*Dump, error) {
	si, err := p.SystemInfo()
	if si == nil {
		return nil, err
	}
	threads, _ := p.Threads()
	exc, _ := p.Exception()
	ps := newProcessSymbols(ctx, p)
	if opts.Symbolizer == nil {
		opts.Symbolizer = ps
	}
	if opts.CFI == nil {
		opts.CFI = &BreakpadSymbols{File: ps.breakpad}
	}
	if opts.FrameData == nil {
		opts.FrameData = ps
	}
	if opts.Images == nil {
		opts.Images = ps
	}
	return NewDumpFromParts(p.File(), DumpParts{SystemInfo: si, Modules: p.ModuleList(), Memory: p.Memory(), Threads: threads, Exception: exc}, opts)
}

// processSymbols serves the walker's hooks from a process's modules: each module's
// PDB, then its Breakpad symbol file, then the COFF symbol table of its image file
// (MinGW and Wine builtin images), then its exports name code; its PDB, then its
// symbol file describe x86 frames; its image file (image path or symbol store)
// gives what the dump lacks.
type processSymbols struct {
	ctx    context.Context
	byBase map[uint64]*process.Module

	mu      sync.Mutex
	exports map[uint64][]export // module base -> exports sorted by RVA (nil: none)
	coff    map[uint64][]pe.COFFFunction
}

type export struct {
	rva  uint32
	name string
}

func newProcessSymbols(ctx context.Context, p *process.Process) *processSymbols {
	ps := &processSymbols{ctx: ctx, byBase: map[uint64]*process.Module{}, exports: map[uint64][]export{}, coff: map[uint64][]pe.COFFFunction{}}
	for _, m := range p.Modules() {
		if _, dup := ps.byBase[m.Base]; !dup {
			ps.byBase[m.Base] = m
		}
	}
	return ps
}

func (ps *processSymbols) module(m *Module) *process.Module { return ps.byBase[m.Base] }

func (ps *processSymbols) pdb(m *Module) *pdb.File {
	pm := ps.module(m)
	if pm == nil {
		return nil
	}
	f, _ := pm.PDB(ps.ctx)
	return f
}

func (ps *processSymbols) breakpad(m *Module) *breakpad.File {
	pm := ps.module(m)
	if pm == nil {
		return nil
	}
	f, _ := pm.Symbols(ps.ctx)
	return f
}

// Symbolize implements Symbolizer: PDB, Breakpad symbols, COFF symbols, exports.
func (ps *processSymbols) Symbolize(m *Module, off uint64) (Symbol, bool) {
	if s, ok := (&PDBSymbols{File: ps.pdb}).Symbolize(m, off); ok {
		return s, true
	}
	if s, ok := (&BreakpadSymbols{File: ps.breakpad}).Symbolize(m, off); ok {
		return s, true
	}
	if s, ok := ps.coffAt(m, off); ok {
		return s, true
	}
	return ps.exportAt(m, off)
}

// coffAt names code by the image file's COFF symbol table: the function at or
// below off, when off lies before the next function. Only an image file on
// the image path or in a symbol store has the table (the loader does not map
// it), so a module without one is looked up once and remembered as none.
func (ps *processSymbols) coffAt(m *Module, off uint64) (Symbol, bool) {
	pm := ps.module(m)
	if pm == nil || off > 0xffffffff {
		return Symbol{}, false
	}
	ps.mu.Lock()
	fns, done := ps.coff[m.Base]
	ps.mu.Unlock()
	if !done {
		if img, err := pm.DiskImage(); err == nil && img != nil {
			fns, _ = img.COFFFunctions()
		}
		ps.mu.Lock()
		ps.coff[m.Base] = fns
		ps.mu.Unlock()
	}
	i := sort.Search(len(fns), func(i int) bool { return uint64(fns[i].RVA) > off }) - 1
	if i < 0 {
		return Symbol{}, false
	}
	s := Symbol{Function: fns[i].Name, Start: uint64(fns[i].RVA)}
	if i+1 < len(fns) {
		s.Size = uint64(fns[i+1].RVA - fns[i].RVA)
	} else if s.Start != off {
		// Past the last function there is no telling where it ends.
		return Symbol{}, false
	}
	return s, true
}

// FrameInfo implements FrameDataSource: the PDB's FPO and FrameData, then the
// symbol file's STACK WIN records.
func (ps *processSymbols) FrameInfo(m *Module, off uint64) (*FrameInfo, bool) {
	if fi, ok := (&PDBSymbols{File: ps.pdb}).FrameInfo(m, off); ok {
		return fi, true
	}
	return (&BreakpadSymbols{File: ps.breakpad}).FrameInfo(m, off)
}

// Image implements ImageProvider with the module's image file.
func (ps *processSymbols) Image(m *Module) (*pe.File, error) {
	pm := ps.module(m)
	if pm == nil {
		return nil, process.ErrNoImagePath
	}
	return pm.DiskImage()
}

// maxExports bounds the exports kept per module (a real DLL has a few thousand).
const maxExports = 1 << 16

// exportAt names code by the closest export at or below it, as WinDbg does for
// modules without symbols (module!Export+0x..). The exports come from the image
// in dump memory or the image file; forwarders have no code and are skipped.
func (ps *processSymbols) exportAt(m *Module, off uint64) (Symbol, bool) {
	pm := ps.module(m)
	if pm == nil || off > 0xffffffff {
		return Symbol{}, false
	}
	ps.mu.Lock()
	exps, done := ps.exports[m.Base]
	ps.mu.Unlock()
	if !done {
		var d *pe.ExportDirectory
		pm.Image(func(img *pe.File) error {
			var err error
			d, err = img.Exports()
			return err
		})
		if d != nil {
			for _, e := range d.Exports {
				if e.Name != "" && e.Forwarder == "" && len(exps) < maxExports {
					exps = append(exps, export{e.RVA, e.Name})
				}
			}
			sort.Slice(exps, func(i, j int) bool { return exps[i].rva < exps[j].rva })
		}
		ps.mu.Lock()
		ps.exports[m.Base] = exps
		ps.mu.Unlock()
	}
	i := sort.Search(len(exps), func(i int) bool { return uint64(exps[i].rva) > off }) - 1
	if i < 0 {
		return Symbol{}, false
	}
	return Symbol{Function: exps[i].name, Start: uint64(exps[i].rva)}, true
}

// Crashed is the crashing thread of a process, walked once (Crash).
type Crashed struct {
	// Thread is the walk from the exception's context; nil when it could not
	// start (Err says why). A walk that stopped early keeps its frames and
	// sets Err.
	Thread *Thread
	Err    error
	// Walker is the walker that made it, which can go on to recover the
	// frames' arguments (Walker.Argument); nil when none could be made.
	Walker *Walker
}

// maxCrashFrames bounds the crashing thread's walk that analyses share: the
// failed request is found in the top frames and reports show a few dozen.
const maxCrashFrames = 256

type crashKey struct{}

// Crash walks the crashing thread of process p (the exception's thread, from
// its context) with ForProcess's symbols and images, once per process: info,
// report, triage and the crash analysis all read the same frames, which
// callers must not modify. A dump without an exception has no crashing
// thread (Err is ErrNoThread).
func Crash(ctx context.Context, p *process.Process) *Crashed {
	return p.Memo(crashKey{}, func() any {
		c := &Crashed{}
		d, err := ForProcess(ctx, p, Options{MaxFrames: maxCrashFrames})
		if err != nil {
			c.Err = err
			return c
		}
		c.Walker = d.Walker
		if _, ok := d.CrashedThread(); !ok {
			c.Err = ErrNoThread
			return c
		}
		t, err := d.WalkCrashed()
		c.Err = err
		if len(t.Frames) > 0 {
			c.Thread = &t
		}
		return c
	}).(*Crashed)
}
