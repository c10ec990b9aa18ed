package main

import (
	"github.com/dumpmap/dumpmap/analysis"
	"github.com/dumpmap/dumpmap/analysis/render"
	"github.com/spf13/pflag"
)

func init() {
	register(&command{
		name:    "heaps",
		summary: "list the process's heaps like !heap -s, with --stat and --walk for one heap, and which one is the C runtime's",
		args:    []string{"FILE"},
		setup: func(fs *pflag.FlagSet) runFunc {
			mf := addMapFlags(fs)
			mf.addSymbolFlags(fs)
			stat := fs.String("stat", "", "the detailed summary of the heap at `HANDLE` (!heap -s HANDLE)")
			walk := fs.String("walk", "", "list every block of the heap at `HANDLE` (!heap -a)")
			return func(e *env, args []string) error { return runHeaps(e, args, mf, *stat, *walk) }
		},
	})
}

func runHeaps(e *env, args []string, mf mapFlags, stat, walk string) error {
	if _, err := mf.sym.options(); err != nil {
		return err // a bad symbol path is reported before the dump is opened
	}
	if stat != "" && walk != "" {
		return usageErrorf("--stat and --walk: give one")
	}
	var handle uint64
	for name, v := range map[string]string{"--stat": stat, "--walk": walk} {
		if v != "" {
			h, err := analysis.ParseAddress(v)
			if err != nil {
				return usageErrorf("%s: %v", name, err)
			}
			handle = h
		}
	}
	d, m, err := openMap(e, args[0], mf)
	if err != nil {
		return err
	}
	defer d.Close()
	defer d.flush(e)
	if stat == "" && walk == "" {
		return e.write(render.NewHeaps(d.path, d.p, m, &d.warns))
	}
	h, err := render.FindHeap(m, handle)
	if err != nil {
		return &fileError{file: d.path, err: err}
	}
	if stat != "" {
		return e.write(render.NewHeapStat(d.path, m, h, &d.warns))
	}
	return e.write(render.NewHeapWalk(d.path, m, h, &d.warns))
}
