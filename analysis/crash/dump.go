package crash

import (
	"github.com/dumpmap/dumpmap/analysis/pe"
	"github.com/dumpmap/dumpmap/analysis/process"
	"github.com/dumpmap/dumpmap/minidump"
)

// Of decodes the exception that ended process p, with the process's facts (its
// pointer size, 4 for a WOW64 process), its captured memory and modules, and for
// tables the dump did not capture the module image files the process finds on
// its image and symbol paths. It returns nil and the error when the dump has no
// readable Exception stream; damage elsewhere only narrows what can be read.
func Of(p *process.Process) (*Crash, error) {
	e, err := p.Exception()
	if e == nil {
		return nil, err
	}
	in := Input{Exception: e, Platform: p.Platform(), PointerSize: p.PointerSize(), Modules: p.ModuleList()}
	if si, _ := p.SystemInfo(); si == nil {
		in.PointerSize = 0 // unknown: the C++ record's parameter count decides
	}
	if m := p.Memory(); m != nil {
		in.Memory = m
	}
	mods := p.Modules()
	in.Image = func(m *minidump.Module) (*pe.File, error) {
		for _, pm := range mods {
			if pm.Base == m.Base {
				return pm.DiskImage()
			}
		}
		return nil, process.ErrNoImagePath
	}
	return Decode(in), nil
}
