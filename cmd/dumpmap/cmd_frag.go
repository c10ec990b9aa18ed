package main

import (
	"github.com/dumpmap/dumpmap/analysis/render"
	"github.com/spf13/pflag"
)

func init() {
	register(&command{
		name:    "frag",
		summary: "report how fragmented the address space is, and who holds it",
		args:    []string{"FILE"},
		setup: func(fs *pflag.FlagSet) runFunc {
			mf := addMapFlags(fs)
			mf.addBelowFlag(fs)
			mf.addSymbolFlags(fs)
			top := fs.Int("top", 10, "how many waste patterns and allocations to list")
			return func(e *env, args []string) error { return runFrag(e, args, mf, *top) }
		},
	})
}

func runFrag(e *env, args []string, mf mapFlags, top int) error {
	if top < 1 {
		return usageErrorf("--top must be at least 1")
	}
	d, m, err := openMap(e, args[0], mf)
	if err != nil {
		return err
	}
	defer d.Close()
	defer d.flush(e)
	return e.write(render.NewFrag(d.path, d.p, m, top, &d.warns))
}
