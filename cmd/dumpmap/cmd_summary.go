package main

import (
	"fmt"
	"io"
	"strings"

	"github.com/dumpmap/dumpmap/analysis"
	"github.com/dumpmap/dumpmap/analysis/render"
	"github.com/spf13/pflag"
)

func init() {
	register(&command{
		name:    "summary",
		summary: "print the !address -summary tables, and the largest usable free block",
		args:    []string{"FILE"},
		help: `
Prints WinDbg's !address -summary tables for the dump: the Usage, Type, State and
Protect summaries (region counts, sizes, percentages of busy and of all address
space) and the largest region of each usage. Then what WinDbg lacks: the largest
usable free block (64 KB-aligned start and end, the only kind VirtualAlloc can
reserve), the total of Unusable free space, and the free space by size class.

WinDbg counts Unusable space as Free; here the two are separate rows, as in VMMap.

Examples:
  dumpmap summary crash.dmp
  dumpmap summary --json crash.dmp | jq .largest_usable_free`,
		setup: func(fs *pflag.FlagSet) runFunc {
			mf := addMapFlags(fs)
			mf.addBelowFlag(fs)
			mf.addSymbolFlags(fs)
			return func(e *env, args []string) error { return runSummary(e, args, mf) }
		},
	})
}

// The JSON shapes are shared with the report (package report).
type summaryRowJSON = render.SummaryRow

type largestJSON = render.Largest

type sizeClassJSON = render.SizeClass

type usableJSON = render.UsableBlock

func rowsJSON(rows []analysis.SummaryRow) []summaryRowJSON { return render.SummaryRowsOf(rows) }

func classesJSON(cs []analysis.SizeClass) []sizeClassJSON { return render.SizeClassesOf(cs) }

func runSummary(e *env, args []string, mf mapFlags) error {
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
	s := m.Summary()
	lu := s.Free.LargestUsable
	if e.json {
		largest := render.LargestOf(s.Largest)
		return writeJSON(e.stdout, struct {
			File              string           `json:"file"`
			Partial           bool             `json:"partial"`
			Source            string           `json:"source"`
			Space             spaceJSON        `json:"space"`
			Total             uint64           `json:"total"`
			Busy              uint64           `json:"busy"`
			Unknown           uint64           `json:"unknown"`
			Usage             []summaryRowJSON `json:"usage"`
			Type              []summaryRowJSON `json:"type"`
			State             []summaryRowJSON `json:"state"`
			Protect           []summaryRowJSON `json:"protect"`
			LargestByUsage    []largestJSON    `json:"largest_by_usage"`
			LargestFree       blockJSON        `json:"largest_free"`
			LargestUsableFree usableJSON       `json:"largest_usable_free"`
			FreeTotal         uint64           `json:"free_total"`
			UsableFreeTotal   uint64           `json:"usable_free_total"`
			UnusableTotal     uint64           `json:"unusable_total"`
			FreeRuns          int              `json:"free_runs"`
			UnusableRuns      int              `json:"unusable_runs"`
			SizeClasses       []sizeClassJSON  `json:"free_size_classes"`
			Notes             []string         `json:"notes"`
			Warnings          []string         `json:"warnings"`
		}{
			File: d.path, Partial: m.Partial, Source: m.Source.String(), Space: spaceOf(m.Space),
			Total: s.Total, Busy: s.Busy, Unknown: s.Unknown,
			Usage: rowsJSON(s.Usage), Type: rowsJSON(s.Type), State: rowsJSON(s.State), Protect: rowsJSON(s.Protect),
			LargestByUsage:    largest,
			LargestFree:       blockJSON{Base: hexNum(s.Free.Largest.Base), Size: s.Free.Largest.Size},
			LargestUsableFree: render.UsableOf(lu),
			FreeTotal:         s.Free.Total, UsableFreeTotal: s.Free.UsableTotal, UnusableTotal: s.Free.Unusable,
			FreeRuns: s.Free.Runs, UnusableRuns: s.Free.UnusableRuns, SizeClasses: classesJSON(s.SizeClasses),
			Notes: m.NoteTexts(), Warnings: d.warnings(),
		})
	}
	w := e.stdout
	af := newAddrFmt(m.Space.PointerSize * 8)
	printMapHeader(e, m)
	summaryTable(w, "Usage Summary", s.Usage, af)
	summaryTable(w, "Type Summary (for busy)", s.Type, af)
	summaryTable(w, "State Summary", s.State, af)
	summaryTable(w, "Protect Summary (for commit)", s.Protect, af)
	fmt.Fprintf(w, "--- Largest Region by Usage %s\n", strings.Repeat("-", 50))
	tb := newTable("USAGE", "BASE", ">REGION SIZE", "")
	for _, l := range s.Largest {
		tb.row(l.Usage.String(), af.f(l.Base), fmt.Sprintf("%#x", l.Size), "("+size(l.Size)+")")
	}
	tb.write(w, "")
	fmt.Fprintln(w)

	fmt.Fprintf(w, "--- Free space (what WinDbg does not show) %s\n", strings.Repeat("-", 35))
	if m.Partial {
		fmt.Fprintln(w, "The map is partial: the dump does not say where the free space is.")
		return nil
	}
	if lu.UsableSize > 0 {
		fmt.Fprintf(w, "Largest usable free block: %s-%s, %s (64 KiB-aligned, in the free run %s-%s)\n",
			af.f(lu.UsableBase), af.f(lu.UsableBase+lu.UsableSize), size(lu.UsableSize), af.f(lu.Base), af.f(lu.End()))
	} else {
		fmt.Fprintln(w, "Largest usable free block: none: not one 64 KiB-aligned free block is left")
	}
	fmt.Fprintf(w, "Largest free run:          %s-%s, %s\n", af.f(s.Free.Largest.Base), af.f(s.Free.Largest.End()), size(s.Free.Largest.Size))
	fmt.Fprintf(w, "Free:                      %s in %s; %s usable, %s Unusable (%s of them entirely Unusable)\n",
		size(s.Free.Total), plural(s.Free.Runs, "run"), size(s.Free.UsableTotal), size(s.Free.Unusable), fmt.Sprint(s.Free.UnusableRuns))
	fmt.Fprintln(w)
	ct := newTable("FREE RUN SIZE", ">RUNS", ">BYTES", ">USABLE")
	for _, c := range s.SizeClasses {
		if c.Runs == 0 {
			continue
		}
		ct.row(c.Label(), fmt.Sprint(c.Runs), size(c.Bytes), size(c.Usable))
	}
	ct.write(w, "")
	return nil
}

// summaryTable prints one !address -summary table.
func summaryTable(w io.Writer, title string, rows []analysis.SummaryRow, af addrFmt) {
	fmt.Fprintf(w, "--- %s %s\n", title, strings.Repeat("-", max(0, 74-len(title))))
	tb := newTable("", ">RGNCOUNT", ">TOTAL SIZE", "", ">%OFBUSY", ">%OFTOTAL")
	for _, r := range rows {
		busy := ""
		if r.PctBusy > 0 || !strings.HasPrefix(r.Name, "Free") && r.Name != "Unusable" && r.Name != "MEM_FREE" {
			busy = fmt.Sprintf("%.2f%%", r.PctBusy)
		}
		tb.row(r.Name, fmt.Sprint(r.Regions), fmt.Sprintf("%#x", r.Size), "("+size(r.Size)+")", busy, fmt.Sprintf("%.2f%%", r.PctTotal))
	}
	tb.write(w, "")
	fmt.Fprintln(w)
}
