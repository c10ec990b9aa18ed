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
		help: `
Prints the minidump header (signature, version, time, flags) and every entry of the
stream directory in file order: its index, the stream type by name and number, where
its data lies in the file (offset and size, in bytes) and any damage, such as a
stream that extends past the end of a truncated file. Unknown stream types are listed
by number; Unused entries (directory padding) are listed too.

Examples:
  dumpmap streams crash.dmp
  dumpmap streams --json crash.dmp | jq '.streams[] | select(.damage)'`,
		setup: func(fs *pflag.FlagSet) runFunc { return runStreams },
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
