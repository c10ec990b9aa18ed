package render

import (
	"fmt"
	"io"
	"strings"

	"github.com/dumpmap/dumpmap/analysis"
	"github.com/dumpmap/dumpmap/analysis/process"
)

// Frag is `dumpmap frag`: how fragmented the address space is, and who holds it.
type Frag struct {
	File              string       `json:"file"`
	Partial           bool         `json:"partial"`
	Space             Space        `json:"space"`
	FreeTotal         uint64       `json:"free_total"`
	FreeRuns          int          `json:"free_runs"`
	LargestFree       Block        `json:"largest_free"`
	LargestUsableFree UsableBlock  `json:"largest_usable_free"`
	UnusableTotal     uint64       `json:"unusable_total"`
	SizeClasses       []SizeClass  `json:"free_size_classes"`
	Fits              []Fit        `json:"fits"`
	Waste             []Waste      `json:"waste"`
	WasteTotal        uint64       `json:"waste_total"`
	ByUsage           []SummaryRow `json:"by_usage"`
	ByAllocation      []Allocation `json:"by_allocation"`
	Heaps             []HeapInfo   `json:"heaps"`
	Plentiful         bool         `json:"plentiful"`
	Commit            *Commit      `json:"commit"`
	Notes             []string     `json:"notes"`
	Warnings          []string     `json:"warnings"`

	m      *analysis.Map
	r      *analysis.FragReport
	waste  []analysis.WastePattern
	allocs []analysis.Allocation
}

// NewFrag reports on the fragmentation of the map m of the process p, shown as
// file, listing the top waste patterns and allocations. The commit side comes
// from the process's ProcessVmCounters and SystemMemoryInfo.
func NewFrag(file string, p *process.Process, m *analysis.Map, top int, warn *Warnings) *Frag {
	vm, err := p.VMCounters()
	warn.Add(err)
	smi, err := p.SystemMemoryInfo()
	warn.Add(err)
	r := m.Fragmentation(vm, smi)
	x := &Frag{m: m, r: r, waste: r.Waste, allocs: r.ByAllocation}
	if len(x.waste) > top {
		x.waste = x.waste[:top]
	}
	if len(x.allocs) > top {
		x.allocs = x.allocs[:top]
	}
	*x = Frag{
		File: file, Partial: m.Partial, Space: SpaceOf(m.Space), FreeTotal: r.Free.Total, FreeRuns: r.Free.Runs,
		LargestFree:       Block{Base: Hex(r.Free.Largest.Base), Size: r.Free.Largest.Size},
		LargestUsableFree: UsableOf(r.Free.LargestUsable),
		UnusableTotal:     r.Free.Unusable, SizeClasses: SizeClassesOf(r.SizeClasses), Fits: FitsOf(r.Fits), Waste: []Waste{}, WasteTotal: r.WasteTotal,
		ByUsage: SummaryRowsOf(r.ByUsage), ByAllocation: []Allocation{}, Heaps: HeapsOf(m.Heaps), Plentiful: r.Plentiful, Commit: CommitOf(r.Commit),
		Notes: m.NoteTexts(), Warnings: warn.List(),
		m: m, r: r, waste: x.waste, allocs: x.allocs,
	}
	for _, w := range x.waste {
		x.Waste = append(x.Waste, WasteOf(w))
	}
	for i := range x.allocs {
		x.ByAllocation = append(x.ByAllocation, AllocationOf(&x.allocs[i]))
	}
	return x
}

// WriteJSON writes the JSON object.
func (x *Frag) WriteJSON(w io.Writer) error { return WriteJSON(w, x) }

// WriteText writes the report.
func (x *Frag) WriteText(w io.Writer) error {
	m, r, af, heaps := x.m, x.r, mapAddr(x.m), x.m.Heaps
	writeMapHeader(w, m)
	fmt.Fprintln(w, "FREE SPACE")
	if m.Partial {
		fmt.Fprintln(w, "  The map is partial (no MemoryInfoList): where the free space lies is unknown.")
	} else {
		lu := r.Free.LargestUsable
		fmt.Fprintf(w, "  Free:                 %s in %s runs\n", Size(r.Free.Total), Comma(int64(r.Free.Runs)))
		fmt.Fprintf(w, "  Largest free run:     %s at %s\n", Size(r.Free.Largest.Size), af.Format(r.Free.Largest.Base))
		if lu.UsableSize > 0 {
			fmt.Fprintf(w, "  Largest usable block: %s at %s-%s (64 KiB-aligned)\n", Size(lu.UsableSize), af.Format(lu.UsableBase), af.Format(lu.UsableBase+lu.UsableSize))
		} else {
			fmt.Fprintln(w, "  Largest usable block: none: not one 64 KiB-aligned block is free")
		}
		fmt.Fprintf(w, "  Unusable:             %s (%s runs too small or misaligned to hold a 64 KiB block)\n", Size(r.Free.Unusable), Comma(int64(r.Free.UnusableRuns)))
		fmt.Fprint(w, "  Would still fit:     ")
		for _, f := range r.Fits {
			fmt.Fprintf(w, " %s x %s;", Comma(int64(f.Count)), Size(f.Size))
		}
		fmt.Fprintln(w)
		fmt.Fprintln(w)
		ct := NewTable("FREE RUN SIZE", ">RUNS", ">BYTES", ">USABLE")
		for _, c := range r.SizeClasses {
			ct.Row(c.Label(), Comma(int64(c.Runs)), Size(c.Bytes), Size(c.Usable))
		}
		ct.Print(w, "  ")
	}
	if r.Plentiful {
		fmt.Fprintf(w, "\n  This is a 64-bit process with %s of usable free address space: fragmentation\n  cannot have failed an allocation. Look at the commit side instead:\n", Size(r.Free.UsableTotal))
	}
	if c := r.Commit; c != nil {
		fmt.Fprintf(w, "\nCOMMIT (from %s)\n", c.Source)
		if c.ProcessPrivate != 0 {
			fmt.Fprintf(w, "  Process private commit: %s (peak %s)\n", Size(c.ProcessPrivate), Size(c.PeakPrivate))
		}
		if c.ProcessVirtualSize != 0 {
			fmt.Fprintf(w, "  Process virtual size:   %s\n", Size(c.ProcessVirtualSize))
		}
		if c.JobCommitLimit != 0 {
			fmt.Fprintf(w, "  Job commit limit:       %s\n", Size(c.JobCommitLimit))
		}
		if c.SystemCommitLimit != 0 {
			fmt.Fprintf(w, "  System commit:          %s of %s (%.0f%%)\n", Size(c.SystemCommitted), Size(c.SystemCommitLimit), 100*float64(c.SystemCommitted)/float64(c.SystemCommitLimit))
		}
	} else if r.Plentiful {
		fmt.Fprintln(w, "  (the dump has neither ProcessVmCounters nor SystemMemoryInfo)")
	}

	fmt.Fprintln(w, "\nGRANULARITY WASTE")
	if len(x.waste) == 0 {
		fmt.Fprintln(w, "  No reservation leaves an unusable tail.")
	} else {
		fmt.Fprintf(w, "  %s of address space is lost below 64 KiB boundaries after reservations that are not multiples of 64 KiB:\n", Size(r.WasteTotal))
		for _, x := range x.waste {
			fmt.Fprintf(w, "%s\n", wrapText(fmt.Sprintf("  - %s (%s, %s; e.g. %s)", x.Describe(), OrDash(x.Type.String()), OrDash(x.Protect.String()), af.Format(x.Example)), 100, "    "))
		}
	}

	fmt.Fprintln(w, "\nWHO HOLDS THE ADDRESS SPACE")
	ut := NewTable("USAGE", ">REGIONS", ">SIZE", ">%OFBUSY")
	for _, u := range r.ByUsage {
		ut.Row(u.Name, Comma(int64(u.Regions)), Size(u.Size), fmt.Sprintf("%.2f%%", u.PctBusy))
	}
	ut.Print(w, "  ")
	fmt.Fprintln(w)
	at := NewTable("LARGEST ALLOCATIONS", "", ">SIZE", ">COMMITTED", "USAGE", "DETAILS")
	for _, a := range x.allocs {
		at.Row(af.Format(a.Base), af.Format(a.End()), Size(a.Size), Size(a.Committed), a.Usage.String(), a.Detail)
	}
	at.Print(w, "  ")
	if len(heaps.Heaps) > 0 {
		fmt.Fprintln(w)
		ht := NewTable("HEAP", "", ">RESERVED", ">COMMITTED", ">UNCOMMITTED ROOM", "FREE INSIDE", "FOUND BY")
		for _, h := range HeapsOf(heaps) {
			kind := ""
			switch {
			case h.ProcessHeap && h.CRTHeap:
				kind = "process, CRT"
			case h.ProcessHeap:
				kind = "process"
			case h.CRTHeap:
				kind = "CRT"
			}
			ht.Row(af.Format(uint64(h.Handle)), kind, Size(h.Reserved), Size(h.Committed), Size(h.Uncommitted), HeapFreeText(h), strings.Join(h.FoundBy, ", "))
		}
		ht.Print(w, "  ")
		fmt.Fprintln(w, "  (free inside: the heap's free blocks, walked when its memory is in the dump)")
	}
	return nil
}
