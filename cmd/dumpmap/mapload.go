package main

import (
	"github.com/dumpmap/dumpmap/analysis"
	"github.com/dumpmap/dumpmap/analysis/report"
	"github.com/spf13/pflag"
)

// mapFlags are the flags every command that builds a region map shares.
type mapFlags struct {
	native *bool
}

func addMapFlags(fs *pflag.FlagSet) mapFlags {
	return mapFlags{native: fs.Bool("native", false, "show a WOW64 process's whole 64-bit address space instead of its 32-bit view")}
}

// loadMap builds the region map of d; its notes become warnings only when they say
// something went wrong, and are otherwise returned for the command to print.
func loadMap(d *dumpFile, mf mapFlags) (*analysis.Map, error) {
	m, err := analysis.NewMap(d.File, analysis.Options{Native: *mf.native})
	if err != nil {
		return nil, &fileError{file: d.path, err: err}
	}
	return m, nil
}

// spaceJSON describes the address space in JSON output (shared with the report).
type spaceJSON = report.Space

func spaceOf(s analysis.AddressSpace) spaceJSON { return report.SpaceOf(s) }

// blockJSON is a located block of address space.
type blockJSON = report.Block
