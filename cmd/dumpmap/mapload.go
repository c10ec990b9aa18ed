package main

import (
	"github.com/dumpmap/dumpmap/analysis"
	"github.com/dumpmap/dumpmap/analysis/render"
	"github.com/spf13/pflag"
)

// mapFlags are the flags every command that builds a region map shares.
type mapFlags struct {
	native      *bool
	unavailable *string
	below       *string  // nil for commands whose --below means something else
	sym         *symOpts // nil for commands without --symbol-path and --image-path
}

// addSymbolFlags adds --symbol-path and --image-path, with which the map's heaps
// include the C runtime's.
func (mf *mapFlags) addSymbolFlags(fs *pflag.FlagSet) { mf.sym = addSymbolFlags(fs) }

// addBelowFlag adds --below, which ends the map at an address.
func (mf *mapFlags) addBelowFlag(fs *pflag.FlagSet) {
	mf.below = fs.String("below", "", "end the address space at ADDR, as if the process could not use what lies above (e.g. 2G for a 64-bit process confined below 2 GB)")
}

func addMapFlags(fs *pflag.FlagSet) mapFlags {
	return mapFlags{
		native:      fs.Bool("native", false, "show a WOW64 process's whole 64-bit address space instead of its 32-bit view"),
		unavailable: fs.String("unavailable", "", "treat free ranges START-END[,START-END] as unallocatable (space the dump shows free but the process could not use, e.g. Wine's loader area)"),
	}
}

// openMap opens the dump at path and builds its region map with the flags (the
// process gets the symbol flags' options). A bad flag is a usage error (found
// after the dump is opened, so a missing file is reported first); a dump that
// gives no map is a file error. On success the caller closes d and flushes its
// warnings.
func openMap(e *env, path string, mf mapFlags) (*dumpFile, *analysis.Map, error) {
	d, err := openDump(path)
	if err != nil {
		return nil, nil, err
	}
	m, err := loadMap(d, mf)
	if err != nil {
		d.flush(e)
		d.Close()
		return nil, nil, err
	}
	return d, m, nil
}

func loadMap(d *dumpFile, mf mapFlags) (*analysis.Map, error) {
	opt, err := mf.options()
	if err != nil {
		return nil, err
	}
	popt, err := mf.sym.options()
	if err != nil {
		return nil, err
	}
	m, err := render.LoadMap(d.process(popt), opt, &d.warns)
	if err != nil {
		return nil, &fileError{file: d.path, err: err}
	}
	return m, nil
}

// options turns the flags into map options; a bad range or address is a usage error.
func (mf mapFlags) options() (analysis.Options, error) {
	unavail, err := render.ParseRanges(*mf.unavailable)
	if err != nil {
		return analysis.Options{}, usageErrorf("--unavailable: %v", err)
	}
	var below uint64
	if mf.below != nil && *mf.below != "" {
		if below, err = analysis.ParseAddress(*mf.below); err != nil {
			return analysis.Options{}, usageErrorf("--below: %v", err)
		}
	}
	return analysis.Options{Native: *mf.native, Unavailable: unavail, Below: below}, nil
}
