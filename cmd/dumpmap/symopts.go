package main

import (
	"context"
	"os"

	"github.com/dumpmap/dumpmap/analysis"
	"github.com/dumpmap/dumpmap/analysis/modsym"
	"github.com/spf13/pflag"
)

// symOpts are the flags that say where symbols and images are, shared by every
// command that uses them (symbols, heaps, and explain and report for the CRT
// heap):
//
//	o := addSymbolFlags(fs)
//	...
//	hs := o.identifyHeaps(d, m) // instead of m.FindHeaps(d.File)
type symOpts struct {
	symbolPath string
	imagePath  string
}

// getenv reads the environment; tests replace it to stay hermetic.
var getenv = os.Getenv

func addSymbolFlags(fs *pflag.FlagSet) *symOpts {
	o := &symOpts{}
	fs.StringVar(&o.symbolPath, "symbol-path", "", "where PDBs are, in Windows syntax: `PATH` of folders, cache*DIR, srv*DIR*URL; default $_NT_SYMBOL_PATH (see docs/symbols.md)")
	fs.StringVar(&o.imagePath, "image-path", "", "folders holding the modules' EXE and DLL files, separated by ';' (`DIRS`); default $_NT_EXECUTABLE_IMAGE_PATH")
	return o
}

// options parses the flags (or the environment) into modsym.Options. A bad
// symbol path is a usage error.
func (o *symOpts) options() (modsym.Options, error) {
	sp, err := modsym.SymbolPathFrom(o.symbolPath, getenv)
	if err != nil {
		return modsym.Options{}, usageErrorf("%v", err)
	}
	ip, err := modsym.ImagePathFrom(o.imagePath, getenv)
	if err != nil {
		return modsym.Options{}, usageErrorf("%v", err)
	}
	return modsym.Options{SymbolPath: sp, ImagePath: ip}, nil
}

// identifyHeaps finds the process's heaps and the C runtime's heap with the
// symbols and images the flags name (modsym.IdentifyHeaps), for commands that
// already parsed the options.
func identifyHeaps(d *dumpFile, m *analysis.Map, opts modsym.Options) *analysis.HeapSet {
	return modsym.IdentifyHeaps(context.Background(), d.File, m, opts)
}
