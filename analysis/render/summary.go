package render

import (
	"fmt"
	"io"
	"strings"

	"github.com/dumpmap/dumpmap/analysis"
)

// Summary is `dumpmap summary`: WinDbg's !address -summary tables, and the
// largest usable free block.
type Summary struct {
	File              string       `json:"file"`
	Partial           bool         `json:"partial"`
	Source            string       `json:"source"`
	Space             Space        `json:"space"`
	Total             uint64       `json:"total"`
	Busy              uint64       `json:"busy"`
	Unknown           uint64       `json:"unknown"`
	Usage             []SummaryRow `json:"usage"`
	Type              []SummaryRow `json:"type"`
	State             []SummaryRow `json:"state"`
	Protect           []SummaryRow `json:"protect"`
	LargestByUsage    []Largest    `json:"largest_by_usage"`
	LargestFree       Block        `json:"largest_free"`
	LargestUsableFree UsableBlock  `json:"largest_usable_free"`
	FreeTotal         uint64       `json:"free_total"`
	UsableFreeTotal   uint64       `json:"usable_free_total"`
	UnusableTotal     uint64       `json:"unusable_total"`
	FreeRuns          int          `json:"free_runs"`
	UnusableRuns      int          `json:"unusable_runs"`
	SizeClasses       []SizeClass  `json:"free_size_classes"`
	Notes             []string     `json:"notes"`
	Warnings          []string     `json:"warnings"`

	m *analysis.Map
	s *analysis.Summary
}

// NewSummary sums up the map m of the dump shown as file.
func NewSummary(file string, m *analysis.Map, warn *Warnings) *Summary {
	s := m.Summary()
	return &Summary{
		File: file, Partial: m.Partial, Source: m.Source.String(), Space: SpaceOf(m.Space),
		Total: s.Total, Busy: s.Busy, Unknown: s.Unknown,
		Usage: SummaryRowsOf(s.Usage), Type: SummaryRowsOf(s.Type), State: SummaryRowsOf(s.State), Protect: SummaryRowsOf(s.Protect),
		LargestByUsage:    LargestOf(s.Largest),
		LargestFree:       Block{Base: Hex(s.Free.Largest.Base), Size: s.Free.Largest.Size},
		LargestUsableFree: UsableOf(s.Free.LargestUsable),
		FreeTotal:         s.Free.Total, UsableFreeTotal: s.Free.UsableTotal, UnusableTotal: s.Free.Unusable,
		FreeRuns: s.Free.Runs, UnusableRuns: s.Free.UnusableRuns, SizeClasses: SizeClassesOf(s.SizeClasses),
		Notes: m.NoteTexts(), Warnings: warn.List(),
		m: m, s: s,
	}
}

// WriteJSON writes the JSON object.
func (x *Summary) WriteJSON(w io.Writer) error { return WriteJSON(w, x) }

// WriteText writes the tables.
func (x *Summary) WriteText(w io.Writer) error {
	m, s, af := x.m, x.s, mapAddr(x.m)
	lu := s.Free.LargestUsable
	writeMapHeader(w, m)
	summaryTable(w, "Usage Summary", s.Usage, af)
	summaryTable(w, "Type Summary (for busy)", s.Type, af)
	summaryTable(w, "State Summary", s.State, af)
	summaryTable(w, "Protect Summary (for commit)", s.Protect, af)
	fmt.Fprintf(w, "--- Largest Region by Usage %s\n", strings.Repeat("-", 50))
	tb := NewTable("USAGE", "BASE", ">REGION SIZE", "")
	for _, l := range s.Largest {
		tb.Row(l.Usage.String(), af.Format(l.Base), fmt.Sprintf("%#x", l.Size), "("+Size(l.Size)+")")
	}
	tb.Print(w, "")
	fmt.Fprintln(w)

	fmt.Fprintf(w, "--- Free space (what WinDbg does not show) %s\n", strings.Repeat("-", 35))
	if m.Partial {
		fmt.Fprintln(w, "The map is partial: the dump does not say where the free space is.")
		return nil
	}
	if lu.UsableSize > 0 {
		fmt.Fprintf(w, "Largest usable free block: %s-%s, %s (64 KiB-aligned, in the free run %s-%s)\n",
			af.Format(lu.UsableBase), af.Format(lu.UsableBase+lu.UsableSize), Size(lu.UsableSize), af.Format(lu.Base), af.Format(lu.End()))
	} else {
		fmt.Fprintln(w, "Largest usable free block: none: not one 64 KiB-aligned free block is left")
	}
	fmt.Fprintf(w, "Largest free run:          %s-%s, %s\n", af.Format(s.Free.Largest.Base), af.Format(s.Free.Largest.End()), Size(s.Free.Largest.Size))
	fmt.Fprintf(w, "Free:                      %s in %s; %s usable, %s Unusable (%s of them entirely Unusable)\n",
		Size(s.Free.Total), Plural(s.Free.Runs, "run"), Size(s.Free.UsableTotal), Size(s.Free.Unusable), fmt.Sprint(s.Free.UnusableRuns))
	fmt.Fprintln(w)
	ct := NewTable("FREE RUN SIZE", ">RUNS", ">BYTES", ">USABLE")
	for _, c := range s.SizeClasses {
		if c.Runs == 0 {
			continue
		}
		ct.Row(c.Label(), fmt.Sprint(c.Runs), Size(c.Bytes), Size(c.Usable))
	}
	return ct.Print(w, "")
}

// summaryTable writes one !address -summary table.
func summaryTable(w io.Writer, title string, rows []analysis.SummaryRow, af AddrFormat) {
	fmt.Fprintf(w, "--- %s %s\n", title, strings.Repeat("-", max(0, 74-len(title))))
	tb := NewTable("", ">RGNCOUNT", ">TOTAL SIZE", "", ">%OFBUSY", ">%OFTOTAL")
	for _, r := range rows {
		busy := ""
		if r.PctBusy > 0 || !strings.HasPrefix(r.Name, "Free") && r.Name != "Unusable" && r.Name != "MEM_FREE" {
			busy = fmt.Sprintf("%.2f%%", r.PctBusy)
		}
		tb.Row(r.Name, fmt.Sprint(r.Regions), fmt.Sprintf("%#x", r.Size), "("+Size(r.Size)+")", busy, fmt.Sprintf("%.2f%%", r.PctTotal))
	}
	tb.Print(w, "")
	fmt.Fprintln(w)
}
