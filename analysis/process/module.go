package process

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/dumpmap/dumpmap/analysis/breakpad"
	"github.com/dumpmap/dumpmap/analysis/pdb"
	"github.com/dumpmap/dumpmap/analysis/pe"
	"github.com/dumpmap/dumpmap/analysis/symstore"
	"github.com/dumpmap/dumpmap/minidump"
	"github.com/dumpmap/dumpmap/minidump/codeview"
)

// Modules returns the loaded modules in module-list order (the executable first
// in dbghelp's, Breakpad's and Crashpad's dumps). Bases that a 32-bit writer
// sign-extended are truncated to 32 bits.
func (p *Process) Modules() []*Module {
	p.loadModules()
	return p.mods
}

// ModuleList returns the module list as the minidump package decodes it, with
// sign-extended bases fixed: the same modules as Modules, as plain values.
func (p *Process) ModuleList() []minidump.Module {
	p.loadModules()
	return p.modList
}

// ModuleIndex returns an index of the loaded and unloaded modules by address.
func (p *Process) ModuleIndex() *ModuleIndex {
	p.loadModules()
	return p.index
}

// ModuleErr returns the damage found in the module list, if any.
func (p *Process) ModuleErr() error {
	p.loadModules()
	return p.modErr
}

func (p *Process) loadModules() {
	p.modsOnce.Do(func() {
		mods, err := p.f.Modules()
		p.modErr = err
		p.addDamage(err)
		if si, _ := p.SystemInfo(); si != nil && si.Arch.PointerSize() == 4 {
			// 32-bit dbghelp sign-extends addresses above 2 GB.
			for i := range mods {
				if mods[i].Base>>32 == 0xffffffff {
					mods[i].Base &= 0xffffffff
				}
			}
		}
		p.modList = mods
		p.mods = make([]*Module, len(mods))
		all := make([]Module, len(mods)) // one allocation, not one a module
		for i := range mods {
			// In place: a composite literal this size is built aside and copied.
			m := &all[i]
			m.p, m.Index, m.Module, m.FileName = p, i, mods[i], minidump.BaseName(mods[i].Name)
			p.mods[i] = m
		}
		unl, _ := p.UnloadedModules()
		// The process's list is never changed once loaded: the index points into it.
		p.index = newModuleIndex(mods, unl)
	})
}

// Module is one loaded module of the process, with its PE image and PDB, which
// are looked up once, on first use, and kept open until the Process is closed.
type Module struct {
	p     *Process
	Index int
	minidump.Module
	// FileName is the last component of the module's path ("crash.exe").
	FileName string

	mu sync.Mutex
	// The files behind the module, looked up on first use; made by lock. Most
	// modules of a dump are never asked for theirs, and a module costs its
	// process less without them (2,000 modules are common).
	*moduleFiles
}

// moduleFiles is what a Module finds and opens on first use.
type moduleFiles struct {
	pdbDone  bool
	pdb      *pdb.File
	pdbPath  string
	pdbErr   error
	pdbTried []string

	mappedDone bool
	mapped     *pe.File
	mappedErr  error

	diskDone  bool
	disk      *pe.File
	diskPath  string
	diskErr   error
	diskTried []string

	symDone  bool
	sym      *breakpad.File
	symPath  string
	symErr   error
	symTried []string
}

// lock takes the module's lock, making its moduleFiles on first use.
func (m *Module) lock() {
	m.mu.Lock()
	if m.moduleFiles == nil {
		m.moduleFiles = new(moduleFiles)
	}
}

func (m *Module) close() error {
	m.lock()
	defer m.mu.Unlock()
	var errs []error
	if m.pdb != nil {
		errs = append(errs, m.pdb.Close())
		m.pdb = nil
	}
	if m.disk != nil {
		errs = append(errs, m.disk.Close())
		m.disk = nil
	}
	return errors.Join(errs...)
}

// ErrNoSymbolPath and ErrNoImagePath are the errors of PDB and DiskImage when
// the options name no symbol path or no image folder.
var (
	ErrNoSymbolPath = errors.New("no symbol path")
	ErrNoImagePath  = errors.New("no image path")
)

// PDB returns the module's PDB, finding and opening it on first use. The error
// says why there is none: no CodeView record, not an RSDS record, no symbol path,
// not found (PDBTried lists the places looked at and what was there, including
// GUID/age mismatches), or unreadable.
func (m *Module) PDB(ctx context.Context) (*pdb.File, error) {
	m.lock()
	defer m.mu.Unlock()
	if m.pdbDone {
		return m.pdb, m.pdbErr
	}
	m.pdbDone = true
	cv := m.CodeView
	switch {
	case cv == nil:
		m.pdbErr = errors.New("the module list has no CodeView record for it, so its PDB is unknown")
	case cv.Signature != "RSDS":
		m.pdbErr = fmt.Errorf("its CodeView record is %s, not RSDS (PDB 7.0): not supported", cv.Signature)
	case m.p.store == nil:
		m.pdbErr = ErrNoSymbolPath
	}
	if m.pdbErr != nil {
		return nil, m.pdbErr
	}
	path, tried, err := m.p.store.FindPDB(ctx, cv.PDBPath, cv.GUID, cv.Age)
	m.pdbTried = tried
	if err != nil {
		m.pdbErr = trimPrefix{err, "symstore: "}
		return nil, m.pdbErr
	}
	f, err := pdb.Open(path)
	if err != nil {
		m.pdbErr = fmt.Errorf("%s: %w", path, err)
		return nil, m.pdbErr
	}
	m.pdb, m.pdbPath = f, path
	m.p.opened(m)
	return f, nil
}

// PDBTried lists the places the PDB lookup looked at, and what was there.
func (m *Module) PDBTried() []string {
	m.lock()
	defer m.mu.Unlock()
	return append([]string(nil), m.pdbTried...)
}

// trimPrefix is err with a package prefix dropped from its message.
type trimPrefix struct {
	err    error
	prefix string
}

func (t trimPrefix) Error() string { return strings.TrimPrefix(t.err.Error(), t.prefix) }
func (t trimPrefix) Unwrap() error { return t.err }

// PDBPath returns the path of the PDB opened by PDB, or "".
func (m *Module) PDBPath() string {
	m.lock()
	defer m.mu.Unlock()
	return m.pdbPath
}

// MappedImage returns the module's image as the dump captured it in memory
// (RVA = offset from the base). It fails when the headers were not captured;
// parts past the headers may still be missing, which the pe reader reports when
// they are read.
func (m *Module) MappedImage() (*pe.File, error) {
	m.lock()
	defer m.mu.Unlock()
	if m.mappedDone {
		return m.mapped, m.mappedErr
	}
	m.mappedDone = true
	mem := m.p.Memory()
	switch {
	case mem == nil:
		m.mappedErr = errors.New("the dump has no memory")
	case !mem.Contains(m.Base, 0x40):
		m.mappedErr = fmt.Errorf("headers at %#x not captured", m.Base)
	}
	if m.mappedErr != nil {
		return nil, m.mappedErr
	}
	img, err := pe.NewMapped(pe.MemoryReader(mem.ReadAt, m.Base), int64(m.Size))
	if err != nil {
		if strings.Contains(err.Error(), "not captured") {
			m.mappedErr = fmt.Errorf("headers at %#x only partly captured", m.Base)
		} else {
			m.mappedErr = fmt.Errorf("image at %#x: %w", m.Base, err)
		}
		return nil, m.mappedErr
	}
	if m.TimeDateStamp != 0 && img.TimeDateStamp != m.TimeDateStamp {
		m.mappedErr = fmt.Errorf("the image at %#x has TimeDateStamp %#x, the module list says %#x", m.Base, img.TimeDateStamp, m.TimeDateStamp)
		return nil, m.mappedErr
	}
	m.mapped = img
	return img, nil
}

// DiskImage returns the module's image file found on the image path: a file with
// the module's (sanitized) file name whose TimeDateStamp and SizeOfImage match
// the module list's.
func (m *Module) DiskImage() (*pe.File, error) {
	m.lock()
	defer m.mu.Unlock()
	if m.diskDone {
		return m.disk, m.diskErr
	}
	m.diskDone = true
	m.disk, m.diskPath, m.diskTried, m.diskErr = m.p.findImage(&m.Module)
	if m.disk == nil && m.p.store != nil && m.TimeDateStamp != 0 && m.Size != 0 {
		// Executables are on symbol servers too, keyed by TimeDateStamp and
		// SizeOfImage (name.dll/TTTTTTTTSSSS/name.dll).
		path, tried, err := m.p.store.FindImage(context.Background(), m.Name, m.TimeDateStamp, m.Size)
		m.diskTried = append(m.diskTried, tried...)
		if err == nil {
			if img, oerr := pe.Open(path); oerr == nil {
				m.disk, m.diskPath, m.diskErr = img, path, nil
			} else {
				m.diskTried = append(m.diskTried, path+": "+oerr.Error())
			}
		} else if errors.Is(m.diskErr, ErrNoImagePath) {
			m.diskErr = fmt.Errorf("%w; not on the symbol path (%d places tried)", ErrNoImagePath, len(tried))
		}
	}
	if m.disk != nil {
		m.p.opened(m)
	}
	return m.disk, m.diskErr
}

// BreakpadID returns the module's Breakpad debug file and id, which key its
// symbol file (name/ID/name.sym): the PDB name with its GUID and age for a
// Windows module, the module's file name with the id Breakpad derives from the
// ELF build id (its first 16 bytes read as a GUID, then age 0) otherwise.
func (m *Module) BreakpadID() (file, id string, ok bool) {
	cv := m.CodeView
	switch {
	case cv == nil:
		return "", "", false
	case cv.Signature == "RSDS":
		return cv.PDBName(), symstore.Key(cv.GUID, cv.Age), cv.PDBName() != ""
	case len(cv.BuildID) > 0:
		var g codeview.GUID
		copy(g[:], cv.BuildID)
		return m.FileName, g.Hex() + "0", m.FileName != ""
	}
	return "", "", false
}

// Symbols returns the module's Breakpad symbol file from the symbol path (Mozilla's,
// Chromium's and Electron's symbol servers serve these), found and parsed on first
// use.
func (m *Module) Symbols(ctx context.Context) (*breakpad.File, error) {
	m.lock()
	defer m.mu.Unlock()
	if m.symDone {
		return m.sym, m.symErr
	}
	m.symDone = true
	file, id, ok := m.BreakpadID()
	switch {
	case !ok:
		m.symErr = errors.New("no CodeView record or build id to key its symbol file by")
	case m.p.store == nil:
		m.symErr = ErrNoSymbolPath
	}
	if m.symErr != nil {
		return nil, m.symErr
	}
	path, tried, err := m.p.store.FindBreakpad(ctx, file, id)
	m.symTried = tried
	if err != nil {
		m.symErr = trimPrefix{err, "symstore: "}
		return nil, m.symErr
	}
	f, err := breakpad.Open(path)
	if err != nil {
		m.symErr = fmt.Errorf("%s: %w", path, err)
		return nil, m.symErr
	}
	m.sym, m.symPath = f, path
	return f, nil
}

// DiskImagePath returns the path of the image file found by DiskImage, or "".
func (m *Module) DiskImagePath() string {
	m.lock()
	defer m.mu.Unlock()
	return m.diskPath
}

// Is32 reports whether the module is 32-bit code (x86 C names are decorated,
// pointers are 4 bytes): from its image, its PDB, or the process's pointer size,
// whichever is known first.
func (m *Module) Is32() bool {
	img, _ := m.MappedImage()
	m.lock()
	disk, pd := m.disk, m.pdb
	m.mu.Unlock()
	switch {
	case img != nil:
		return !img.Is64()
	case disk != nil:
		return !disk.Is64()
	case pd != nil && pd.Machine != 0:
		return pd.Machine == pe.MachineI386 || pd.Machine == pe.MachineARMNT
	}
	// Without an image or PDB only the dump's architecture tells; a 64-bit dump of
	// a WOW64 process holds 64-bit modules too (ntdll, the WOW64 layer), so there
	// nothing is assumed: names are looked up undecorated.
	return m.p.DumpPointerSize() == 4
}

// PointerSize is 4 for a 32-bit module, 8 otherwise.
func (m *Module) PointerSize() int {
	if m.Is32() {
		return 4
	}
	return 8
}

// Image runs use on the mapped image, then on the disk image if the mapped one is
// missing or use fails on it (an export table that was not captured, say). It
// returns where the successful image came from ("dump memory" or a path) and,
// when both failed, an error naming both reasons.
func (m *Module) Image(use func(img *pe.File) error) (source string, err error) {
	var errs []string
	if img, err := m.MappedImage(); err == nil {
		if err = use(img); err == nil {
			return "dump memory", nil
		}
		errs = append(errs, "dump memory: "+err.Error())
	} else {
		errs = append(errs, "dump memory: "+err.Error())
	}
	if img, err := m.DiskImage(); err == nil {
		if err = use(img); err == nil {
			return m.DiskImagePath(), nil
		}
		errs = append(errs, m.DiskImagePath()+": "+err.Error())
	} else {
		if errors.Is(err, ErrNoImagePath) {
			errs = append(errs, err.Error())
		} else {
			errs = append(errs, "image path: "+err.Error())
		}
	}
	return "", errors.New(strings.Join(errs, "; "))
}

// Report describes what was found for the module and where, and what was tried
// without success, one line each.
func (m *Module) Report() []string {
	m.lock()
	defer m.mu.Unlock()
	var out []string
	switch {
	case m.pdb != nil:
		out = append(out, fmt.Sprintf("PDB %s (GUID %s, age %d)", m.pdbPath, m.pdb.GUID, m.pdb.Age))
	case m.pdbDone:
		out = append(out, "no PDB: "+m.pdbErr.Error())
		for _, t := range m.pdbTried {
			out = append(out, "  tried "+t)
		}
	}
	switch {
	case m.mapped != nil:
		out = append(out, "image mapped in dump memory")
	case m.mappedDone:
		out = append(out, "image not in dump memory: "+m.mappedErr.Error())
	}
	switch {
	case m.disk != nil:
		out = append(out, "image file "+m.diskPath)
		for _, t := range m.diskTried {
			out = append(out, "  passed over "+t)
		}
	case m.diskDone:
		out = append(out, "no image file: "+m.diskErr.Error())
		for _, t := range m.diskTried {
			out = append(out, "  tried "+t)
		}
	}
	return out
}

// findImage looks for mod's image file along the image path: in each folder, the
// file named as the module, then the symbol-store key folder name/TIMESTAMPSIZE/
// name. Names are matched case-insensitively (Windows file names are) but only
// names read from the folder itself are opened, and the module's name is reduced
// to a validated bare file name first.
func (p *Process) findImage(mod *minidump.Module) (*pe.File, string, []string, error) {
	if len(p.opts.ImagePath) == 0 {
		return nil, "", nil, ErrNoImagePath
	}
	name, err := symstore.SafeName(mod.Name)
	if err != nil {
		return nil, "", nil, fmt.Errorf("the module's file name cannot be looked up: %v", strings.TrimPrefix(err.Error(), "symstore: "))
	}
	var tried []string
	note := func(where, what string) { tried = append(tried, where+": "+what) }
	keys := []string{fmt.Sprintf("%08X%X", mod.TimeDateStamp, mod.Size)}
	for _, dir := range p.opts.ImagePath {
		fp, ok := p.findFold(dir, name)
		if !ok {
			note(filepath.Join(dir, name), "not there")
			continue
		}
		cands := []string{fp}
		if st, err := os.Stat(fp); err == nil && st.IsDir() {
			// A symbol store: the name is a folder of key folders.
			cands = nil
			for _, k := range keys {
				kd, ok := p.findFold(fp, k)
				if !ok {
					note(filepath.Join(fp, k), "no such folder")
					continue
				}
				if f, ok := p.findFold(kd, name); ok {
					cands = append(cands, f)
				} else {
					note(filepath.Join(kd, name), "not there")
				}
			}
		}
		for _, c := range cands {
			st, err := os.Stat(c)
			if err != nil || !st.Mode().IsRegular() {
				note(c, "not a regular file")
				continue
			}
			img, err := pe.Open(c)
			if err != nil {
				note(c, "not a PE image: "+err.Error())
				continue
			}
			if img.TimeDateStamp != mod.TimeDateStamp || img.SizeOfImage != mod.Size {
				note(c, fmt.Sprintf("a different build: TimeDateStamp %#x and SizeOfImage %#x, the module has %#x and %#x",
					img.TimeDateStamp, img.SizeOfImage, mod.TimeDateStamp, mod.Size))
				img.Close()
				continue
			}
			if cv := mod.CodeView; cv != nil && cv.Signature == "RSDS" {
				if icv, err := img.CodeView(); err == nil && icv.Signature == "RSDS" && (icv.GUID != cv.GUID || icv.Age != cv.Age) {
					note(c, fmt.Sprintf("a different build: PDB GUID %s age %d, the module has %s age %d", icv.GUID, icv.Age, cv.GUID, cv.Age))
					img.Close()
					continue
				}
			}
			return img, c, tried, nil
		}
	}
	return nil, "", tried, fmt.Errorf("%s (TimeDateStamp %#x, SizeOfImage %#x) not found on the image path (%d places tried)", name, mod.TimeDateStamp, mod.Size, len(tried))
}

// findFold returns the path of the entry of dir named name, ignoring case. The
// exact name is tried first; otherwise the entry's name as the folder lists it is
// used, so nothing but the folder's own names is joined to dir.
func (p *Process) findFold(dir, name string) (string, bool) {
	fp := filepath.Join(dir, name)
	if _, err := os.Lstat(fp); err == nil {
		return fp, true
	}
	p.dirMu.Lock()
	names, ok := p.dirs[dir]
	if !ok {
		ents, _ := os.ReadDir(dir)
		for _, e := range ents {
			names = append(names, e.Name())
		}
		p.dirs[dir] = names
	}
	p.dirMu.Unlock()
	for _, n := range names {
		if strings.EqualFold(n, name) {
			return filepath.Join(dir, n), true
		}
	}
	return "", false
}

// DiskTried lists the files the image lookup looked at, and why each was passed
// over.
func (m *Module) DiskTried() []string {
	m.lock()
	defer m.mu.Unlock()
	return append([]string(nil), m.diskTried...)
}
