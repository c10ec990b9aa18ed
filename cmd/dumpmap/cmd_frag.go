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
		help: `
The fragmentation report:

  Free space      total, largest free run, largest usable (64 KB-aligned) block,
                  Unusable total, number of runs, a histogram by size class, and how
                  many new 64 KB, 1 MB and 16 MB reservations would still fit.
  Granularity     address space lost because reservations are not multiples of
  waste           64 KB, grouped by allocation pattern (size, type, protection, and
                  whether it is a heap, a stack or an image).
  Who holds it    the largest consumers by usage and by allocation, and for each heap
                  its reserved, committed and uncommitted segment space.

For a 64-bit process whose address space is plentiful the report says so and
points at the commit side instead (ProcessVmCounters, SystemMemoryInfo).

Examples:
  dumpmap frag crash.dmp
  dumpmap frag --json crash.dmp | jq '.waste[0]'`,
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
