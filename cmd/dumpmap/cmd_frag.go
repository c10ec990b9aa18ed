package main

import (
	"errors"
	"fmt"

	"github.com/dumpmap/dumpmap/analysis"
	"github.com/dumpmap/dumpmap/analysis/render"
	"github.com/dumpmap/dumpmap/minidump"
	"github.com/dustin/go-humanize"
	"github.com/spf13/pflag"
)

func init() {
	register(&command{
		name:    "frag",
		summary: "report how fragmented the address space is, and who holds it",
		args:    []string{"FILE"},
		help: `
The fragmentation report:

  Free space      total, largest free run, largest usable (64 KB-aligned) block,
                  Unusable total, number of runs, a histogram by size class, and how
                  many new 64 KB, 1 MB and 16 MB reservations would still fit.
  Granularity     address space lost because reservations are not multiples of
  waste           64 KB, grouped by allocation pattern (size, type, protection, and
                  whether it is a heap, a stack or an image).
  Who holds it    the largest consumers by usage and by allocation, and for each heap
                  its reserved, committed and uncommitted segment space.

For a 64-bit process whose address space is plentiful the report says so and
points at the commit side instead (ProcessVmCounters, SystemMemoryInfo).

Examples:
  dumpmap frag crash.dmp
  dumpmap frag --json crash.dmp | jq '.waste[0]'`,
		setup: func(fs *pflag.FlagSet) runFunc {
			mf := addMapFlags(fs)
			mf.addBelowFlag(fs)
			mf.addSymbolFlags(fs)
			top := fs.Int("top", 10, "how many waste patterns and allocations to list")
			return func(e *env, args []string) error { return runFrag(e, args, mf, *top) }
		},
	})
}

// The JSON shapes are shared with the report (package report).
type wasteJSON = render.Waste

type fitJSON = render.Fit

type heapJSONLite = render.HeapInfo

type commitJSON = render.Commit

func heapsLite(hs *analysis.HeapSet) []heapJSONLite { return render.HeapsOf(hs) }

func runFrag(e *env, args []string, mf mapFlags, top int) error {
	if top < 1 {
		return usageErrorf("--top must be at least 1")
	}
	d, err := openDump(args[0])
	if err != nil {
		return err
	}
	defer d.Close()
	defer d.flush(e)
	m, err := loadMap(d, mf)
	if err != nil {
		return err
	}
	heaps := m.Heaps
	vm, err := d.p.VMCounters()
	if err != nil && !errors.Is(err, minidump.ErrNoStream) {
		d.warn(err)
	}
	smi, err := d.p.SystemMemoryInfo()
	if err != nil && !errors.Is(err, minidump.ErrNoStream) {
		d.warn(err)
	}
	r := m.Fragmentation(vm, smi)
	waste := r.Waste
	if len(waste) > top {
		waste = waste[:top]
	}
	allocs := r.ByAllocation
	if len(allocs) > top {
		allocs = allocs[:top]
	}
	if e.json {
		var wj []wasteJSON
		for _, w := range waste {
			wj = append(wj, render.WasteOf(w))
		}
		fits := render.FitsOf(r.Fits)
		var aj []allocationJSON
		for _, a := range allocs {
			aj = append(aj, render.AllocationOf(&a))
		}
		commit := render.CommitOf(r.Commit)
		lu := r.Free.LargestUsable
		return writeJSON(e.stdout, struct {
			File              string           `json:"file"`
			Partial           bool             `json:"partial"`
			Space             spaceJSON        `json:"space"`
			FreeTotal         uint64           `json:"free_total"`
			FreeRuns          int              `json:"free_runs"`
			LargestFree       blockJSON        `json:"largest_free"`
			LargestUsableFree usableJSON       `json:"largest_usable_free"`
			UnusableTotal     uint64           `json:"unusable_total"`
			SizeClasses       []sizeClassJSON  `json:"free_size_classes"`
			Fits              []fitJSON        `json:"fits"`
			Waste             []wasteJSON      `json:"waste"`
			WasteTotal        uint64           `json:"waste_total"`
			ByUsage           []summaryRowJSON `json:"by_usage"`
			ByAllocation      []allocationJSON `json:"by_allocation"`
			Heaps             []heapJSONLite   `json:"heaps"`
			Plentiful         bool             `json:"plentiful"`
			Commit            *commitJSON      `json:"commit"`
			Notes             []string         `json:"notes"`
			Warnings          []string         `json:"warnings"`
		}{
			File: d.path, Partial: m.Partial, Space: spaceOf(m.Space), FreeTotal: r.Free.Total, FreeRuns: r.Free.Runs,
			LargestFree:       blockJSON{Base: hexNum(r.Free.Largest.Base), Size: r.Free.Largest.Size},
			LargestUsableFree: render.UsableOf(lu),
			UnusableTotal:     r.Free.Unusable, SizeClasses: classesJSON(r.SizeClasses), Fits: fits, Waste: orEmpty(wj), WasteTotal: r.WasteTotal,
			ByUsage: rowsJSON(r.ByUsage), ByAllocation: orEmpty(aj), Heaps: heapsLite(heaps), Plentiful: r.Plentiful, Commit: commit,
			Notes: m.NoteTexts(), Warnings: d.warnings(),
		})
	}
	w := e.stdout
	af := newAddrFmt(m.Space.PointerSize * 8)
	printMapHeader(e, m)
	fmt.Fprintln(w, "FREE SPACE")
	if m.Partial {
		fmt.Fprintln(w, "  The map is partial (no MemoryInfoList): where the free space lies is unknown.")
	} else {
		lu := r.Free.LargestUsable
		fmt.Fprintf(w, "  Free:                 %s in %s runs\n", size(r.Free.Total), humanize.Comma(int64(r.Free.Runs)))
		fmt.Fprintf(w, "  Largest free run:     %s at %s\n", size(r.Free.Largest.Size), af.f(r.Free.Largest.Base))
		if lu.UsableSize > 0 {
			fmt.Fprintf(w, "  Largest usable block: %s at %s-%s (64 KiB-aligned)\n", size(lu.UsableSize), af.f(lu.UsableBase), af.f(lu.UsableBase+lu.UsableSize))
		} else {
			fmt.Fprintln(w, "  Largest usable block: none: not one 64 KiB-aligned block is free")
		}
		fmt.Fprintf(w, "  Unusable:             %s (%s runs too small or misaligned to hold a 64 KiB block)\n", size(r.Free.Unusable), humanize.Comma(int64(r.Free.UnusableRuns)))
		fmt.Fprint(w, "  Would still fit:     ")
		for _, f := range r.Fits {
			fmt.Fprintf(w, " %s x %s;", humanize.Comma(int64(f.Count)), size(f.Size))
		}
		fmt.Fprintln(w)
		fmt.Fprintln(w)
		ct := newTable("FREE RUN SIZE", ">RUNS", ">BYTES", ">USABLE")
		for _, c := range r.SizeClasses {
			ct.row(c.Label(), humanize.Comma(int64(c.Runs)), size(c.Bytes), size(c.Usable))
		}
		ct.write(w, "  ")
	}
	if r.Plentiful {
		fmt.Fprintf(w, "\n  This is a 64-bit process with %s of usable free address space: fragmentation\n  cannot have failed an allocation. Look at the commit side instead:\n", size(r.Free.UsableTotal))
	}
	if c := r.Commit; c != nil {
		fmt.Fprintf(w, "\nCOMMIT (from %s)\n", c.Source)
		if c.ProcessPrivate != 0 {
			fmt.Fprintf(w, "  Process private commit: %s (peak %s)\n", size(c.ProcessPrivate), size(c.PeakPrivate))
		}
		if c.ProcessVirtualSize != 0 {
			fmt.Fprintf(w, "  Process virtual size:   %s\n", size(c.ProcessVirtualSize))
		}
		if c.JobCommitLimit != 0 {
			fmt.Fprintf(w, "  Job commit limit:       %s\n", size(c.JobCommitLimit))
		}
		if c.SystemCommitLimit != 0 {
			fmt.Fprintf(w, "  System commit:          %s of %s (%.0f%%)\n", size(c.SystemCommitted), size(c.SystemCommitLimit), 100*float64(c.SystemCommitted)/float64(c.SystemCommitLimit))
		}
	} else if r.Plentiful {
		fmt.Fprintln(w, "  (the dump has neither ProcessVmCounters nor SystemMemoryInfo)")
	}

	fmt.Fprintln(w, "\nGRANULARITY WASTE")
	if len(waste) == 0 {
		fmt.Fprintln(w, "  No reservation leaves an unusable tail.")
	} else {
		fmt.Fprintf(w, "  %s of address space is lost below 64 KiB boundaries after reservations that are not multiples of 64 KiB:\n", size(r.WasteTotal))
		for _, x := range waste {
			fmt.Fprintf(w, "%s\n", wrapText(fmt.Sprintf("  - %s (%s, %s; e.g. %s)", x.Describe(), orDash(x.Type.String()), orDash(x.Protect.String()), af.f(x.Example)), 100, "    "))
		}
	}

	fmt.Fprintln(w, "\nWHO HOLDS THE ADDRESS SPACE")
	ut := newTable("USAGE", ">REGIONS", ">SIZE", ">%OFBUSY")
	for _, u := range r.ByUsage {
		ut.row(u.Name, humanize.Comma(int64(u.Regions)), size(u.Size), fmt.Sprintf("%.2f%%", u.PctBusy))
	}
	ut.write(w, "  ")
	fmt.Fprintln(w)
	at := newTable("LARGEST ALLOCATIONS", "", ">SIZE", ">COMMITTED", "USAGE", "DETAILS")
	for _, a := range allocs {
		at.row(af.f(a.Base), af.f(a.End()), size(a.Size), size(a.Committed), a.Usage.String(), a.Detail)
	}
	at.write(w, "  ")
	if len(heaps.Heaps) > 0 {
		fmt.Fprintln(w)
		ht := newTable("HEAP", "", ">RESERVED", ">COMMITTED", ">UNCOMMITTED ROOM", "FOUND BY")
		for _, h := range heaps.Heaps {
			res, com, unc := h.Reserved()
			kind := ""
			switch {
			case h.ProcessHeap && h.CRTHeap:
				kind = "process, CRT"
			case h.ProcessHeap:
				kind = "process"
			case h.CRTHeap:
				kind = "CRT"
			}
			ht.row(af.f(h.Handle), kind, size(res), size(com), size(unc), joinComma(h.FoundBy))
		}
		ht.write(w, "  ")
		fmt.Fprintln(w, "  (segments beyond the first are not known without walking the heap)")
	}
	return nil
}

func orEmpty[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

func joinComma(s []string) string {
	out := ""
	for i, x := range s {
		if i > 0 {
			out += ", "
		}
		out += x
	}
	return out
}
