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
		help: `
Lists the threads of the ThreadList (or ThreadExList) stream: the thread id, its TEB
address, the part of its stack the dump captured (from the stack pointer up to the
stack base), where its register context lies in the file, and its name from the
ThreadNames stream. When the dump has a ThreadInfoList, the start address (named as
module+offset), creation time, CPU times and state flags are added.

The thread that raised the exception is marked with "*", the thread that wrote the
dump (Breakpad's and dbghelp's own) with "w".

Examples:
  dumpmap threads crash.dmp
  dumpmap threads --long crash.dmp
  dumpmap threads --json crash.dmp | jq '.threads[] | select(.exception_thread)'`,
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
