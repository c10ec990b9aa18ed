package main

import (
	"github.com/dumpmap/dumpmap/analysis/render"
	"github.com/spf13/pflag"
)

func init() {
	register(&command{
		name:    "info",
		summary: "one screen about a dump: system, process, exception, main module, what was captured",
		args:    []string{"FILE"},
		setup: func(fs *pflag.FlagSet) runFunc {
			sym := addSymbolFlags(fs)
			return func(e *env, args []string) error { return runInfo(e, args, sym) }
		},
	})
}

func runInfo(e *env, args []string, sym *symOpts) error {
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
	return e.write(render.NewInfo(d.path, d.process(opts), &d.warns))
}
