package main

import (
	"github.com/dumpmap/dumpmap/analysis/process"
	"github.com/dumpmap/dumpmap/analysis/render"
	"github.com/spf13/pflag"
)

func init() {
	register(&command{
		name:    "memory",
		summary: "list the captured memory ranges: start, end, size, source list, file offset, missing bytes",
		args:    []string{"FILE"},
		setup:   func(fs *pflag.FlagSet) runFunc { return runMemory },
	})
}

func runMemory(e *env, args []string) error {
	d, err := openDump(args[0])
	if err != nil {
		return err
	}
	defer d.Close()
	defer d.flush(e)
	return e.write(render.NewMemory(d.path, d.process(process.Options{}), &d.warns))
}
