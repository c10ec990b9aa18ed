package crash

import (
	"strings"

	"github.com/dumpmap/dumpmap/minidump"
)

// FromDump decodes the exception in a minidump: it reads the Exception,
// SystemInfo and ModuleList streams and the captured memory, and works out the
// process's pointer size (4 under WOW64). image may be nil. It returns nil and the
// error when the dump has no readable Exception stream; damage elsewhere only
// narrows what can be read, and the record's own damage is returned beside the
// result.
func FromDump(f *minidump.File, image ImageFunc) (*Crash, error) {
	e, err := f.Exception()
	if e == nil {
		return nil, err
	}
	in := Input{Exception: e, Platform: minidump.PlatformWindows, Image: image}
	var arch minidump.Arch = minidump.ArchUnknown
	if si, _ := f.SystemInfo(); si != nil {
		in.Platform, arch = si.Platform, si.Arch
	}
	in.Modules, _ = f.Modules()
	if m, _ := f.Memory(); m != nil {
		in.Memory = m
	}
	in.PointerSize = PointerSize(arch, in.Modules)
	return Decode(in), err
}

// PointerSize returns the pointer size of the dumped process: the architecture's,
// except 4 for a 32-bit process in a 64-bit dump (WOW64), recognised by the
// architecture some writers report for it or by the WOW64 layer's DLLs among the
// modules. 0 when the architecture is unknown.
func PointerSize(arch minidump.Arch, mods []minidump.Module) int {
	ps := arch.PointerSize()
	if ps != 8 {
		return ps
	}
	for i := range mods {
		if i >= maxModuleScans {
			break
		}
		switch strings.ToLower(mods[i].BaseName()) {
		case "wow64.dll", "wow64cpu.dll", "wow64win.dll":
			return 4
		}
	}
	return ps
}
