package main

import (
	"github.com/dumpmap/dumpmap/analysis/render"
	"github.com/spf13/pflag"
)

func init() {
	register(&command{
		name:    "heaps",
		summary: "list the process's heaps, their segments and room to grow, and which one is the C runtime's",
		args:    []string{"FILE"},
		setup: func(fs *pflag.FlagSet) runFunc {
			mf := addMapFlags(fs)
			mf.addSymbolFlags(fs)
			return func(e *env, args []string) error { return runHeaps(e, args, mf) }
		},
	})
}

func runHeaps(e *env, args []string, mf mapFlags) error {
	if _, err := mf.sym.options(); err != nil {
		return err // a bad symbol path is reported before the dump is opened
	}
	d, m, err := openMap(e, args[0], mf)
	if err != nil {
		return err
	}
	defer d.Close()
	defer d.flush(e)
	return e.write(render.NewHeaps(d.path, d.p, m, &d.warns))
}
