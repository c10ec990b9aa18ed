package main

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/dumpmap/dumpmap/analysis"
	"github.com/dumpmap/dumpmap/analysis/render"
	"github.com/dumpmap/dumpmap/minidump"
	"github.com/spf13/pflag"
)

func init() {
	register(&command{
		name:    "regions",
		summary: "list the address space region by region, like WinDbg's !address",
		args:    []string{"FILE"},
		help: `
Rebuilds the process's virtual address space and lists it like WinDbg's !address:
every region's base, end, size, type, state, protection and usage (Image, Stack,
TEB, PEB, Heap, MappedFile, Private, Free, Unusable, Unknown) with details: the
module, the thread, the guard page. A "+" marks the first region of an allocation.

Free space is split as VMMap shows it: Free is what a new reservation can use,
Unusable is free space no reservation can ever use (below the next 64 KB boundary,
or at address 0).

The map comes from the MemoryInfoList stream when the dump has one. Without it the
map is partial: modules, thread stacks and captured memory, with the rest Unknown,
never Free. Breakpad dumps of Linux processes are mapped from /proc/self/maps.

Filters combine: --usage, --state, --type and --protect take comma-separated
names (case-insensitive; PAGE_ and MEM_ prefixes optional).

Examples:
  dumpmap regions crash.dmp
  dumpmap regions --usage Free,Unusable --min-size 64K crash.dmp
  dumpmap regions --address 0x7ffe0000 crash.dmp
  dumpmap regions --allocations --usage Private crash.dmp
  dumpmap regions --json crash.dmp | jq '.regions[] | select(.usage == "Stack")'`,
		setup: func(fs *pflag.FlagSet) runFunc {
			var o regionOpts
			o.mf = addMapFlags(fs)
			o.mf.addBelowFlag(fs)
			o.mf.addSymbolFlags(fs)
			o.usage = fs.String("usage", "", "only regions of these usages, e.g. Free,Unusable")
			o.state = fs.String("state", "", "only regions in these states: commit, reserve, free")
			o.typ = fs.String("type", "", "only regions of these types: image, mapped, private")
			o.protect = fs.String("protect", "", "only regions whose protection includes one of these, e.g. PAGE_EXECUTE_READWRITE")
			o.minSize = fs.String("min-size", "", "only regions of at least this size (64K, 1M, 0x10000)")
			o.address = fs.String("address", "", "show the region (and its allocation) that holds ADDR")
			o.allocs = fs.Bool("allocations", false, "list whole allocations (VMMap's tree) instead of regions")
			return func(e *env, args []string) error { return runRegions(e, args, o) }
		},
	})
}

type regionOpts struct {
	mf                                           mapFlags
	usage, state, typ, protect, minSize, address *string
	allocs                                       *bool
}

type regionJSON struct {
	Base              hexNum `json:"base"`
	End               hexNum `json:"end"`
	Size              uint64 `json:"size"`
	State             string `json:"state"`
	Type              string `json:"type"`
	Protect           string `json:"protect"`
	AllocationBase    hexNum `json:"allocation_base"`
	AllocationProtect string `json:"allocation_protect"`
	Usage             string `json:"usage"`
	Detail            string `json:"detail"`
	Module            string `json:"module,omitempty"`
	Unloaded          bool   `json:"unloaded,omitempty"`
	ThreadID          uint32 `json:"thread_id,omitempty"`
	Guard             bool   `json:"guard,omitempty"`
	Heap              hexNum `json:"heap,omitempty"`
	InDump            bool   `json:"in_dump,omitempty"` // partial maps: the region's bytes are in the dump
}

// allocationJSON is shared with the report (package report).
type allocationJSON = render.Allocation

func stateName(s minidump.MemState) string {
	if s == 0 {
		return ""
	}
	return s.String()
}

func regionOf(m *analysis.Map, r *analysis.Region) regionJSON {
	j := regionJSON{
		Base: hexNum(r.Base), End: hexNum(r.End()), Size: r.Size, State: stateName(r.State), Type: r.Type.String(),
		Protect: r.Protect.String(), AllocationBase: hexNum(r.AllocationBase), AllocationProtect: r.AllocationProtect.String(),
		Usage: r.Usage.String(), Detail: m.Describe(r), Module: r.Module(), Unloaded: r.Unloaded, ThreadID: r.ThreadID,
		Guard: r.Guard, Heap: hexNum(r.Heap()), InDump: r.Captured,
	}
	return j
}

// regionFilter selects regions by the --usage, --state, --type, --protect and
// --min-size flags.
type regionFilter struct {
	usages   map[analysis.Usage]bool
	states   map[minidump.MemState]bool
	types    map[minidump.MemType]bool
	protects []minidump.Protect
	minSize  uint64
}

func parseFilter(o regionOpts) (*regionFilter, error) {
	f := &regionFilter{}
	for _, s := range splitList(*o.usage) {
		u, ok := analysis.ParseUsage(s)
		if !ok {
			return nil, usageErrorf("--usage: unknown usage %q (Free, Unusable, Image, Stack, TEB, PEB, Heap, MappedFile, Private, Unknown)", s)
		}
		if f.usages == nil {
			f.usages = map[analysis.Usage]bool{}
		}
		f.usages[u] = true
	}
	for _, s := range splitList(*o.state) {
		var st minidump.MemState
		switch strings.TrimPrefix(strings.ToUpper(s), "MEM_") {
		case "COMMIT", "COMMITTED":
			st = minidump.MemCommit
		case "RESERVE", "RESERVED":
			st = minidump.MemReserve
		case "FREE":
			st = minidump.MemFree
		default:
			return nil, usageErrorf("--state: unknown state %q (commit, reserve, free)", s)
		}
		if f.states == nil {
			f.states = map[minidump.MemState]bool{}
		}
		f.states[st] = true
	}
	for _, s := range splitList(*o.typ) {
		var t minidump.MemType
		switch strings.TrimPrefix(strings.ToUpper(s), "MEM_") {
		case "IMAGE":
			t = minidump.MemImage
		case "MAPPED":
			t = minidump.MemMapped
		case "PRIVATE":
			t = minidump.MemPrivate
		default:
			return nil, usageErrorf("--type: unknown type %q (image, mapped, private)", s)
		}
		if f.types == nil {
			f.types = map[minidump.MemType]bool{}
		}
		f.types[t] = true
	}
	for _, s := range splitList(*o.protect) {
		p, ok := parseProtect(s)
		if !ok {
			return nil, usageErrorf("--protect: unknown protection %q (e.g. PAGE_READWRITE, EXECUTE_READ, GUARD)", s)
		}
		f.protects = append(f.protects, p)
	}
	if *o.minSize != "" {
		n, err := analysis.ParseSize(*o.minSize)
		if err != nil {
			return nil, usageErrorf("--min-size: %v", err)
		}
		f.minSize = n
	}
	return f, nil
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

func parseProtect(s string) (minidump.Protect, bool) {
	name := "PAGE_" + strings.TrimPrefix(strings.ToUpper(s), "PAGE_")
	for p := minidump.Protect(1); p != 0 && p <= minidump.PageTargetsInvalid; p <<= 1 {
		if p.String() == name {
			return p, true
		}
	}
	return 0, false
}

func (f *regionFilter) match(r *analysis.Region) bool {
	if f.usages != nil && !f.usages[r.Usage] {
		return false
	}
	if f.states != nil && !f.states[r.State] {
		return false
	}
	if f.types != nil && !f.types[r.Type] {
		return false
	}
	if len(f.protects) > 0 {
		ok := false
		for _, p := range f.protects {
			if r.Protect&p != 0 {
				ok = true
			}
		}
		if !ok {
			return false
		}
	}
	return r.Size >= f.minSize
}

func runRegions(e *env, args []string, o regionOpts) error {
	filter, err := parseFilter(o)
	if err != nil {
		return err
	}
	var addr uint64
	haveAddr := *o.address != ""
	if haveAddr {
		if addr, err = analysis.ParseAddress(*o.address); err != nil {
			return usageErrorf("--address: %v", err)
		}
	}
	d, err := openDump(args[0])
	if err != nil {
		return err
	}
	defer d.Close()
	defer d.flush(e)
	m, err := loadMap(d, o.mf)
	if err != nil {
		return err
	}
	af := newAddrFmt(m.Space.PointerSize * 8)

	// Select the regions (or the allocation holding ADDR).
	var sel []int
	if haveAddr {
		i := m.Find(addr)
		if i < 0 {
			d.note("address %#x is outside the user address space (%#x-%#x)", addr, uint64(0), m.Space.End-1)
		} else {
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
			if filter.match(&m.Regions[i]) {
				sel = append(sel, i)
			}
		}
	}

	if *o.allocs {
		return printAllocations(e, d, m, filter, haveAddr, addr, af)
	}
	if e.json {
		// Streamed: a map can hold millions of regions.
		o := newJSONObject(e.stdout)
		o.field("file", d.path)
		o.field("partial", m.Partial)
		o.field("source", m.Source.String())
		o.field("space", spaceOf(m.Space))
		o.list("regions", len(sel), func(buf []byte, i int) []byte {
			return appendRegionJSON(buf, regionOf(m, &m.Regions[sel[i]]))
		})
		o.field("notes", m.NoteTexts())
		o.field("warnings", d.warnings())
		return o.close()
	}
	printMapHeader(e, m)
	// Streamed too: one pass for the column widths, one to print.
	cells := func(r *analysis.Region) [9]string {
		mark := ""
		if !r.IsFree() && r.State != 0 && r.Base == r.AllocationBase {
			mark = "+"
		}
		return [9]string{mark, af.f(r.Base), af.f(r.End()), size(r.Size), r.Type.String(), stateName(r.State), r.Protect.String(), r.Usage.String(), m.Describe(r)}
	}
	st := newStreamTable(e.stdout, "", "BASE", "END", ">SIZE", "TYPE", "STATE", "PROTECT", "USAGE", "DETAILS")
	for _, i := range sel {
		c := cells(&m.Regions[i])
		st.measure(c[:]...)
	}
	for _, i := range sel {
		c := cells(&m.Regions[i])
		st.row(c[:]...)
	}
	if err := st.flush(); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "\n%s of %s shown\n", plural(len(sel), "region"), plural(len(m.Regions), "region"))
	return nil
}

// appendRegionJSON appends a region's fields in regionJSON's order and with its
// omitempty rules (checked against encoding/json in the tests).
func appendRegionJSON(buf []byte, j regionJSON) []byte {
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

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// printMapHeader prints what the map is built from and what it had to assume.
func printMapHeader(e *env, m *analysis.Map) {
	fmt.Fprintf(e.stdout, "Address space: %s\n", m.Space.Describe())
	fmt.Fprintf(e.stdout, "Built from:    %s", m.Source)
	if m.Partial {
		fmt.Fprint(e.stdout, " (PARTIAL: what the dump does not describe is Unknown, not Free)")
	}
	fmt.Fprintln(e.stdout)
	for _, n := range m.Notes {
		fmt.Fprintf(e.stdout, "Note:          %s\n", n)
	}
	fmt.Fprintln(e.stdout)
}

func printAllocations(e *env, d *dumpFile, m *analysis.Map, f *regionFilter, haveAddr bool, addr uint64, af addrFmt) error {
	var list []allocationJSON
	for _, a := range m.Allocations() {
		if haveAddr && (addr < a.Base || addr >= a.End()) {
			continue
		}
		if !haveAddr && (f.usages != nil && !f.usages[a.Usage] || f.types != nil && !f.types[a.Type] || a.Size < f.minSize) {
			continue
		}
		list = append(list, allocationJSON{Base: hexNum(a.Base), End: hexNum(a.End()), Size: a.Size, Committed: a.Committed,
			Reserved: a.Reserved, Type: a.Type.String(), Protect: a.Protect.String(), Usage: a.Usage.String(), Detail: a.Detail, Regions: a.Count})
	}
	if e.json {
		if list == nil {
			list = []allocationJSON{}
		}
		return writeJSON(e.stdout, struct {
			File        string           `json:"file"`
			Partial     bool             `json:"partial"`
			Allocations []allocationJSON `json:"allocations"`
			Warnings    []string         `json:"warnings"`
		}{d.path, m.Partial, list, d.warnings()})
	}
	printMapHeader(e, m)
	tb := newTable("BASE", "END", ">SIZE", ">COMMITTED", ">RESERVED", "TYPE", "PROTECT", "USAGE", ">REGIONS", "DETAILS")
	for _, a := range list {
		tb.row(af.f(uint64(a.Base)), af.f(uint64(a.End)), size(a.Size), size(a.Committed), size(a.Reserved), a.Type, a.Protect, a.Usage, fmt.Sprint(a.Regions), a.Detail)
	}
	tb.write(e.stdout, "")
	fmt.Fprintf(e.stdout, "\n%s\n", plural(len(list), "allocation"))
	return nil
}
