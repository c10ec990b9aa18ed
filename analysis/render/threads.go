package render

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/dumpmap/dumpmap/analysis/process"
	"github.com/dumpmap/dumpmap/minidump"
)

// Threads is `dumpmap threads`: the ThreadList, with names and ThreadInfoList
// entries.
type Threads struct {
	File     string   `json:"file"`
	Threads  []Thread `json:"threads"`
	Warnings []string `json:"warnings"`

	af       AddrFormat
	long     bool
	withInfo bool
}

// Thread is one thread of the ThreadList.
type Thread struct {
	ID              uint32      `json:"id"`
	TEB             Hex         `json:"teb"`
	SuspendCount    uint32      `json:"suspend_count"`
	PriorityClass   uint32      `json:"priority_class"`
	Priority        uint32      `json:"priority"`
	Stack           MemDesc     `json:"stack"`
	Context         Location    `json:"context"`
	BackingStore    *MemDesc    `json:"backing_store,omitempty"` // ThreadExList (IA64) only
	Name            string      `json:"name,omitempty"`
	ExceptionThread bool        `json:"exception_thread"`
	DumpThread      bool        `json:"dump_thread"`
	Info            *ThreadInfo `json:"info,omitempty"`
}

// MemDesc is captured memory: the address range and where its bytes are.
type MemDesc struct {
	Start  Hex    `json:"start"`
	End    Hex    `json:"end"`
	Size   uint64 `json:"size"`
	Offset int64  `json:"offset"` // file offset of the bytes
}

// Location locates data in the file.
type Location struct {
	Offset int64  `json:"offset"`
	Size   uint64 `json:"size"`
}

// ThreadInfo is a thread's entry in the ThreadInfoList.
type ThreadInfo struct {
	DumpFlags    Hex      `json:"dump_flags"`
	Flags        []string `json:"flags"` // names of the DumpFlags bits
	DumpError    Hex      `json:"dump_error"`
	ExitStatus   Hex      `json:"exit_status"`
	CreateTime   string   `json:"create_time,omitempty"` // RFC 3339, UTC
	ExitTime     string   `json:"exit_time,omitempty"`
	KernelTimeMS int64    `json:"kernel_time_ms"`
	UserTimeMS   int64    `json:"user_time_ms"`
	StartAddress Hex      `json:"start_address"`
	Start        string   `json:"start,omitempty"` // StartAddress as module+offset
	Affinity     Hex      `json:"affinity"`
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

// NewThreads lists the threads of the dump of p, shown as file; with long the
// text gives every field, one block per thread.
func NewThreads(file string, p *process.Process, long bool, warn *Warnings) *Threads {
	f := p.File()
	threads, err := f.Threads()
	warn.Add(err)
	if !f.HasStream(minidump.StreamThreadList) && !f.HasStream(minidump.StreamThreadExList) {
		warn.Addf("the dump has no ThreadList stream")
	}
	names := map[uint32]string{}
	tn, err := f.ThreadNames()
	warn.Add(err)
	for _, n := range tn {
		names[n.ThreadID] = n.Name
	}
	infos := map[uint32]*minidump.ThreadInfo{}
	ti, err := f.ThreadInfos()
	warn.Add(err)
	for i := range ti {
		infos[ti[i].ThreadID] = &ti[i]
	}
	var excTID uint32
	hasExc := false
	if x, err := f.Exception(); x != nil {
		excTID, hasExc = x.ThreadID, true
	} else {
		warn.Add(err)
	}
	var dumpTID uint32
	hasDumpTID := false
	if bi, err := f.BreakpadInfo(); bi != nil && bi.Validity&1 != 0 {
		dumpTID, hasDumpTID = bi.DumpThreadID, true
	} else {
		warn.Add(err)
	}
	mods, err := f.Modules()
	warn.Add(err)
	unl, err := f.UnloadedModules()
	warn.Add(err)
	idx := process.NewModuleIndex(mods, unl)

	list := make([]Thread, len(threads))
	for i, t := range threads {
		j := Thread{
			ID: t.ID, TEB: Hex(t.TEB), SuspendCount: t.SuspendCount, PriorityClass: t.PriorityClass, Priority: t.Priority,
			Stack:           MemDesc{Start: Hex(t.Stack.Start), End: Hex(t.Stack.End()), Size: uint64(t.Stack.Data.Size), Offset: int64(t.Stack.Data.RVA)},
			Context:         Location{Offset: int64(t.Context.RVA), Size: uint64(t.Context.Size)},
			Name:            names[t.ID],
			ExceptionThread: hasExc && t.ID == excTID,
			DumpThread:      hasDumpTID && t.ID == dumpTID,
		}
		if b := t.BackingStore; b.Data.Size != 0 || b.Start != 0 {
			j.BackingStore = &MemDesc{Start: Hex(b.Start), End: Hex(b.End()), Size: uint64(b.Data.Size), Offset: int64(b.Data.RVA)}
		}
		if in := infos[t.ID]; in != nil {
			ij := &ThreadInfo{
				DumpFlags: Hex(in.DumpFlags), Flags: []string{}, DumpError: Hex(in.DumpError), ExitStatus: Hex(in.ExitStatus),
				KernelTimeMS: in.KernelTime.Milliseconds(), UserTimeMS: in.UserTime.Milliseconds(),
				StartAddress: Hex(in.StartAddress), Start: idx.Name(in.StartAddress), Affinity: Hex(in.Affinity),
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

	return &Threads{File: file, Threads: list, Warnings: warn.List(), af: dumpAddr(f), long: long, withInfo: len(infos) > 0}
}

// WriteJSON writes the JSON object.
func (ts *Threads) WriteJSON(w io.Writer) error { return WriteJSON(w, ts) }

// WriteText writes the text.
func (ts *Threads) WriteText(w io.Writer) error {
	list, af := ts.Threads, ts.af
	fmt.Fprintf(w, "%s\n", Plural(len(list), "thread"))
	if len(list) == 0 {
		return nil
	}
	if ts.long {
		writeThreadsLong(w, list, af)
		return nil
	}
	head := []string{"", ">TID", "TEB", "STACK (captured)", ">SIZE", ">CONTEXT"}
	if ts.withInfo {
		head = append(head, "START")
	}
	head = append(head, "NAME")
	tb := NewTable(head...)
	for _, t := range list {
		row := []string{marks(t), strconv.FormatUint(uint64(t.ID), 10), af.Format(uint64(t.TEB)),
			af.Format(uint64(t.Stack.Start)) + "-" + af.Format(uint64(t.Stack.End)), Size(t.Stack.Size),
			fmt.Sprintf("%#x+%#x", t.Context.Offset, t.Context.Size)}
		if ts.withInfo {
			start := "-"
			if t.Info != nil {
				start = t.Info.Start
				if start == "" {
					start = af.Format(uint64(t.Info.StartAddress))
				}
			}
			row = append(row, start)
		}
		row = append(row, OrDash(t.Name))
		tb.Row(row...)
	}
	return tb.Print(w, "")
}

func marks(t Thread) string {
	m := ""
	if t.ExceptionThread {
		m += "*"
	}
	if t.DumpThread {
		m += "w"
	}
	return m
}

func writeThreadsLong(w io.Writer, list []Thread, af AddrFormat) {
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
		fmt.Fprintln(w, Clean(title))
		field := func(label, format string, args ...any) {
			fmt.Fprintf(w, "    %-15s %s\n", label+":", Clean(fmt.Sprintf(format, args...)))
		}
		field("TEB", "%s", af.Format(uint64(t.TEB)))
		field("stack", "%s-%s (%s captured, file offset %#x)", af.Format(uint64(t.Stack.Start)), af.Format(uint64(t.Stack.End)), Size(t.Stack.Size), t.Stack.Offset)
		field("context", "file offset %#x, %d bytes", t.Context.Offset, t.Context.Size)
		field("priority", "class %d, priority %d, suspend count %d", t.PriorityClass, t.Priority, t.SuspendCount)
		if b := t.BackingStore; b != nil {
			field("backing store", "%s-%s (%s)", af.Format(uint64(b.Start)), af.Format(uint64(b.End)), Size(b.Size))
		}
		if in := t.Info; in != nil {
			start := af.Format(uint64(in.StartAddress))
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
