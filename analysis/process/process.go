package process

import (
	"errors"
	"sync"

	"github.com/dumpmap/dumpmap/analysis/symstore"
	"github.com/dumpmap/dumpmap/minidump"
)

// Options say where a Process finds what the dump does not hold: PDBs along a
// symbol path and module images along an image path. The zero value finds
// neither: only what the dump itself holds (images mapped in its memory) is used.
type Options struct {
	// SymbolPath is searched for PDBs (and, in symbol-store layout, for images);
	// nil means none. HTTP servers are contacted only when it names one.
	SymbolPath symstore.SymbolPath
	// Store tunes the symbol store: the cache folder, the HTTP client, timeouts
	// and size caps.
	Store symstore.Options
	// ImagePath lists folders searched for module images (EXE and DLL files) the
	// dump did not capture: each folder flat, then in symbol-store layout
	// (name/TIMESTAMPSIZE/name).
	ImagePath []string
}

// Process is a dumped process as dumpmap analyses it. Build it with New.
type Process struct {
	f     *minidump.File
	opts  Options
	store *symstore.Store

	damageMu sync.Mutex
	damage   []error
	seen     map[string]bool

	sys      once[*minidump.SystemInfo]
	smi      once[*minidump.SystemMemoryInfo]
	misc     once[*minidump.MiscInfo]
	vm       once[*minidump.ProcessVMCounters]
	exc      once[*minidump.Exception]
	mem      once[*minidump.Memory]
	memList  once[[]minidump.MemoryRange]
	mem64    once[[]minidump.MemoryRange]
	unloaded once[[]minidump.UnloadedModule]
	threads  once[[]minidump.Thread]
	names    once[[]minidump.ThreadName]
	infos    once[[]minidump.ThreadInfo]
	handles  once[[]minidump.Handle]
	crashpad once[*minidump.CrashpadInfo]
	breakpad once[*minidump.BreakpadInfo]

	modsOnce sync.Once
	mods     []*Module
	// open lists the modules holding a file (a PDB, a disk image) for Close: a
	// dump of thousands of modules opens a few, and visiting all of them to close
	// nothing costed a noticeable part of a summary.
	openMu  sync.Mutex
	open    []*Module
	modList []minidump.Module
	index   *ModuleIndex
	modErr  error

	factsOnce sync.Once
	wow64     WOW64
	main      int
	mainHow   string

	laaOnce sync.Once
	laa     Tri
	laaWhy  error

	crtOnce sync.Once
	crt     CRT

	dirMu sync.Mutex
	dirs  map[string][]string // image folder listings, for case-insensitive names

	memoMu sync.Mutex
	memo   map[any]*memoEntry
}

type memoEntry struct {
	once sync.Once
	v    any
}

// Memo returns the value build makes for key, building it on the first call
// only: the analyses of other packages (the crash's explanation, the stacks)
// keep what they derive from the process here, so that everything reading the
// process sees one result, computed once. key should be a value of an
// unexported type of the calling package, as with context.Context keys.
// Concurrent calls for one key wait for the first build.
func (p *Process) Memo(key any, build func() any) any {
	p.memoMu.Lock()
	if p.memo == nil {
		p.memo = map[any]*memoEntry{}
	}
	e := p.memo[key]
	if e == nil {
		e = &memoEntry{}
		p.memo[key] = e
	}
	p.memoMu.Unlock()
	e.once.Do(func() { e.v = build() })
	return e.v
}

// New returns the Process of the dump in f. It reads nothing yet: every stream is
// decoded on first use. Close releases the PDBs and image files it opens.
func New(f *minidump.File, opts Options) *Process {
	p := &Process{f: f, opts: opts, dirs: map[string][]string{}}
	if len(opts.SymbolPath) > 0 {
		p.store = symstore.New(opts.SymbolPath, opts.Store)
	}
	for _, w := range f.Warnings {
		p.addDamage(w)
	}
	return p
}

// File returns the dump the process was read from.
func (p *Process) File() *minidump.File { return p.f }

// Options returns the options the process was built with.
func (p *Process) Options() Options { return p.opts }

// Close closes the PDBs and image files the process opened.
func (p *Process) Close() error {
	p.openMu.Lock()
	open := p.open
	p.open = nil
	p.openMu.Unlock()
	var errs []error
	for _, m := range open {
		errs = append(errs, m.close())
	}
	return errors.Join(errs...)
}

// opened records that m holds a file Close must close (once per module and file).
func (p *Process) opened(m *Module) {
	p.openMu.Lock()
	p.open = append(p.open, m)
	p.openMu.Unlock()
}

// once decodes a stream the first time it is asked for and keeps the value and
// the error.
type once[T any] struct {
	o   sync.Once
	v   T
	err error
}

func (o *once[T]) get(p *Process, decode func() (T, error)) (T, error) {
	o.o.Do(func() {
		o.v, o.err = decode()
		p.addDamage(o.err)
	})
	return o.v, o.err
}

// addDamage records err unless it only says a stream is absent, splitting errors
// joined by errors.Join and dropping repeats.
func (p *Process) addDamage(err error) {
	if err == nil {
		return
	}
	p.damageMu.Lock()
	defer p.damageMu.Unlock()
	for _, e := range Flatten(err) {
		if errors.Is(e, minidump.ErrNoStream) {
			continue
		}
		k := e.Error()
		if p.seen[k] {
			continue
		}
		if p.seen == nil {
			p.seen = map[string]bool{}
		}
		p.seen[k] = true
		p.damage = append(p.damage, e)
	}
}

// Damage returns the damage met so far while reading the dump, in the order it
// was met: the header's and directory's, then each decoded stream's. The errors
// are those of the minidump package (a *minidump.FormatError names the stream or
// structure and the file offset). Streams never decoded are not checked.
func (p *Process) Damage() []error {
	p.damageMu.Lock()
	defer p.damageMu.Unlock()
	return append([]error(nil), p.damage...)
}

// Flatten splits an error made by errors.Join (as the minidump accessors return
// for several damaged entries) into its parts, so each can be reported on its own.
func Flatten(err error) []error {
	if err == nil {
		return nil
	}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var out []error
		for _, e := range j.Unwrap() {
			out = append(out, Flatten(e)...)
		}
		return out
	}
	return []error{err}
}

// SystemInfo returns the SystemInfo stream (nil when absent or unreadable).
func (p *Process) SystemInfo() (*minidump.SystemInfo, error) {
	return p.sys.get(p, p.f.SystemInfo)
}

// SystemMemoryInfo returns the SystemMemoryInfo stream.
func (p *Process) SystemMemoryInfo() (*minidump.SystemMemoryInfo, error) {
	return p.smi.get(p, p.f.SystemMemoryInfo)
}

// MiscInfo returns the MiscInfo stream.
func (p *Process) MiscInfo() (*minidump.MiscInfo, error) { return p.misc.get(p, p.f.MiscInfo) }

// VMCounters returns the ProcessVmCounters stream.
func (p *Process) VMCounters() (*minidump.ProcessVMCounters, error) {
	return p.vm.get(p, p.f.ProcessVMCounters)
}

// Exception returns the Exception stream.
func (p *Process) Exception() (*minidump.Exception, error) { return p.exc.get(p, p.f.Exception) }

// Memory returns the captured memory, readable by virtual address; nil when the
// dump captured none.
func (p *Process) Memory() *minidump.Memory {
	m, _ := p.mem.get(p, func() (*minidump.Memory, error) {
		l, _ := p.MemoryList()
		l64, _ := p.Memory64List()
		m := p.f.NewMemory(l, l64)
		if len(m.Ranges()) == 0 {
			m = nil
		}
		return m, nil
	})
	return m
}

// MemoryList returns the MemoryList stream's ranges, as the dump lists them.
func (p *Process) MemoryList() ([]minidump.MemoryRange, error) {
	return p.memList.get(p, p.f.MemoryList)
}

// Memory64List returns the Memory64List stream's ranges (a full-memory dump's).
func (p *Process) Memory64List() ([]minidump.MemoryRange, error) {
	return p.mem64.get(p, p.f.Memory64List)
}

// UnloadedModules returns the UnloadedModuleList.
func (p *Process) UnloadedModules() ([]minidump.UnloadedModule, error) {
	return p.unloaded.get(p, p.f.UnloadedModules)
}

// Threads returns the thread list.
func (p *Process) Threads() ([]minidump.Thread, error) { return p.threads.get(p, p.f.Threads) }

// ThreadNames returns the ThreadNames stream.
func (p *Process) ThreadNames() ([]minidump.ThreadName, error) {
	return p.names.get(p, p.f.ThreadNames)
}

// ThreadInfos returns the ThreadInfoList stream.
func (p *Process) ThreadInfos() ([]minidump.ThreadInfo, error) {
	return p.infos.get(p, p.f.ThreadInfos)
}

// Handles returns the HandleData stream.
func (p *Process) Handles() ([]minidump.Handle, error) { return p.handles.get(p, p.f.Handles) }

// CrashpadInfo returns Crashpad's info stream.
func (p *Process) CrashpadInfo() (*minidump.CrashpadInfo, error) {
	return p.crashpad.get(p, p.f.CrashpadInfo)
}

// BreakpadInfo returns Breakpad's info stream.
func (p *Process) BreakpadInfo() (*minidump.BreakpadInfo, error) {
	return p.breakpad.get(p, p.f.BreakpadInfo)
}
