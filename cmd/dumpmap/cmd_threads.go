package main

import (
	"github.com/dumpmap/dumpmap/analysis/process"
	"github.com/dumpmap/dumpmap/analysis/render"
	"github.com/spf13/pflag"
)

func init() {
	register(&command{
		name:    "threads",
		summary: "list the threads: id, TEB, captured stack, context, name, start address",
		args:    []string{"FILE"},
		setup: func(fs *pflag.FlagSet) runFunc {
			long := fs.BoolP("long", "l", false, "print every field, one block per thread")
			return func(e *env, args []string) error { return runThreads(e, args, *long) }
		},
	})
}

func runThreads(e *env, args []string, long bool) error {
	d, err := openDump(args[0])
	if err != nil {
		return err
	}
	defer d.Close()
	defer d.flush(e)
	return e.write(render.NewThreads(d.path, d.process(process.Options{}), long, &d.warns))
}
