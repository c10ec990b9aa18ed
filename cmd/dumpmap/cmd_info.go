package main

import (
	"github.com/dumpmap/dumpmap/analysis/process"
	"github.com/dumpmap/dumpmap/analysis/render"
	"github.com/spf13/pflag"
)

func init() {
	register(&command{
		name:    "info",
		summary: "one screen about a dump: system, process, exception, main module, what was captured",
		args:    []string{"FILE"},
		help: `
Shows the OS, architecture and CPU; the process (id, start time, integrity level,
build string); when and how the dump was written; the exception with its name and
the faulting module+offset; the main module (the product) and its version; how many
modules, threads and memory ranges the dump holds; and what the capture implies for
the analyses, such as "no MemoryInfoList: region map will be partial" or "no full
memory: heaps cannot be walked".

Examples:
  dumpmap info crash.dmp
  dumpmap info --json crash.dmp | jq .exception.signature`,
		setup: func(fs *pflag.FlagSet) runFunc { return runInfo },
	})
}

func runInfo(e *env, args []string) error {
	d, err := openDump(args[0])
	if err != nil {
		return err
	}
	defer d.Close()
	defer d.flush(e)
	return e.write(render.NewInfo(d.path, d.process(process.Options{}), &d.warns))
}
