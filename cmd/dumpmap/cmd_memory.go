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
		help: `
Lists the ranges of process memory the dump holds, from the MemoryList stream
(stacks and selected memory) and the Memory64List stream (full-memory dumps), sorted
by address: start, end, size, which list it came from, where its bytes are in the
file, and how many of them are missing because the file is truncated. A CONTENTS
column says what a range is when the dump tells: a thread's stack, a TEB, or part of
a module's image.

This is what 'dumpmap read' can read. It is not the address space: the region map
(MemoryInfoList) also covers memory that was not captured.

Examples:
  dumpmap memory crash.dmp
  dumpmap memory --json crash.dmp | jq '[.ranges[].size] | add'`,
		setup: func(fs *pflag.FlagSet) runFunc { return runMemory },
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
