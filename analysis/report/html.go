package report

import (
	"bufio"
	_ "embed"
	"fmt"
	"html/template"
	"io"
	"strconv"
	"strings"
	"sync"

	"github.com/dumpmap/dumpmap/analysis"
	"github.com/dumpmap/dumpmap/analysis/render"
)

//go:embed report.html.tmpl
var pageTemplate string

// pageOnce parses the template on first use rather than at init: every dumpmap
// command links this package, and parsing costs about a millisecond of start-up.
var pageOnce = sync.OnceValue(func() *template.Template {
	return template.Must(template.New("report").Parse(pageTemplate))
})

// WriteHTML writes the report as one self-contained HTML page: inline CSS and SVG,
// no external resources, readable without scripts (a small inline script only makes
// the tables sortable). Everything from the dump is escaped by html/template or, in
// the SVG pictures, by esc.
func (r *Report) WriteHTML(w io.Writer) error {
	var buf strings.Builder
	if err := pageOnce().Execute(&buf, r.htmlData()); err != nil {
		return err
	}
	bw := bufio.NewWriter(w)
	// html/template escapes markup but passes control characters, bidirectional
	// overrides and invalid UTF-8 through; a dump's names may hold them. The page's
	// own text has none of them but line feeds and tabs, so the page is sanitised
	// as a whole by render.CleanLines, the sanitiser of every output. Doing it after
	// escaping gives the same page as before it: neither step makes characters the
	// other acts on (escaping writes only ASCII entities; CleanLines only ASCII
	// backslash escapes), and a whole-page pass cannot miss a field.
	bw.WriteString(render.CleanLines(buf.String()))
	return bw.Flush()
}

// htable is a table for the template: cells already formatted, with optional sort
// keys (data-v) for numeric columns.
type htable struct {
	Caption string
	Head    []hcol
	Rows    [][]hcell
}

type hcol struct {
	Name string
	Num  bool
}

type hcell struct {
	Text  string
	Sort  string // the numeric sort key, "" for text
	Code  bool   // monospace
	Class string
}

func num(text string, v uint64) hcell {
	return hcell{Text: text, Sort: strconv.FormatUint(v, 10), Class: "num"}
}
func numI(text string, v int) hcell { return hcell{Text: text, Sort: strconv.Itoa(v), Class: "num"} }
func numF(text string, v float64) hcell {
	return hcell{Text: text, Sort: strconv.FormatFloat(v, 'f', -1, 64), Class: "num"}
}
func txt(s string) hcell  { return hcell{Text: s} }
func code(s string) hcell { return hcell{Text: s, Code: true} }

func (r *Report) addrCell(a uint64) hcell {
	return hcell{Text: r.addr(a), Sort: strconv.FormatUint(a, 10), Code: true}
}

func fct(label, value string) fact { return fact{Label: label, Value: value} }

func cols(names ...string) []hcol {
	var out []hcol
	for _, n := range names {
		c := hcol{Name: strings.TrimPrefix(n, ">"), Num: strings.HasPrefix(n, ">")}
		out = append(out, c)
	}
	return out
}

// cellRule says how a cell's colour is chosen (dominant).
const cellRule = "A cell is drawn in the colour of the busy usage holding most of it once busy regions hold an eighth of it (they cut the free space there), else as Free, Unusable or Unknown, whichever holds most. A lighter cell is less than half busy. Hover over a cell for the mix."

// card is one of the key numbers at the top of the page.
type card struct {
	Label, Value, Note, Class string
}

type legendItem struct {
	Swatch template.HTML
	Name   string
	Size   string
	Share  string
	Desc   string
}

type htmlExplain struct {
	// Evidence and NotRecovered are set for the failed allocation: how the dump
	// shows it, and what it does not.
	Evidence     []string
	NotRecovered []string
	ID           string
	Title        string
	Word         string // SUCCEED, FAIL, DEPENDS
	Condition    string
	Class        string
	Reasons      []string
	Candidates   *htable
	NearMisses   *htable
	Unknown      []string
	Remedies     []string
}

type htmlData struct {
	R           *Report
	Cards       []card
	Glance      []string
	SummaryNote string
	Facts       []fact
	Findings    []string
	Defs        template.HTML
	Map         template.HTML
	MapWidth    int
	MapHeight   int
	Overview    template.HTML
	UsageBar    template.HTML
	Histogram   template.HTML
	Legend      []legendItem
	CellNote    string
	LUBNote     string
	LUBClass    string // lubnote (found), lubnone (none left), lubunknown (partial map)
	Usage       []*htable
	Largest     *htable
	FreeFacts   []fact
	Classes     *htable
	Waste       *htable
	WasteNote   string
	ByUsage     *htable
	ByAlloc     *htable
	Commit      []fact
	CommitFrom  string
	Heaps       *htable
	Stack       *htable
	Requests    string
	Explains    []htmlExplain
	Max         *htable
}

// Only constant, trusted markup is passed as template.HTML: the SVG pictures, whose
// text is escaped by esc as they are built.
func (r *Report) htmlData() *htmlData {
	d := &htmlData{R: r, Glance: r.glance(), Facts: r.facts(), Defs: template.HTML(defsSVG)}
	if f := r.Fragmentation; !r.Map.Partial {
		lu := f.LargestUsableFree
		d.Cards = append(d.Cards, card{"Free address space", render.Size(f.FreeTotal), fmt.Sprintf("in %s runs", comma(f.FreeRuns)), ""})
		if lu.Size > 0 {
			d.Cards = append(d.Cards, card{"Largest usable block", render.Size(lu.Size), "at " + shortAddr(uint64(lu.Base)), "good"})
		} else {
			d.Cards = append(d.Cards, card{"Largest usable block", "none", "no 64 KiB-aligned block is free", "bad"})
		}
		cls := ""
		if f.FreeTotal > 0 && f.UnusableTotal*4 >= f.FreeTotal {
			cls = "bad"
		}
		d.Cards = append(d.Cards, card{"Unusable free space", render.Size(f.UnusableTotal), pct(f.UnusableTotal, f.FreeTotal) + " of the free space", cls})
		d.Cards = append(d.Cards, card{"Lost to 64 KiB granularity", render.Size(f.WasteTotal), fmt.Sprintf("%s allocation patterns", comma(f.WastePatterns)), cls})
	}
	for _, f := range r.Dump.Findings {
		d.Findings = append(d.Findings, f.Text)
	}
	if len(r.Picture.Spans) > 0 {
		g := r.mapGeometry()
		d.Map, d.MapWidth, d.MapHeight = template.HTML(r.mapSVG()), g.Width, g.Height
		if r.Picture.Whole {
			d.CellNote = fmt.Sprintf("The whole user address space, %s to %s, %d cells to a row; one cell is %s. "+cellRule,
				shortAddr(0), shortAddr(uint64(r.Picture.End)), columns, render.Size(r.Picture.Spans[0].CellSize))
		} else {
			d.CellNote = fmt.Sprintf("The occupied parts of the 64-bit address space (%d spans; free gaps of 1 GiB and more are not drawn), %d cells to a row. "+cellRule+" The bar above shows the whole address space to scale, with the spans numbered.", len(r.Picture.Spans), columns)
			d.Overview = template.HTML(r.overviewSVG())
		}
	}
	lu := r.Fragmentation.LargestUsableFree
	switch {
	case r.Map.Partial:
		d.LUBNote, d.LUBClass = "The map is partial: where the free space lies is unknown.", "lubunknown"
	case lu.Size > 0:
		d.LUBClass = "lubnote"
		d.LUBNote = fmt.Sprintf("★ Outlined: the largest usable free block, %s at %s–%s.", render.Size(lu.Size), r.addr(uint64(lu.Base)), r.addr(uint64(lu.End)))
	default:
		d.LUBNote, d.LUBClass = "Not one 64 KiB-aligned block is free: no new reservation can succeed anywhere.", "lubnone"
	}
	d.UsageBar = template.HTML(r.usageBarSVG())
	if !r.Map.Partial {
		d.Histogram = template.HTML(r.histogramSVG())
	}
	for u := analysis.Usage(0); u < numUsages; u++ {
		if r.usage[u] == 0 && u != analysis.UsageFree && u != analysis.UsageUnusable {
			continue
		}
		d.Legend = append(d.Legend, legendItem{template.HTML(swatchSVG(u)), u.String(), render.Size(r.usage[u]), pct(r.usage[u], r.Summary.Total), usageDescription[u]})
	}

	s := r.Summary
	d.SummaryNote = fmt.Sprintf("%s of address space: %s busy, %s free", render.Size(s.Total), render.Size(s.Busy), render.Size(s.Total-s.Busy))
	if s.Unknown > 0 {
		d.SummaryNote += fmt.Sprintf(", %s unknown (counted as busy)", render.Size(s.Unknown))
	}
	d.SummaryNote += ". Unusable free space has a row of its own, as in VMMap (WinDbg counts it as Free)."
	for _, t := range []struct {
		title string
		rows  []render.SummaryRow
	}{{"Usage summary", s.Usage}, {"Type summary (busy regions)", s.Type}, {"State summary", s.State}, {"Protect summary (committed regions)", s.Protect}} {
		ht := &htable{Caption: t.title, Head: cols("", ">Regions", ">Total size", ">% of busy", ">% of total")}
		for _, row := range t.rows {
			busy := hcell{Class: "num", Sort: "0"}
			if row.PctBusy > 0 || !isFreeName(row.Name) {
				busy = numF(fmt.Sprintf("%.2f%%", row.PctBusy), row.PctBusy)
			}
			ht.Rows = append(ht.Rows, []hcell{txt(row.Name), numI(comma(row.Regions), row.Regions),
				num(fmt.Sprintf("%s (%#x)", render.Size(row.Size), row.Size), row.Size), busy, numF(fmt.Sprintf("%.2f%%", row.PctTotal), row.PctTotal)})
		}
		d.Usage = append(d.Usage, ht)
	}
	d.Largest = &htable{Caption: "Largest region by usage", Head: cols("Usage", "Base", ">Region size")}
	for _, l := range s.LargestByUsage {
		d.Largest.Rows = append(d.Largest.Rows, []hcell{txt(l.Usage), r.addrCell(uint64(l.Base)), num(fmt.Sprintf("%s (%#x)", render.Size(l.Size), l.Size), l.Size)})
	}

	f := r.Fragmentation
	if !r.Map.Partial {
		lub := "none: not one 64 KiB-aligned block is free"
		if lu.Size > 0 {
			lub = fmt.Sprintf("%s at %s–%s (64 KiB-aligned)", render.Size(lu.Size), r.addr(uint64(lu.Base)), r.addr(uint64(lu.End)))
		}
		d.FreeFacts = []fact{
			fct("Free", fmt.Sprintf("%s in %s runs", render.Size(f.FreeTotal), comma(f.FreeRuns))),
			fct("Largest free run", fmt.Sprintf("%s at %s", render.Size(f.LargestFree.Size), r.addr(uint64(f.LargestFree.Base)))),
			fct("Largest usable block", lub),
			fct("Usable", render.Size(f.UsableFreeTotal)),
			fct("Unusable", fmt.Sprintf("%s (%s runs too small or misaligned to hold a 64 KiB block)", render.Size(f.UnusableTotal), comma(f.UnusableRuns))),
			fct("Would still fit", r.fitsText()),
		}
		d.Classes = &htable{Caption: "Free runs by size", Head: cols("Free run size", ">Runs", ">Bytes", ">Usable", ">Unusable")}
		for _, c := range f.SizeClasses {
			d.Classes.Rows = append(d.Classes.Rows, []hcell{{Text: c.Label, Sort: strconv.FormatUint(c.Min, 10)}, numI(comma(c.Runs), c.Runs),
				num(render.Size(c.Bytes), c.Bytes), num(render.Size(c.Usable), c.Usable), num(render.Size(c.Bytes-c.Usable), c.Bytes-c.Usable)})
		}
	}
	if c := f.Commit; c != nil {
		d.CommitFrom = c.Source
		if c.ProcessPrivate != 0 {
			d.Commit = append(d.Commit, fct("Process private commit", fmt.Sprintf("%s (peak %s)", render.Size(c.ProcessPrivate), render.Size(c.PeakPrivate))))
		}
		if c.ProcessVirtualSize != 0 {
			d.Commit = append(d.Commit, fct("Process virtual size", render.Size(c.ProcessVirtualSize)))
		}
		if c.JobCommitLimit != 0 {
			d.Commit = append(d.Commit, fct("Job commit limit", render.Size(c.JobCommitLimit)))
		}
		if c.SystemCommitLimit != 0 {
			d.Commit = append(d.Commit, fct("System commit", fmt.Sprintf("%s of %s (%s)", render.Size(c.SystemCommitted), render.Size(c.SystemCommitLimit), pct(c.SystemCommitted, c.SystemCommitLimit))))
		}
	}
	if len(f.Waste) > 0 {
		d.WasteNote = fmt.Sprintf("%s of address space is lost below 64 KiB boundaries after reservations that are not multiples of 64 KiB", render.Size(f.WasteTotal))
		if f.WastePatterns > len(f.Waste) {
			d.WasteNote += fmt.Sprintf(" (the %d largest of %d patterns)", len(f.Waste), f.WastePatterns)
		}
		d.WasteNote += "."
		d.Waste = &htable{Caption: "Granularity waste by allocation pattern", Head: cols(">Reservations", ">Size each", ">Wasted each", ">Wasted in all", "Type", "Protection", "Usage", "Example")}
		for _, x := range f.Waste {
			d.Waste.Rows = append(d.Waste.Rows, []hcell{numI(comma(x.Count), x.Count), num(render.Size(x.Size), x.Size), num(render.Size(x.WastedEach), x.WastedEach),
				num(render.Size(x.WastedTotal), x.WastedTotal), txt(render.OrDash(x.Type)), txt(render.OrDash(x.Protect)), txt(x.Usage), r.addrCell(uint64(x.Example))})
		}
	}
	d.ByUsage = &htable{Caption: "Busy address space by usage", Head: cols("Usage", ">Regions", ">Size", ">% of busy")}
	for _, u := range f.ByUsage {
		d.ByUsage.Rows = append(d.ByUsage.Rows, []hcell{txt(u.Name), numI(comma(u.Regions), u.Regions), num(render.Size(u.Size), u.Size), numF(fmt.Sprintf("%.2f%%", u.PctBusy), u.PctBusy)})
	}
	if len(f.ByAllocation) > 0 {
		d.ByAlloc = &htable{Caption: fmt.Sprintf("The largest allocations (%d of %s)", len(f.ByAllocation), comma(f.Allocations)),
			Head: cols("Base", "End", ">Size", ">Committed", "Usage", "Details")}
		for _, a := range f.ByAllocation {
			d.ByAlloc.Rows = append(d.ByAlloc.Rows, []hcell{r.addrCell(uint64(a.Base)), r.addrCell(uint64(a.End)), num(render.Size(a.Size), a.Size),
				num(render.Size(a.Committed), a.Committed), txt(a.Usage), code(a.Detail)})
		}
	}
	if len(r.Heaps.Heaps) > 0 {
		d.Heaps = &htable{Caption: "Heaps", Head: cols("Heap", "Role", ">Segments", ">Reserved", ">Committed", ">Uncommitted room", ">Largest room", "Free inside", "Found by")}
		for _, h := range r.Heaps.Heaps {
			d.Heaps.Rows = append(d.Heaps.Rows, []hcell{r.addrCell(uint64(h.Handle)), txt(heapKind(h)), numI(comma(h.Segments), h.Segments),
				num(render.Size(h.Reserved), h.Reserved), num(render.Size(h.Committed), h.Committed), num(render.Size(h.Uncommitted), h.Uncommitted),
				num(render.Size(h.LargestUncommitted), h.LargestUncommitted), txt(render.HeapFreeText(h)), txt(strings.Join(h.FoundBy, ", "))})
		}
	}

	if t := r.CrashingStack; t != nil {
		d.Stack = &htable{Caption: fmt.Sprintf("The crashing thread (%#x)", t.ID), Head: cols("#", "Child-SP", "Call site", "Found by")}
		for i := range t.Frames {
			f := &t.Frames[i]
			d.Stack.Rows = append(d.Stack.Rows, []hcell{numI(fmt.Sprintf("%02d", f.Index), f.Index), r.addrCell(f.SP), txt(f.Location()), txt(f.Trust.String())})
		}
	}

	q := r.Requests
	var sizes []string
	for _, s := range q.Sizes {
		sizes = append(sizes, render.Size(s))
	}
	d.Requests = fmt.Sprintf("Sizes explained: %s, by %s", strings.Join(sizes, ", "), strings.Join(q.Vias, ", "))
	if q.Below != 0 {
		d.Requests += ", below " + shortAddr(uint64(q.Below))
	}
	d.Requests += ". Why these: " + q.Why
	xs := r.Explanations
	if r.FailedExplanation != nil {
		xs = append([]render.Explanation{*r.FailedExplanation}, xs...)
	}
	for i := range xs {
		x := &xs[i]
		he := htmlExplain{ID: fmt.Sprintf("explain-%d", i+1), Title: x.RequestText(), Word: strings.ToUpper(x.Verdict), Condition: x.Condition, Class: "v-" + x.Verdict,
			Reasons: x.Reasons, Unknown: x.Unknown, Remedies: x.Remedies}
		if i == 0 && r.FailedExplanation != nil {
			fr := r.Dump.Exception.FailedRequest
			he.ID, he.Title = "explain-failed", "The failed allocation: "+render.FailedHeadline(fr)
			for _, e := range fr.Evidence {
				he.Evidence = append(he.Evidence, strings.Join(e.Text, "; "))
			}
			for _, u := range fr.Unknown {
				he.NotRecovered = append(he.NotRecovered, u.What+": "+u.Why)
			}
		}
		if len(x.Candidates) > 0 {
			he.Candidates = &htable{Caption: fmt.Sprintf("Free runs that can take it (%s in all)", comma(x.CandidateCount)), Head: cols("Run", "End", ">Size", "Usable from", ">Usable")}
			for _, c := range x.Candidates {
				he.Candidates.Rows = append(he.Candidates.Rows, []hcell{r.addrCell(uint64(c.Base)), r.addrCell(uint64(c.End)), num(render.Size(c.Size), c.Size),
					r.addrCell(uint64(c.UsableBase)), num(render.Size(c.UsableSize), c.UsableSize)})
			}
		}
		if len(x.NearMisses) > 0 {
			he.NearMisses = &htable{Caption: "Nearest misses", Head: cols("Run", "End", ">Size", "Why not")}
			for _, n := range x.NearMisses {
				he.NearMisses.Rows = append(he.NearMisses.Rows, []hcell{r.addrCell(uint64(n.Base)), r.addrCell(uint64(n.End)), num(render.Size(n.Size), n.Size), txt(n.Why)})
			}
		}
		d.Explains = append(d.Explains, he)
	}
	if len(r.Max) > 0 {
		d.Max = &htable{Caption: "Largest request that would still succeed", Head: cols("Path", ">Largest", ">Bytes")}
		for _, m := range r.Max {
			if !m.Possible {
				d.Max.Rows = append(d.Max.Rows, []hcell{txt(m.Via), {Text: "none", Sort: "-1", Class: "num"}, {Text: "–", Sort: "-1", Class: "num"}})
				continue
			}
			d.Max.Rows = append(d.Max.Rows, []hcell{txt(m.Via), num(render.Size(m.Max), m.Max), num(commaU(m.Max), m.Max)})
		}
	}
	return d
}
