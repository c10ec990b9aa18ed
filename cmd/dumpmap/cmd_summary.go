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
		help: `
Prints WinDbg's !address -summary tables for the dump: the Usage, Type, State and
Protect summaries (region counts, sizes, percentages of busy and of all address
space) and the largest region of each usage. Then what WinDbg lacks: the largest
usable free block (64 KB-aligned start and end, the only kind VirtualAlloc can
reserve), the total of Unusable free space, and the free space by size class.

WinDbg counts Unusable space as Free; here the two are separate rows, as in VMMap.

Examples:
  dumpmap summary crash.dmp
  dumpmap summary --json crash.dmp | jq .largest_usable_free`,
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
