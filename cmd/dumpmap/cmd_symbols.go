package main

import (
	"context"

	"github.com/dumpmap/dumpmap/analysis/modsym"
	"github.com/dumpmap/dumpmap/analysis/render"
	"github.com/spf13/pflag"
)

func init() {
	register(&command{
		name:    "symbols",
		summary: "list the symbols matching module!pattern, like WinDbg's x: address, module, name, source",
		args:    []string{"FILE", "PATTERN"},
		setup: func(fs *pflag.FlagSet) runFunc {
			sym := addSymbolFlags(fs)
			verbose := fs.BoolP("verbose", "v", false, "list every place looked at for each module's PDB and image")
			return func(e *env, args []string) error { return runSymbols(e, args, sym, *verbose) }
		},
	})
}

func runSymbols(e *env, args []string, sym *symOpts, verbose bool) error {
	pat, err := modsym.ParsePattern(args[1])
	if err != nil {
		return usageErrorf("%v", err)
	}
	opts, err := sym.options()
	if err != nil {
		return err
	}
	d, err := openDump(args[0])
	if err != nil {
		return err
	}
	defer d.Close()
	defer d.flush(e)
	s, err := render.NewSymbols(context.Background(), d.path, d.process(opts), pat, verbose, &d.warns)
	if err != nil {
		return &fileError{file: d.path, err: err}
	}
	return e.write(s)
}
