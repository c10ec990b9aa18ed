package process

import (
	"cmp"
	"fmt"
	"slices"
	"sort"

	"github.com/dumpmap/dumpmap/minidump"
)

// ModuleIndex finds the module, loaded or unloaded, that holds an address, and names
// addresses the way WinDbg does: "ntdll.dll+0x1e8a3", "<Unloaded_foo.dll>+0x10".
type ModuleIndex struct {
	loaded   []*minidump.Module        // into the indexed slice, sorted by Base
	unloaded []minidump.UnloadedModule // sorted by Base
}

// NewModuleIndex indexes the given modules. Either slice may be nil. The slices are
// copied, so the caller may keep using its own.
func NewModuleIndex(loaded []minidump.Module, unloaded []minidump.UnloadedModule) *ModuleIndex {
	return newModuleIndex(append([]minidump.Module(nil), loaded...), unloaded)
}

// newModuleIndex indexes mods in place: the index points into the slice, which
// must not change afterwards.
func newModuleIndex(mods []minidump.Module, unloaded []minidump.UnloadedModule) *ModuleIndex {
	x := &ModuleIndex{
		loaded:   make([]*minidump.Module, len(mods)),
		unloaded: append([]minidump.UnloadedModule(nil), unloaded...),
	}
	for i := range mods {
		x.loaded[i] = &mods[i]
	}
	// Pointers are sorted, not the large Module structs, and with the generic sort:
	// sort.SliceStable's reflection made this a tenth of the cost of batch triage.
	slices.SortStableFunc(x.loaded, func(a, b *minidump.Module) int { return cmp.Compare(a.Base, b.Base) })
	slices.SortStableFunc(x.unloaded, func(a, b minidump.UnloadedModule) int { return cmp.Compare(a.Base, b.Base) })
	return x
}

// Loaded returns the loaded module whose image holds addr, or nil. When damaged
// module lists overlap, the innermost module is preferred, and of modules with the
// same base one whose name could be read.
func (x *ModuleIndex) Loaded(addr uint64) *minidump.Module {
	if x == nil {
		return nil
	}
	i := sort.Search(len(x.loaded), func(i int) bool { return x.loaded[i].Base > addr }) - 1
	var found *minidump.Module
	// Images do not overlap in a sane dump, so the answer is at i; look back a
	// little in case a damaged list holds duplicates or a module that swallows others.
	for k := i; k >= 0 && k > i-8; k-- {
		m := x.loaded[k]
		if addr < m.Base || addr-m.Base >= uint64(m.Size) {
			continue
		}
		if found == nil || (found.Name == "" && m.Name != "" && m.Base == found.Base) {
			found = m
		}
	}
	return found
}

// Unloaded returns the most recently listed unloaded module whose former image holds
// addr, or nil. Several unloaded modules can have occupied the same range over time.
func (x *ModuleIndex) Unloaded(addr uint64) *minidump.UnloadedModule {
	if x == nil {
		return nil
	}
	var found *minidump.UnloadedModule
	for k := range x.unloaded {
		u := &x.unloaded[k]
		if u.Base > addr {
			break
		}
		if addr-u.Base < uint64(u.Size) {
			found = u
		}
	}
	return found
}

// Name names addr relative to the module that holds it: "kernel32.dll+0x1234" for a
// loaded module, "<Unloaded_foo.dll>+0x10" for one that was unloaded (WinDbg's form),
// and "" when no module holds it.
func (x *ModuleIndex) Name(addr uint64) string {
	if m := x.Loaded(addr); m != nil {
		return fmt.Sprintf("%s+%#x", NameOr(m.Name, m.Base), addr-m.Base)
	}
	if u := x.Unloaded(addr); u != nil {
		return fmt.Sprintf("<Unloaded_%s>+%#x", NameOr(u.Name, u.Base), addr-u.Base)
	}
	return ""
}

// NameOr returns the file name of a module path, or "<module 0x400000>" for a
// module whose name could not be read.
func NameOr(p string, base uint64) string {
	if n := minidump.BaseName(p); n != "" {
		return n
	}
	return fmt.Sprintf("<module %#x>", base)
}
