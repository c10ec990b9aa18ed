package main

import (
	"github.com/dumpmap/dumpmap/analysis/render"
	"github.com/spf13/pflag"
)

func init() {
	register(&command{
		name:    "summary",
		summary: "print the !address -summary tables, and the largest usable free block",
		args:    []string{"FILE"},
		setup: func(fs *pflag.FlagSet) runFunc {
			mf := addMapFlags(fs)
			mf.addBelowFlag(fs)
			mf.addSymbolFlags(fs)
			return func(e *env, args []string) error { return runSummary(e, args, mf) }
		},
	})
}

func runSummary(e *env, args []string, mf mapFlags) error {
	d, m, err := openMap(e, args[0], mf)
	if err != nil {
		return err
	}
	defer d.Close()
	defer d.flush(e)
	return e.write(render.NewSummary(d.path, m, &d.warns))
}
