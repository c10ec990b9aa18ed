package render

import (
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
	o.list("regions", len(rs.sel), func(buf []byte, i int) []byte {
		return appendRegion(buf, rs.Region(i))
	})
	o.field("notes", m.NoteTexts())
	o.field("warnings", rs.warn)
	return o.close()
}

// WriteText writes the map header and the table, streamed too: one pass for the
// column widths, one to print.
func (rs *Regions) WriteText(w io.Writer) error {
	m := rs.m
	af := mapAddr(m)
	writeMapHeader(w, m)
	cells := func(r *analysis.Region) [9]string {
		mark := ""
		if !r.IsFree() && r.State != 0 && r.Base == r.AllocationBase {
			mark = "+"
		}
		return [9]string{mark, af.Format(r.Base), af.Format(r.End()), Size(r.Size), r.Type.String(), stateName(r.State), r.Protect.String(), r.Usage.String(), m.Describe(r)}
	}
	st := NewStreamTable(w, "", "BASE", "END", ">SIZE", "TYPE", "STATE", "PROTECT", "USAGE", "DETAILS")
	for _, i := range rs.sel {
		c := cells(&m.Regions[i])
		st.Measure(c[:]...)
	}
	for _, i := range rs.sel {
		c := cells(&m.Regions[i])
		st.Row(c[:]...)
	}
	if err := st.Flush(); err != nil {
		return err
	}
	_, err := fmt.Fprintf(w, "\n%s of %s shown\n", Plural(len(rs.sel), "region"), Plural(len(m.Regions), "region"))
	return err
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

// appendRegionJSON appends a region's fields in Region's order and with its
// omitempty rules (checked against encoding/json in the tests).
func appendRegion(buf []byte, j Region) []byte {
	buf = append(appendKey(buf, true, "base"), `"0x`...)
	buf = append(strconv.AppendUint(buf, uint64(j.Base), 16), '"')
	buf = appendHexField(buf, "end", uint64(j.End))
	buf = appendUintField(buf, "size", j.Size)
	buf = appendStrField(buf, false, "state", j.State)
	buf = appendStrField(buf, false, "type", j.Type)
	buf = appendStrField(buf, false, "protect", j.Protect)
	buf = appendHexField(buf, "allocation_base", uint64(j.AllocationBase))
	buf = appendStrField(buf, false, "allocation_protect", j.AllocationProtect)
	buf = appendStrField(buf, false, "usage", j.Usage)
	buf = appendStrField(buf, false, "detail", j.Detail)
	if j.Module != "" {
		buf = appendStrField(buf, false, "module", j.Module)
	}
	if j.Unloaded {
		buf = appendBoolField(buf, "unloaded", true)
	}
	if j.ThreadID != 0 {
		buf = appendUintField(buf, "thread_id", uint64(j.ThreadID))
	}
	if j.Guard {
		buf = appendBoolField(buf, "guard", true)
	}
	if j.Heap != 0 {
		buf = appendHexField(buf, "heap", uint64(j.Heap))
	}
	if j.InDump {
		buf = appendBoolField(buf, "in_dump", true)
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
