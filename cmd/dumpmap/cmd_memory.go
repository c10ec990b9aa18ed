package main

import (
	"fmt"
	"sort"
	"strconv"

	"github.com/dumpmap/dumpmap/analysis/process"
	"github.com/dumpmap/dumpmap/minidump"
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

type rangeJSON struct {
	Start     hexNum `json:"start"`
	End       hexNum `json:"end"`
	Size      uint64 `json:"size"`      // bytes the list declares
	Source    string `json:"source"`    // "MemoryList" or "Memory64List"
	Offset    int64  `json:"offset"`    // file offset of the bytes
	Available uint64 `json:"available"` // bytes the file holds
	Missing   uint64 `json:"missing"`   // size - available
	Contents  string `json:"contents,omitempty"`
}

type memoryTotalsJSON struct {
	Ranges   int    `json:"ranges"`
	Size     uint64 `json:"size"`
	Captured uint64 `json:"captured"`
	Missing  uint64 `json:"missing"`
}

func runMemory(e *env, args []string) error {
	d, err := openDump(args[0])
	if err != nil {
		return err
	}
	defer d.Close()
	defer d.flush(e)
	af := newAddrFmt(d.pointerBits())

	var all []minidump.MemoryRange
	if d.HasStream(minidump.StreamMemoryList) {
		rs, err := d.MemoryList()
		d.warn(err)
		all = append(all, rs...)
	}
	if d.HasStream(minidump.StreamMemory64List) {
		rs, err := d.Memory64List()
		d.warn(err)
		all = append(all, rs...)
	}
	if !d.HasStream(minidump.StreamMemoryList) && !d.HasStream(minidump.StreamMemory64List) {
		d.note("the dump has no MemoryList or Memory64List stream: no process memory was captured")
	}
	sort.SliceStable(all, func(i, j int) bool { return all[i].Start < all[j].Start })

	threads, err := d.Threads()
	d.warn(err)
	mods, err := d.Modules()
	d.warn(err)
	idx := process.NewModuleIndex(mods, nil)

	list := make([]rangeJSON, len(all))
	var tot memoryTotalsJSON
	for i, r := range all {
		list[i] = rangeJSON{
			Start: hexNum(r.Start), End: hexNum(r.End()), Size: r.Size, Source: r.Source.String(),
			Offset: r.Offset, Available: r.Available, Missing: r.Size - r.Available,
			Contents: rangeContents(r, threads, idx),
		}
		tot.Ranges++
		tot.Size += r.Size
		tot.Captured += r.Available
		tot.Missing += r.Size - r.Available
	}
	if e.json {
		return writeJSON(e.stdout, struct {
			File     string           `json:"file"`
			Ranges   []rangeJSON      `json:"ranges"`
			Totals   memoryTotalsJSON `json:"totals"`
			Warnings []string         `json:"warnings"`
		}{d.path, list, tot, d.warnings()})
	}
	fmt.Fprintf(e.stdout, "%s, %s captured", plural(tot.Ranges, "range"), size(tot.Captured))
	if tot.Missing > 0 {
		fmt.Fprintf(e.stdout, ", %s missing (truncated file)", size(tot.Missing))
	}
	fmt.Fprintln(e.stdout)
	if len(list) == 0 {
		return nil
	}
	tb := newTable("START", "END", ">SIZE", "SOURCE", ">OFFSET", ">MISSING", "CONTENTS")
	for _, r := range list {
		miss := "-"
		if r.Missing > 0 {
			miss = strconv.FormatUint(r.Missing, 10)
		}
		tb.row(af.f(uint64(r.Start)), af.f(uint64(r.End)), size(r.Size), r.Source,
			fmt.Sprintf("%#x", r.Offset), miss, orDash(r.Contents))
	}
	tb.write(e.stdout, "")
	return nil
}

// rangeContents says what a captured range holds, when the thread and module lists
// tell: "stack of thread 3060", "TEB of thread 3060", "ntdll.dll+0x1000".
func rangeContents(r minidump.MemoryRange, threads []minidump.Thread, idx *process.ModuleIndex) string {
	for _, t := range threads {
		if t.Stack.Data.Size > 0 && r.Start < t.Stack.End() && t.Stack.Start < r.End() {
			return fmt.Sprintf("stack of thread %d", t.ID)
		}
	}
	for _, t := range threads {
		if t.TEB != 0 && t.TEB >= r.Start && t.TEB < r.End() {
			return fmt.Sprintf("TEB of thread %d", t.ID)
		}
	}
	if n := idx.Name(r.Start); n != "" {
		return n
	}
	return ""
}
