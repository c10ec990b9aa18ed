package main

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/dumpmap/dumpmap/analysis/process"
	"github.com/dumpmap/dumpmap/minidump"
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

type threadJSON struct {
	ID              uint32          `json:"id"`
	TEB             hexNum          `json:"teb"`
	SuspendCount    uint32          `json:"suspend_count"`
	PriorityClass   uint32          `json:"priority_class"`
	Priority        uint32          `json:"priority"`
	Stack           memDescJSON     `json:"stack"`
	Context         locationJSON    `json:"context"`
	BackingStore    *memDescJSON    `json:"backing_store,omitempty"` // ThreadExList (IA64) only
	Name            string          `json:"name,omitempty"`
	ExceptionThread bool            `json:"exception_thread"`
	DumpThread      bool            `json:"dump_thread"`
	Info            *threadInfoJSON `json:"info,omitempty"`
}

// memDescJSON is captured memory: the address range and where its bytes are.
type memDescJSON struct {
	Start  hexNum `json:"start"`
	End    hexNum `json:"end"`
	Size   uint64 `json:"size"`
	Offset int64  `json:"offset"` // file offset of the bytes
}

// locationJSON locates data in the file.
type locationJSON struct {
	Offset int64  `json:"offset"`
	Size   uint64 `json:"size"`
}

type threadInfoJSON struct {
	DumpFlags    hexNum   `json:"dump_flags"`
	Flags        []string `json:"flags"` // names of the DumpFlags bits
	DumpError    hexNum   `json:"dump_error"`
	ExitStatus   hexNum   `json:"exit_status"`
	CreateTime   string   `json:"create_time,omitempty"` // RFC 3339, UTC
	ExitTime     string   `json:"exit_time,omitempty"`
	KernelTimeMS int64    `json:"kernel_time_ms"`
	UserTimeMS   int64    `json:"user_time_ms"`
	StartAddress hexNum   `json:"start_address"`
	Start        string   `json:"start,omitempty"` // StartAddress as module+offset
	Affinity     hexNum   `json:"affinity"`
}

var threadInfoFlagNames = []struct {
	bit  uint32
	name string
}{
	{minidump.ThreadInfoErrorThread, "error-thread"},
	{minidump.ThreadInfoWritingThread, "writing-thread"},
	{minidump.ThreadInfoExitedThread, "exited"},
	{minidump.ThreadInfoInvalidInfo, "invalid-info"},
	{minidump.ThreadInfoInvalidContext, "invalid-context"},
	{minidump.ThreadInfoInvalidTEB, "invalid-teb"},
}

func runThreads(e *env, args []string, long bool) error {
	d, err := openDump(args[0])
	if err != nil {
		return err
	}
	defer d.Close()
	defer d.flush(e)
	af := newAddrFmt(d.pointerBits())

	threads, err := d.Threads()
	d.warn(err)
	if !d.HasStream(minidump.StreamThreadList) && !d.HasStream(minidump.StreamThreadExList) {
		d.note("the dump has no ThreadList stream")
	}
	names := map[uint32]string{}
	tn, err := d.ThreadNames()
	d.warn(err)
	for _, n := range tn {
		names[n.ThreadID] = n.Name
	}
	infos := map[uint32]*minidump.ThreadInfo{}
	ti, err := d.ThreadInfos()
	d.warn(err)
	for i := range ti {
		infos[ti[i].ThreadID] = &ti[i]
	}
	var excTID uint32
	hasExc := false
	if x, err := d.Exception(); x != nil {
		excTID, hasExc = x.ThreadID, true
	} else {
		d.warn(err)
	}
	var dumpTID uint32
	hasDumpTID := false
	if bi, err := d.BreakpadInfo(); bi != nil && bi.Validity&1 != 0 {
		dumpTID, hasDumpTID = bi.DumpThreadID, true
	} else {
		d.warn(err)
	}
	mods, err := d.Modules()
	d.warn(err)
	unl, err := d.UnloadedModules()
	d.warn(err)
	idx := process.NewModuleIndex(mods, unl)

	list := make([]threadJSON, len(threads))
	for i, t := range threads {
		j := threadJSON{
			ID: t.ID, TEB: hexNum(t.TEB), SuspendCount: t.SuspendCount, PriorityClass: t.PriorityClass, Priority: t.Priority,
			Stack:           memDescJSON{Start: hexNum(t.Stack.Start), End: hexNum(t.Stack.End()), Size: uint64(t.Stack.Data.Size), Offset: int64(t.Stack.Data.RVA)},
			Context:         locationJSON{Offset: int64(t.Context.RVA), Size: uint64(t.Context.Size)},
			Name:            names[t.ID],
			ExceptionThread: hasExc && t.ID == excTID,
			DumpThread:      hasDumpTID && t.ID == dumpTID,
		}
		if b := t.BackingStore; b.Data.Size != 0 || b.Start != 0 {
			j.BackingStore = &memDescJSON{Start: hexNum(b.Start), End: hexNum(b.End()), Size: uint64(b.Data.Size), Offset: int64(b.Data.RVA)}
		}
		if in := infos[t.ID]; in != nil {
			ij := &threadInfoJSON{
				DumpFlags: hexNum(in.DumpFlags), Flags: []string{}, DumpError: hexNum(in.DumpError), ExitStatus: hexNum(in.ExitStatus),
				KernelTimeMS: in.KernelTime.Milliseconds(), UserTimeMS: in.UserTime.Milliseconds(),
				StartAddress: hexNum(in.StartAddress), Start: idx.Name(in.StartAddress), Affinity: hexNum(in.Affinity),
			}
			for _, f := range threadInfoFlagNames {
				if in.DumpFlags&f.bit != 0 {
					ij.Flags = append(ij.Flags, f.name)
				}
			}
			if !in.CreateTime.IsZero() {
				ij.CreateTime = in.CreateTime.Format(time.RFC3339)
			}
			if !in.ExitTime.IsZero() {
				ij.ExitTime = in.ExitTime.Format(time.RFC3339)
			}
			if in.DumpFlags&minidump.ThreadInfoWritingThread != 0 {
				j.DumpThread = true
			}
			j.Info = ij
		}
		list[i] = j
	}

	if e.json {
		return writeJSON(e.stdout, struct {
			File     string       `json:"file"`
			Threads  []threadJSON `json:"threads"`
			Warnings []string     `json:"warnings"`
		}{d.path, list, d.warnings()})
	}
	fmt.Fprintf(e.stdout, "%s\n", plural(len(list), "thread"))
	if len(list) == 0 {
		return nil
	}
	if long {
		printThreadsLong(e.stdout, list, af)
		return nil
	}
	withInfo := len(infos) > 0
	head := []string{"", ">TID", "TEB", "STACK (captured)", ">SIZE", ">CONTEXT"}
	if withInfo {
		head = append(head, "START")
	}
	head = append(head, "NAME")
	tb := newTable(head...)
	for _, t := range list {
		row := []string{marks(t), strconv.FormatUint(uint64(t.ID), 10), af.f(uint64(t.TEB)),
			af.f(uint64(t.Stack.Start)) + "-" + af.f(uint64(t.Stack.End)), size(t.Stack.Size),
			fmt.Sprintf("%#x+%#x", t.Context.Offset, t.Context.Size)}
		if withInfo {
			start := "-"
			if t.Info != nil {
				start = t.Info.Start
				if start == "" {
					start = af.f(uint64(t.Info.StartAddress))
				}
			}
			row = append(row, start)
		}
		row = append(row, orDash(t.Name))
		tb.row(row...)
	}
	tb.write(e.stdout, "")
	return nil
}

func marks(t threadJSON) string {
	m := ""
	if t.ExceptionThread {
		m += "*"
	}
	if t.DumpThread {
		m += "w"
	}
	return m
}

func printThreadsLong(w io.Writer, list []threadJSON, af addrFmt) {
	for i, t := range list {
		if i > 0 {
			fmt.Fprintln(w)
		}
		title := fmt.Sprintf("thread %d (%#x)", t.ID, t.ID)
		if t.Name != "" {
			title += " " + strconv.Quote(t.Name)
		}
		var roles []string
		if t.ExceptionThread {
			roles = append(roles, "raised the exception")
		}
		if t.DumpThread {
			roles = append(roles, "wrote the dump")
		}
		if len(roles) > 0 {
			title += ": " + strings.Join(roles, ", ")
		}
		fmt.Fprintln(w, clean(title))
		field := func(label, format string, args ...any) {
			fmt.Fprintf(w, "    %-15s %s\n", label+":", clean(fmt.Sprintf(format, args...)))
		}
		field("TEB", "%s", af.f(uint64(t.TEB)))
		field("stack", "%s-%s (%s captured, file offset %#x)", af.f(uint64(t.Stack.Start)), af.f(uint64(t.Stack.End)), size(t.Stack.Size), t.Stack.Offset)
		field("context", "file offset %#x, %d bytes", t.Context.Offset, t.Context.Size)
		field("priority", "class %d, priority %d, suspend count %d", t.PriorityClass, t.Priority, t.SuspendCount)
		if b := t.BackingStore; b != nil {
			field("backing store", "%s-%s (%s)", af.f(uint64(b.Start)), af.f(uint64(b.End)), size(b.Size))
		}
		if in := t.Info; in != nil {
			start := af.f(uint64(in.StartAddress))
			if in.Start != "" {
				start = in.Start + " (" + start + ")"
			}
			field("start address", "%s", start)
			if in.CreateTime != "" {
				field("created", "%s", in.CreateTime)
			}
			if in.ExitTime != "" {
				field("exited", "%s, status %s", in.ExitTime, in.ExitStatus)
			}
			field("CPU time", "user %s, kernel %s", time.Duration(in.UserTimeMS)*time.Millisecond, time.Duration(in.KernelTimeMS)*time.Millisecond)
			field("affinity", "%s", in.Affinity)
			fl := "none"
			if len(in.Flags) > 0 {
				fl = strings.Join(in.Flags, ", ")
			}
			field("dump flags", "%s (%s)", in.DumpFlags, fl)
			if in.DumpError != 0 {
				field("dump error", "%s", in.DumpError)
			}
		}
	}
}
