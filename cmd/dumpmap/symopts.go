package main

import (
	"os"

	"github.com/dumpmap/dumpmap/analysis/process"
	"github.com/spf13/pflag"
)

// symOpts are the flags that say where symbols and images are, shared by every
// command that uses them: symbols, and every command that builds a region map
// (its heaps include the C runtime's, which symbols and images identify).
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

// options parses the flags (or the environment) into the process's options. A
// bad symbol path is a usage error. A nil symOpts gives the zero options.
func (o *symOpts) options() (process.Options, error) {
	if o == nil {
		return process.Options{}, nil
	}
	sp, err := process.SymbolPathFrom(o.symbolPath, getenv)
	if err != nil {
		return process.Options{}, usageErrorf("%v", err)
	}
	ip, err := process.ImagePathFrom(o.imagePath, getenv)
	if err != nil {
		return process.Options{}, usageErrorf("%v", err)
	}
	return process.Options{SymbolPath: sp, ImagePath: ip}, nil
}
