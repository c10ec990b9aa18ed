package render

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"sort"
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
	in := newRangeNamer(threads, idx)
	for i, r := range all {
		list[i] = Range{
			Start: Hex(r.Start), End: Hex(r.End()), Size: r.Size, Source: r.Source.String(),
			Offset: r.Offset, Available: r.Available, Missing: r.Size - r.Available,
			Contents: in.contents(r),
		}
		tot.Ranges++
		tot.Size += r.Size
		tot.Captured += r.Available
		tot.Missing += r.Size - r.Available
	}
	return &Memory{File: file, Ranges: list, Totals: tot, Warnings: warn.List(), af: dumpAddr(f)}
}

// WriteJSON writes the JSON object.
// The ranges are streamed (byte for byte what encoding/json writes, checked by
// TestMemoryJSONEqualsEncoder): tens of thousands of them encoded through
// reflection and indented in one buffer took 100 MB.
func (mem *Memory) WriteJSON(w io.Writer) error {
	o := newJSONObject(w)
	o.field("file", mem.File)
	o.list("ranges", len(mem.Ranges), func(buf []byte, i int) []byte {
		r := &mem.Ranges[i]
		const k = "\n      "
		buf = append(buf, k+`"start": "`...)
		buf = AddrFormat(0).append(buf, uint64(r.Start))
		buf = append(buf, `",`+k+`"end": "`...)
		buf = AddrFormat(0).append(buf, uint64(r.End))
		buf = append(buf, `",`+k+`"size": `...)
		buf = strconv.AppendUint(buf, r.Size, 10)
		buf = append(buf, ","+k+`"source": `...)
		buf = appendJSONString(buf, r.Source)
		buf = append(buf, ","+k+`"offset": `...)
		buf = strconv.AppendInt(buf, r.Offset, 10)
		buf = append(buf, ","+k+`"available": `...)
		buf = strconv.AppendUint(buf, r.Available, 10)
		buf = append(buf, ","+k+`"missing": `...)
		buf = strconv.AppendUint(buf, r.Missing, 10)
		if r.Contents != "" {
			buf = append(buf, ","+k+`"contents": `...)
			buf = appendJSONString(buf, r.Contents)
		}
		return buf
	})
	o.field("totals", mem.Totals)
	o.field("warnings", mem.Warnings)
	return o.close()
}

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
	// Laid out as a Table would lay it out, but each row appended straight into
	// one line buffer, twice (to measure, to print): a MiniDumpNormal lists tens of
	// thousands of ranges.
	head := [...]string{"START", "END", "SIZE", "SOURCE", "OFFSET", "MISSING", "CONTENTS"}
	var width [len(head)]int
	for c, h := range head {
		width[c] = len(h)
	}
	var sizes sizeMemo
	var line []byte
	// row appends the cells of r (all but the last are ASCII), recording where
	// each ends.
	var ends [len(head)]int
	row := func(line []byte, r *Range) []byte {
		line = af.append(line, uint64(r.Start))
		ends[0] = len(line)
		line = af.append(line, uint64(r.End))
		ends[1] = len(line)
		line = sizes.append(line, r.Size)
		ends[2] = len(line)
		line = append(line, r.Source...)
		ends[3] = len(line)
		line = appendHexOffset(line, r.Offset)
		ends[4] = len(line)
		if r.Missing > 0 {
			line = strconv.AppendUint(line, r.Missing, 10)
		} else {
			line = append(line, '-')
		}
		ends[5] = len(line)
		line = append(line, Clean(OrDash(r.Contents))...)
		ends[6] = len(line)
		return line
	}
	for i := range list {
		line = row(line[:0], &list[i])
		for c, start := 0, 0; c < len(head)-1; c++ {
			width[c] = max(width[c], ends[c]-start)
			start = ends[c]
		}
	}
	right := [len(head)]bool{2: true, 4: true, 5: true}
	bw := bufio.NewWriterSize(w, 256<<10)
	// layout pads the cells of line (ending at ends) into out.
	layout := func(out, line []byte) []byte {
		start := 0
		for c := range head {
			v := line[start:ends[c]]
			start = ends[c]
			if c == len(head)-1 {
				out = append(out, v...)
				break
			}
			if right[c] {
				out = append(appendSpaces(out, width[c]-len(v)), v...)
			} else {
				out = appendSpaces(append(out, v...), width[c]-len(v))
			}
			out = append(out, "  "...)
		}
		return append(bytes.TrimRight(out, " "), '\n')
	}
	var out []byte
	line = line[:0]
	for c, h := range head {
		line = append(line, h...)
		ends[c] = len(line)
	}
	out = layout(out[:0], line)
	bw.Write(out)
	for i := range list {
		line = row(line[:0], &list[i])
		out = layout(out[:0], line)
		bw.Write(out)
	}
	return bw.Flush()
}

// appendHexOffset appends a file offset as fmt's %#x formats it.
func appendHexOffset(b []byte, off int64) []byte {
	if off < 0 {
		return fmt.Appendf(b, "%#x", off)
	}
	return strconv.AppendUint(append(b, '0', 'x'), uint64(off), 16)
}

// rangeNamer says what a captured range holds, when the thread and module lists
// tell: "stack of thread 3060", "TEB of thread 3060", "ntdll.dll+0x1000". The
// first thread in the list whose stack overlaps the range names it, else the first
// whose TEB lies in it, else the module. A MiniDumpNormal holds tens of thousands
// of ranges: the threads' stacks and TEBs are sorted once, so that naming a range
// looks at the few stacks and TEBs near it instead of every thread.
type rangeNamer struct {
	threads []minidump.Thread
	stacks  []span  // the captured stacks, by start; end is the prefix maximum
	tebs    []tebAt // the TEBs, by address
	idx     *process.ModuleIndex
}

type span struct {
	start, end, maxEnd uint64
	thread             int // index in the thread list
}

type tebAt struct {
	addr   uint64
	thread int
}

func newRangeNamer(threads []minidump.Thread, idx *process.ModuleIndex) *rangeNamer {
	n := &rangeNamer{threads: threads, idx: idx}
	for i, t := range threads {
		if t.Stack.Data.Size > 0 {
			n.stacks = append(n.stacks, span{start: t.Stack.Start, end: t.Stack.End(), thread: i})
		}
		if t.TEB != 0 {
			n.tebs = append(n.tebs, tebAt{t.TEB, i})
		}
	}
	keysort.Stable(n.stacks, func(s *span) uint64 { return s.start })
	keysort.Stable(n.tebs, func(t *tebAt) uint64 { return t.addr })
	var m uint64
	for i := range n.stacks {
		m = max(m, n.stacks[i].end)
		n.stacks[i].maxEnd = m
	}
	return n
}

func (n *rangeNamer) contents(r minidump.MemoryRange) string {
	// The stacks that start below the range's end and end above its start: walk
	// down from the last that starts below the end while any earlier one could
	// still reach the range.
	best := -1
	j := sort.Search(len(n.stacks), func(i int) bool { return n.stacks[i].start >= r.End() })
	for j--; j >= 0 && n.stacks[j].maxEnd > r.Start; j-- {
		if s := n.stacks[j]; s.end > r.Start && (best < 0 || s.thread < best) {
			best = s.thread
		}
	}
	if best >= 0 {
		return fmt.Sprintf("stack of thread %d", n.threads[best].ID)
	}
	k := sort.Search(len(n.tebs), func(i int) bool { return n.tebs[i].addr >= r.Start })
	for ; k < len(n.tebs) && n.tebs[k].addr < r.End(); k++ {
		if best < 0 || n.tebs[k].thread < best {
			best = n.tebs[k].thread
		}
	}
	if best >= 0 {
		return fmt.Sprintf("TEB of thread %d", n.threads[best].ID)
	}
	if name := n.idx.Name(r.Start); name != "" {
		return name
	}
	return ""
}
