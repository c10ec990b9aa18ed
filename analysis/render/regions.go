package render

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"strconv"

	"github.com/dumpmap/dumpmap/analysis"
	"github.com/dumpmap/dumpmap/minidump"
)

// RegionFilter selects regions, as the regions command's --usage, --state,
// --type, --protect and --min-size flags do. A nil set selects every value; the
// zero RegionFilter selects every region.
type RegionFilter struct {
	Usages   map[analysis.Usage]bool
	States   map[minidump.MemState]bool
	Types    map[minidump.MemType]bool
	Protects []minidump.Protect // a region matches if its protection has one of these bits
	MinSize  uint64
}

// Match reports whether the filter selects r.
func (f *RegionFilter) Match(r *analysis.Region) bool {
	if f.Usages != nil && !f.Usages[r.Usage] {
		return false
	}
	if f.States != nil && !f.States[r.State] {
		return false
	}
	if f.Types != nil && !f.Types[r.Type] {
		return false
	}
	if len(f.Protects) > 0 {
		ok := false
		for _, p := range f.Protects {
			if r.Protect&p != 0 {
				ok = true
			}
		}
		if !ok {
			return false
		}
	}
	return r.Size >= f.MinSize
}

// Regions is `dumpmap regions`: the address space region by region, like
// WinDbg's !address. Its JSON object is written as a stream (WriteJSON), so that a
// map of millions of regions is never held twice in memory.
type Regions struct {
	File string
	m    *analysis.Map
	sel  []int
	warn []string
}

type Region struct {
	Base              Hex    `json:"base"`
	End               Hex    `json:"end"`
	Size              uint64 `json:"size"`
	State             string `json:"state"`
	Type              string `json:"type"`
	Protect           string `json:"protect"`
	AllocationBase    Hex    `json:"allocation_base"`
	AllocationProtect string `json:"allocation_protect"`
	Usage             string `json:"usage"`
	Detail            string `json:"detail"`
	Module            string `json:"module,omitempty"`
	Unloaded          bool   `json:"unloaded,omitempty"`
	ThreadID          uint32 `json:"thread_id,omitempty"`
	Guard             bool   `json:"guard,omitempty"`
	Heap              Hex    `json:"heap,omitempty"`
	InDump            bool   `json:"in_dump,omitempty"` // partial maps: the region's bytes are in the dump
}

// NewRegions selects the regions of m that filter selects, or with addr the
// region that holds *addr and the rest of its allocation (a note says so when
// *addr lies outside the address space).
func NewRegions(file string, m *analysis.Map, filter RegionFilter, addr *uint64, warn *Warnings) *Regions {
	var sel []int
	if addr != nil {
		if i := findAddr(m, *addr, warn); i >= 0 {
			lo, hi := i, i+1
			r := &m.Regions[i]
			if !r.IsFree() && r.State != 0 {
				for lo > 0 && m.Regions[lo-1].AllocationBase == r.AllocationBase && !m.Regions[lo-1].IsFree() {
					lo--
				}
				for hi < len(m.Regions) && m.Regions[hi].AllocationBase == r.AllocationBase && !m.Regions[hi].IsFree() {
					hi++
				}
			}
			for k := lo; k < hi; k++ {
				sel = append(sel, k)
			}
		}
	} else {
		sel = make([]int, 0, len(m.Regions))
		for i := range m.Regions {
			if filter.Match(&m.Regions[i]) {
				sel = append(sel, i)
			}
		}
	}
	return &Regions{File: file, m: m, sel: sel, warn: warn.List()}
}

// findAddr returns the index of the region holding addr, or -1 with a warning
// that addr lies outside the address space.
func findAddr(m *analysis.Map, addr uint64, warn *Warnings) int {
	i := m.Find(addr)
	if i < 0 {
		warn.Addf("address %#x is outside the user address space (%#x-%#x)", addr, uint64(0), m.Space.End-1)
	}
	return i
}

// Len returns the number of regions selected.
func (rs *Regions) Len() int { return len(rs.sel) }

// Region returns the JSON shape of the i-th region selected.
func (rs *Regions) Region(i int) Region { return RegionOf(rs.m, &rs.m.Regions[rs.sel[i]]) }

// WriteJSON writes the JSON object: file, partial, source, space, regions, notes
// and warnings, byte for byte as encoding/json would write it.
func (rs *Regions) WriteJSON(w io.Writer) error {
	m := rs.m
	o := newJSONObject(w)
	o.field("file", rs.File)
	o.field("partial", m.Partial)
	o.field("source", m.Source.String())
	o.field("space", SpaceOf(m.Space))
	var names regionNames
	o.list("regions", len(rs.sel), func(buf []byte, i int) []byte {
		return names.appendJSON(buf, m, &m.Regions[rs.sel[i]])
	})
	o.field("notes", m.NoteTexts())
	o.field("warnings", rs.warn)
	return o.close()
}

// WriteText writes the map header and the table, streamed too: one pass for the
// column widths, one to print. It lays the rows out as StreamTable does, but
// appends each cell with strconv into one line buffer: a listing of 200,000
// regions through fmt and a table of strings took six times as long as LLVM's
// obj2yaml took to print the same regions.
func (rs *Regions) WriteText(w io.Writer) error {
	m := rs.m
	writeMapHeader(w, m)
	t := regionTable{m: m, af: mapAddr(m)}
	for c, h := range regionHead {
		t.width[c] = len(h)
	}
	for _, i := range rs.sel {
		t.measure(&m.Regions[i])
	}
	bw := bufio.NewWriterSize(w, 256<<10)
	var cells [len(regionHead)][]byte
	for c, h := range regionHead {
		cells[c] = []byte(h)
	}
	line := t.layout(nil, &cells)
	bw.Write(line)
	for _, i := range rs.sel {
		line = t.row(line[:0], &m.Regions[i])
		bw.Write(line)
	}
	if err := bw.Flush(); err != nil {
		return err
	}
	_, err := fmt.Fprintf(w, "\n%s of %s shown\n", Plural(len(rs.sel), "region"), Plural(len(m.Regions), "region"))
	return err
}

// regionHead is the header of the regions table; SIZE (column 3) is right-aligned.
var regionHead = [...]string{"", "BASE", "END", "SIZE", "TYPE", "STATE", "PROTECT", "USAGE", "DETAILS"}

const regionSizeCol = 3

// regionTable lays out the rows of the regions table.
type regionTable struct {
	m     *analysis.Map
	af    AddrFormat
	width [len(regionHead)]int
	names regionNames
	sizes sizeMemo
	tmp   []byte
}

// measure widens the columns to fit r's row. The last column (DETAILS) is never
// padded, so it is not measured; only it can hold text from the dump, the others
// are ASCII: one byte a column.
func (t *regionTable) measure(r *analysis.Region) {
	w := &t.width
	if t.allocStart(r) {
		w[0] = max(w[0], 1)
	}
	w[1] = max(w[1], t.af.width(r.Base))
	w[2] = max(w[2], t.af.width(r.End()))
	t.tmp = t.sizes.append(t.tmp[:0], r.Size)
	w[3] = max(w[3], len(t.tmp))
	w[4] = max(w[4], len(t.names.typ(r.Type)))
	w[5] = max(w[5], len(stateName(r.State)))
	w[6] = max(w[6], len(t.names.protect(r.Protect)))
	w[7] = max(w[7], len(r.Usage.String()))
}

// allocStart reports whether r starts an allocation (the "+" of the first column).
func (t *regionTable) allocStart(r *analysis.Region) bool {
	return !r.IsFree() && r.State != 0 && r.Base == r.AllocationBase
}

// row appends r's row to line, laid out as layout lays out cells.
func (t *regionTable) row(line []byte, r *analysis.Region) []byte {
	w := &t.width
	cell := func(line []byte, v string, c int) []byte {
		line = append(line, v...)
		return append(appendSpaces(line, w[c]-len(v)), "  "...)
	}
	mark := ""
	if t.allocStart(r) {
		mark = "+"
	}
	line = cell(line, mark, 0)
	n := len(line)
	line = t.af.append(line, r.Base)
	line = append(appendSpaces(line, w[1]-(len(line)-n)), "  "...)
	n = len(line)
	line = t.af.append(line, r.End())
	line = append(appendSpaces(line, w[2]-(len(line)-n)), "  "...)
	t.tmp = t.sizes.append(t.tmp[:0], r.Size)
	line = append(appendSpaces(line, w[3]-len(t.tmp)), t.tmp...)
	line = append(line, "  "...)
	line = cell(line, t.names.typ(r.Type), 4)
	line = cell(line, stateName(r.State), 5)
	line = cell(line, t.names.protect(r.Protect), 6)
	line = cell(line, r.Usage.String(), 7)
	line = append(line, Clean(t.m.Describe(r))...)
	return append(bytes.TrimRight(line, " "), '\n')
}

// layout appends one line of cells as StreamTable.print lays it out: columns two
// spaces apart, SIZE right-aligned, the last column unpadded, no trailing spaces.
// Every cell but the last is ASCII.
func (t *regionTable) layout(line []byte, cells *[len(regionHead)][]byte) []byte {
	last := len(cells) - 1
	for c, v := range cells[:last] {
		pad := t.width[c] - len(v)
		if c == regionSizeCol {
			line = appendSpaces(line, pad)
			line = append(line, v...)
		} else {
			line = append(line, v...)
			line = appendSpaces(line, pad)
		}
		line = append(line, "  "...)
	}
	line = append(line, cells[last]...)
	return append(bytes.TrimRight(line, " "), '\n')
}

// appendSpaces appends n spaces (none for n <= 0).
func appendSpaces(b []byte, n int) []byte {
	const spaces = "                                "
	n = max(n, 0)
	for n > len(spaces) {
		b = append(b, spaces...)
		n -= len(spaces)
	}
	return append(b, spaces[:n]...)
}

// sizeMemo remembers the sizes formatted last, in a direct-mapped table: a map of
// 200,000 regions has about a thousand distinct sizes, mostly page multiples.
type sizeMemo struct {
	key [1 << 12]uint64
	n   [1 << 12]uint8
	s   [1 << 12][8]byte // Size never needs more than 8 bytes ("1023 KiB")
}

func (c *sizeMemo) append(b []byte, v uint64) []byte {
	h := (v >> 12 * 0x9e3779b97f4a7c15) >> 52
	if c.n[h] != 0 && c.key[h] == v {
		return append(b, c.s[h][:c.n[h]]...)
	}
	start := len(b)
	b = appendSize(b, v)
	if n := len(b) - start; n <= len(c.s[h]) {
		c.key[h], c.n[h] = v, uint8(n)
		copy(c.s[h][:], b[start:])
	}
	return b
}

// regionNames remembers the names of the protections and types met: a listing
// names the same handful of values for every region, and Protect.String builds
// its name anew each time.
type regionNames struct {
	small    *[0x800]string // names of the protections below 0x800 ("" not yet named)
	protects map[minidump.Protect]string
	types    map[minidump.MemType]string
}

func (n *regionNames) protect(p minidump.Protect) string {
	if p == 0 {
		return ""
	}
	if p < 0x800 {
		if n.small == nil {
			n.small = new([0x800]string)
		}
		if s := n.small[p]; s != "" {
			return s
		}
		s := p.String()
		n.small[p] = s
		return s
	}
	if s, ok := n.protects[p]; ok {
		return s
	}
	if n.protects == nil {
		n.protects = map[minidump.Protect]string{}
	}
	s := p.String()
	if len(n.protects) < 1024 {
		n.protects[p] = s
	}
	return s
}

func (n *regionNames) typ(t minidump.MemType) string {
	switch t {
	case 0, minidump.MemPrivate, minidump.MemMapped, minidump.MemImage:
		return t.String() // constants
	}
	if s, ok := n.types[t]; ok {
		return s
	}
	if n.types == nil {
		n.types = map[minidump.MemType]string{}
	}
	s := t.String()
	if len(n.types) < 1024 {
		n.types[t] = s
	}
	return s
}

func stateName(s minidump.MemState) string {
	if s == 0 {
		return ""
	}
	return s.String()
}

// RegionOf shapes a region of m.
func RegionOf(m *analysis.Map, r *analysis.Region) Region {
	j := Region{
		Base: Hex(r.Base), End: Hex(r.End()), Size: r.Size, State: stateName(r.State), Type: r.Type.String(),
		Protect: r.Protect.String(), AllocationBase: Hex(r.AllocationBase), AllocationProtect: r.AllocationProtect.String(),
		Usage: r.Usage.String(), Detail: m.Describe(r), Module: r.Module(), Unloaded: r.Unloaded, ThreadID: r.ThreadID,
		Guard: r.Guard, Heap: Hex(r.Heap()), InDump: r.Captured,
	}
	return j
}

// appendJSON appends the fields of RegionOf(m, r) as appendRegion does, without
// building the Region: the field names are appended as literals and the names of
// protections and types come from n.
func (n *regionNames) appendJSON(buf []byte, m *analysis.Map, r *analysis.Region) []byte {
	const k = "\n      "
	buf = append(buf, k+`"base": "`...)
	buf = AddrFormat(0).append(buf, r.Base)
	buf = append(buf, `",`+k+`"end": "`...)
	buf = AddrFormat(0).append(buf, r.End())
	buf = append(buf, `",`+k+`"size": `...)
	buf = strconv.AppendUint(buf, r.Size, 10)
	buf = append(buf, ","+k+`"state": `...)
	buf = appendJSONString(buf, stateName(r.State))
	buf = append(buf, ","+k+`"type": `...)
	buf = appendJSONString(buf, n.typ(r.Type))
	buf = append(buf, ","+k+`"protect": `...)
	buf = appendJSONString(buf, n.protect(r.Protect))
	buf = append(buf, ","+k+`"allocation_base": "`...)
	buf = AddrFormat(0).append(buf, r.AllocationBase)
	buf = append(buf, `",`+k+`"allocation_protect": `...)
	buf = appendJSONString(buf, n.protect(r.AllocationProtect))
	buf = append(buf, ","+k+`"usage": `...)
	buf = appendJSONString(buf, r.Usage.String())
	buf = append(buf, ","+k+`"detail": `...)
	buf = appendJSONString(buf, m.Describe(r))
	if mod := r.Module(); mod != "" {
		buf = append(buf, ","+k+`"module": `...)
		buf = appendJSONString(buf, mod)
	}
	if r.Unloaded {
		buf = append(buf, ","+k+`"unloaded": true`...)
	}
	if r.ThreadID != 0 {
		buf = append(buf, ","+k+`"thread_id": `...)
		buf = strconv.AppendUint(buf, uint64(r.ThreadID), 10)
	}
	if r.Guard {
		buf = append(buf, ","+k+`"guard": true`...)
	}
	if h := r.Heap(); h != 0 {
		buf = append(buf, ","+k+`"heap": "0x`...)
		buf = strconv.AppendUint(buf, h, 16)
		buf = append(buf, '"')
	}
	if r.Captured {
		buf = append(buf, ","+k+`"in_dump": true`...)
	}
	return buf
}

// Allocations is `dumpmap regions --allocations`: whole allocations (VMMap's
// tree) instead of regions.
type Allocations struct {
	File        string       `json:"file"`
	Partial     bool         `json:"partial"`
	Allocations []Allocation `json:"allocations"`
	Warnings    []string     `json:"warnings"`

	m *analysis.Map
}

// NewAllocations lists the allocations of m that filter selects (by usage, type
// and size), or with addr the one that holds *addr.
func NewAllocations(file string, m *analysis.Map, f RegionFilter, addr *uint64, warn *Warnings) *Allocations {
	out := &Allocations{File: file, Partial: m.Partial, Allocations: []Allocation{}, m: m}
	if addr != nil {
		findAddr(m, *addr, warn)
	}
	for _, a := range m.Allocations() {
		if addr != nil && (*addr < a.Base || *addr >= a.End()) {
			continue
		}
		if addr == nil && (f.Usages != nil && !f.Usages[a.Usage] || f.Types != nil && !f.Types[a.Type] || a.Size < f.MinSize) {
			continue
		}
		out.Allocations = append(out.Allocations, AllocationOf(&a))
	}
	out.Warnings = warn.List()
	return out
}

// WriteJSON writes the JSON object.
func (l *Allocations) WriteJSON(w io.Writer) error { return WriteJSON(w, l) }

// WriteText writes the map header and the table.
func (l *Allocations) WriteText(w io.Writer) error {
	af := mapAddr(l.m)
	writeMapHeader(w, l.m)
	tb := NewTable("BASE", "END", ">SIZE", ">COMMITTED", ">RESERVED", "TYPE", "PROTECT", "USAGE", ">REGIONS", "DETAILS")
	for _, a := range l.Allocations {
		tb.Row(af.Format(uint64(a.Base)), af.Format(uint64(a.End)), Size(a.Size), Size(a.Committed), Size(a.Reserved), a.Type, a.Protect, a.Usage, fmt.Sprint(a.Regions), a.Detail)
	}
	if err := tb.Print(w, ""); err != nil {
		return err
	}
	_, err := fmt.Fprintf(w, "\n%s\n", Plural(len(l.Allocations), "allocation"))
	return err
}
