package main

import (
	"github.com/dumpmap/dumpmap/analysis/process"
	"github.com/dumpmap/dumpmap/analysis/render"
	"github.com/spf13/pflag"
)

func init() {
	register(&command{
		name:    "streams",
		summary: "list the stream directory: index, type, file offset, size, damage",
		args:    []string{"FILE"},
		setup:   func(fs *pflag.FlagSet) runFunc { return runStreams },
	})
}

func runStreams(e *env, args []string) error {
	d, err := openDump(args[0])
	if err != nil {
		return err
	}
	defer d.Close()
	defer d.flush(e)
	return e.write(render.NewStreams(d.path, d.process(process.Options{}), &d.warns))
}
