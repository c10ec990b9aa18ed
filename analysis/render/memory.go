package render

import (
	"fmt"
	"io"
	"strconv"

	"github.com/dumpmap/dumpmap/analysis/process"
	"github.com/dumpmap/dumpmap/internal/keysort"
	"github.com/dumpmap/dumpmap/minidump"
)

// Memory is `dumpmap memory`: the captured memory ranges, sorted by address.
type Memory struct {
	File     string       `json:"file"`
	Ranges   []Range      `json:"ranges"`
	Totals   MemoryTotals `json:"totals"`
	Warnings []string     `json:"warnings"`

	af AddrFormat
}

// Range is one captured memory range.
type Range struct {
	Start     Hex    `json:"start"`
	End       Hex    `json:"end"`
	Size      uint64 `json:"size"`      // bytes the list declares
	Source    string `json:"source"`    // "MemoryList" or "Memory64List"
	Offset    int64  `json:"offset"`    // file offset of the bytes
	Available uint64 `json:"available"` // bytes the file holds
	Missing   uint64 `json:"missing"`   // size - available
	Contents  string `json:"contents,omitempty"`
}

// MemoryTotals sums the ranges up.
type MemoryTotals struct {
	Ranges   int    `json:"ranges"`
	Size     uint64 `json:"size"`
	Captured uint64 `json:"captured"`
	Missing  uint64 `json:"missing"`
}

// NewMemory lists the memory ranges of the dump of p, shown as file, from its
// MemoryList and Memory64List.
func NewMemory(file string, p *process.Process, warn *Warnings) *Memory {
	f := p.File()
	var all []minidump.MemoryRange
	if f.HasStream(minidump.StreamMemoryList) {
		rs, err := f.MemoryList()
		warn.Add(err)
		all = append(all, rs...)
	}
	if f.HasStream(minidump.StreamMemory64List) {
		rs, err := f.Memory64List()
		warn.Add(err)
		all = append(all, rs...)
	}
	if !f.HasStream(minidump.StreamMemoryList) && !f.HasStream(minidump.StreamMemory64List) {
		warn.Addf("the dump has no MemoryList or Memory64List stream: no process memory was captured")
	}
	keysort.Stable(all, func(r *minidump.MemoryRange) uint64 { return r.Start })

	threads, err := f.Threads()
	warn.Add(err)
	mods, err := f.Modules()
	warn.Add(err)
	idx := process.NewModuleIndex(mods, nil)

	list := make([]Range, len(all))
	var tot MemoryTotals
	for i, r := range all {
		list[i] = Range{
			Start: Hex(r.Start), End: Hex(r.End()), Size: r.Size, Source: r.Source.String(),
			Offset: r.Offset, Available: r.Available, Missing: r.Size - r.Available,
			Contents: rangeContents(r, threads, idx),
		}
		tot.Ranges++
		tot.Size += r.Size
		tot.Captured += r.Available
		tot.Missing += r.Size - r.Available
	}
	return &Memory{File: file, Ranges: list, Totals: tot, Warnings: warn.List(), af: dumpAddr(f)}
}

// WriteJSON writes the JSON object.
func (mem *Memory) WriteJSON(w io.Writer) error { return WriteJSON(w, mem) }

// WriteText writes the text.
func (mem *Memory) WriteText(w io.Writer) error {
	list, tot, af := mem.Ranges, mem.Totals, mem.af
	fmt.Fprintf(w, "%s, %s captured", Plural(tot.Ranges, "range"), Size(tot.Captured))
	if tot.Missing > 0 {
		fmt.Fprintf(w, ", %s missing (truncated file)", Size(tot.Missing))
	}
	fmt.Fprintln(w)
	if len(list) == 0 {
		return nil
	}
	tb := NewTable("START", "END", ">SIZE", "SOURCE", ">OFFSET", ">MISSING", "CONTENTS")
	for _, r := range list {
		miss := "-"
		if r.Missing > 0 {
			miss = strconv.FormatUint(r.Missing, 10)
		}
		tb.Row(af.Format(uint64(r.Start)), af.Format(uint64(r.End)), Size(r.Size), r.Source,
			fmt.Sprintf("%#x", r.Offset), miss, OrDash(r.Contents))
	}
	return tb.Print(w, "")
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
