package report

import (
	"bufio"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"github.com/dumpmap/dumpmap/analysis"
	"github.com/dumpmap/dumpmap/analysis/render"
)

// WriteMarkdown writes the report as GitHub-flavoured Markdown: headings, lists and
// tables whose columns line up, so the file reads as well in a terminal as it
// renders in a ticket. The address-space picture is drawn in text; the HTML report
// has the coloured one.
func (r *Report) WriteMarkdown(w io.Writer) error {
	bw := bufio.NewWriter(w)
	md := &mdWriter{w: bw}
	r.markdown(md)
	return bw.Flush()
}

type mdWriter struct{ w *bufio.Writer }

func (m *mdWriter) p(format string, args ...any) { fmt.Fprintf(m.w, format, args...) }
func (m *mdWriter) line(s string)                { m.w.WriteString(s + "\n") }
func (m *mdWriter) blank()                       { m.w.WriteString("\n") }

// table writes a GFM table. Column specs start with ">" for right alignment; cells
// must already be escaped for Markdown (mdText, mdCode) but for pipes, which table
// escapes in every cell.
func (m *mdWriter) table(head []string, rows [][]string) {
	n := len(head)
	right := make([]bool, n)
	names := make([]string, n)
	width := make([]int, n)
	for i, h := range head {
		right[i] = strings.HasPrefix(h, ">")
		names[i] = strings.TrimPrefix(h, ">")
		width[i] = max(3, utf8.RuneCountInString(names[i]))
	}
	esc := make([][]string, len(rows))
	for r, row := range rows {
		esc[r] = make([]string, len(row))
		for i, c := range row {
			esc[r][i] = strings.ReplaceAll(c, "|", `\|`)
		}
	}
	rows = esc
	for _, row := range rows {
		for i := 0; i < n && i < len(row); i++ {
			width[i] = max(width[i], utf8.RuneCountInString(row[i]))
		}
	}
	pad := func(s string, i int) string {
		gap := strings.Repeat(" ", width[i]-utf8.RuneCountInString(s))
		if right[i] {
			return gap + s
		}
		return s + gap
	}
	var b strings.Builder
	write := func(cells []string) {
		b.Reset()
		b.WriteString("|")
		for i := 0; i < n; i++ {
			c := ""
			if i < len(cells) {
				c = cells[i]
			}
			b.WriteString(" " + pad(c, i) + " |")
		}
		m.line(b.String())
	}
	write(names)
	seps := make([]string, n)
	for i := range seps {
		if right[i] {
			seps[i] = strings.Repeat("-", width[i]-1) + ":"
		} else {
			seps[i] = strings.Repeat("-", width[i])
		}
	}
	write(seps)
	for _, row := range rows {
		write(row)
	}
	m.blank()
}

// mdText escapes text from the dump or the analyses for Markdown: it is first
// sanitised by render.Clean (control characters, line separators, bidirectional
// overrides, invalid UTF-8), then characters that would start markup (emphasis,
// links, HTML, code, table cells) are backslash-escaped, so the text reads as it is
// and cannot inject markup. Underscores inside words (MEM_PRIVATE) are left alone:
// they are not emphasis in GFM.
func mdText(s string) string {
	s = render.Clean(s)
	var b strings.Builder
	rs := []rune(s)
	for i, c := range rs {
		switch c {
		case '\\', '`', '*', '[', ']', '<', '>', '~':
			b.WriteByte('\\')
		case '#', '-', '+', '=':
			if i == 0 {
				b.WriteByte('\\')
			}
		case '_':
			if i == 0 || i == len(rs)-1 || !isWordRune(rs[i-1]) || !isWordRune(rs[i+1]) {
				b.WriteByte('\\')
			}
		}
		b.WriteRune(c)
	}
	return b.String()
}

func isWordRune(c rune) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

// mdCode puts text, sanitised by render.Clean, in a code span, with a fence longer
// than any run of backticks in it. (In a table, pipes are escaped by table: GFM splits cells at pipes even in code
// spans.)
func mdCode(s string) string {
	s = render.Clean(s)
	if s == "" {
		return ""
	}
	run, longest := 0, 0
	for _, c := range s {
		if c == '`' {
			run++
			longest = max(longest, run)
		} else {
			run = 0
		}
	}
	fence := strings.Repeat("`", longest+1)
	if strings.HasPrefix(s, "`") || strings.HasSuffix(s, "`") {
		s = " " + s + " "
	}
	return fence + s + fence
}

func (r *Report) markdown(md *mdWriter) {
	md.p("# dumpmap report: %s\n\n", mdText(r.Title))
	gen := ""
	if r.Generator != "" {
		gen = " by " + mdText(r.Generator)
	}
	md.p("Dump %s, analysed%s.\n\n", mdCode(r.File), gen)

	md.line("## At a glance")
	md.blank()
	for _, g := range r.glance() {
		md.line("- " + mdText(g))
	}
	for i := range r.Explanations {
		x := &r.Explanations[i]
		line := fmt.Sprintf("- %s: **%s**", mdText(x.RequestText()), strings.ToUpper(x.Verdict))
		if x.Condition != "" {
			line += ": " + mdText(x.Condition)
		}
		md.line(line)
	}
	md.blank()

	r.mdPicture(md)
	md.line("## The dump")
	md.blank()
	for _, f := range r.facts() {
		v := mdText(f.Value)
		if f.Code {
			v = mdCode(f.Value)
		}
		md.p("- **%s:** %s\n", f.Label, v)
	}
	md.blank()
	if len(r.Dump.Findings) > 0 {
		md.line("What the capture means for the analyses:")
		md.blank()
		for _, f := range r.Dump.Findings {
			md.line("- " + mdText(f.Text))
		}
		md.blank()
	}
	if len(r.Map.Notes) > 0 {
		md.line("The region map notes:")
		md.blank()
		for _, n := range r.Map.Notes {
			md.line("- " + mdText(n))
		}
		md.blank()
	}

	r.mdStack(md)
	r.mdFailed(md)
	r.mdSummary(md)
	r.mdFrag(md)
	r.mdHeaps(md)
	r.mdExplain(md)

	if len(r.Warnings) > 0 {
		md.line("## Warnings")
		md.blank()
		md.line("Damage met while reading the dump (what could be read was used):")
		md.blank()
		for _, w := range r.Warnings {
			md.line("- " + mdText(w))
		}
		md.blank()
	}
}

func (r *Report) mdPicture(md *mdWriter) {
	md.line("## Address space")
	md.blank()
	p := r.small
	if p.Whole {
		md.p("The whole user address space, one character per %s (the busy usage holding most of it once busy regions hold an eighth of it, else the free kind holding most). The HTML report (`--format html`) draws it in colour.\n\n", render.Size(p.Spans[0].CellSize))
	} else {
		md.line("The occupied parts of the 64-bit address space, one character per cell (the busy usage holding most of it once busy regions hold an eighth of it, else the free kind holding most); free gaps of 1 GiB and more are left out. The HTML report (`--format html`) draws it in colour.")
		md.blank()
	}
	md.line("```")
	var prevEnd uint64
	for i, s := range p.Spans {
		if !p.Whole {
			if uint64(s.Base) > prevEnd {
				md.p("  ... %s not drawn (%s-%s) ...\n", render.Size(uint64(s.Base)-prevEnd), shortAddr(prevEnd), shortAddr(uint64(s.Base)))
			}
			md.p("  [%d] %s-%s, %s, one character = %s\n", i+1, shortAddr(uint64(s.Base)), shortAddr(uint64(s.End)), render.Size(uint64(s.End)-uint64(s.Base)), render.Size(s.CellSize))
		}
		for row := 0; row*textCols < len(s.Cells); row++ {
			end := min((row+1)*textCols, len(s.Cells))
			md.p("%s  %s\n", r.addr(uint64(s.Base)+uint64(row*textCols)*s.CellSize), s.Cells[row*textCols:end])
		}
		prevEnd = uint64(s.End)
	}
	if !p.Whole && prevEnd < uint64(p.End) {
		md.p("  ... %s not drawn (%s-%s) ...\n", render.Size(uint64(p.End)-prevEnd), shortAddr(prevEnd), shortAddr(uint64(p.End)))
	}
	md.line("```")
	md.blank()
	var legend []string
	for u := analysis.Usage(0); u < numUsages; u++ {
		legend = append(legend, fmt.Sprintf("`%c` %s", usageLetters[u], u))
	}
	md.line("Legend: " + strings.Join(legend, ", ") + "; a busy letter in lower case marks a cell less than half busy.")
	md.blank()

	var rows [][]string
	for _, ub := range r.sortedUsages() {
		rows = append(rows, []string{ub.u.String(), render.Size(ub.bytes), pct(ub.bytes, r.Summary.Total), usageDescription[ub.u]})
	}
	md.line("Address space by usage:")
	md.blank()
	md.table([]string{"Usage", ">Size", ">Share", "What it is"}, rows)
}

func (r *Report) mdRows(md *mdWriter, title string, rows []render.SummaryRow) {
	md.p("### %s\n\n", title)
	var out [][]string
	for _, s := range rows {
		busy := ""
		if s.PctBusy > 0 || !isFreeName(s.Name) {
			busy = fmt.Sprintf("%.2f%%", s.PctBusy)
		}
		out = append(out, []string{mdText(s.Name), comma(s.Regions), fmt.Sprintf("%#x", s.Size), render.Size(s.Size), busy, fmt.Sprintf("%.2f%%", s.PctTotal)})
	}
	md.table([]string{"", ">Regions", ">Total size", ">", ">% of busy", ">% of total"}, out)
}

func isFreeName(n string) bool {
	return strings.HasPrefix(n, "Free") || n == "Unusable" || n == "MEM_FREE"
}

func (r *Report) mdSummary(md *mdWriter) {
	md.line("## Summary (`!address -summary`)")
	md.blank()
	s := r.Summary
	md.p("%s of address space: %s busy, %s free", render.Size(s.Total), render.Size(s.Busy), render.Size(s.Total-s.Busy))
	if s.Unknown > 0 {
		md.p(", %s unknown (counted as busy)", render.Size(s.Unknown))
	}
	md.p(". Unusable free space has a row of its own, as in VMMap (WinDbg counts it as Free).\n\n")
	r.mdRows(md, "Usage summary", s.Usage)
	r.mdRows(md, "Type summary (busy regions)", s.Type)
	r.mdRows(md, "State summary", s.State)
	r.mdRows(md, "Protect summary (committed regions)", s.Protect)
	md.line("### Largest region by usage")
	md.blank()
	var rows [][]string
	for _, l := range s.LargestByUsage {
		rows = append(rows, []string{l.Usage, r.addr(uint64(l.Base)), fmt.Sprintf("%#x", l.Size), render.Size(l.Size)})
	}
	md.table([]string{"Usage", "Base", ">Region size", ">"}, rows)
}

func (r *Report) mdFrag(md *mdWriter) {
	f := r.Fragmentation
	md.line("## Fragmentation")
	md.blank()
	md.line("### Free space")
	md.blank()
	if r.Map.Partial {
		md.line("The map is partial (no MemoryInfoList): where the free space lies is unknown.")
		md.blank()
	} else {
		lu := f.LargestUsableFree
		rows := [][]string{
			{"Free", fmt.Sprintf("%s in %s runs", render.Size(f.FreeTotal), comma(f.FreeRuns))},
			{"Largest free run", fmt.Sprintf("%s at %s", render.Size(f.LargestFree.Size), r.addr(uint64(f.LargestFree.Base)))},
		}
		if lu.Size > 0 {
			rows = append(rows, []string{"Largest usable block", fmt.Sprintf("%s at %s-%s (64 KiB-aligned)", render.Size(lu.Size), r.addr(uint64(lu.Base)), r.addr(uint64(lu.End)))})
		} else {
			rows = append(rows, []string{"Largest usable block", "none: not one 64 KiB-aligned block is free"})
		}
		rows = append(rows,
			[]string{"Usable", render.Size(f.UsableFreeTotal)},
			[]string{"Unusable", fmt.Sprintf("%s (%s runs too small or misaligned to hold a 64 KiB block)", render.Size(f.UnusableTotal), comma(f.UnusableRuns))},
			[]string{"Would still fit", r.fitsText()})
		md.table([]string{"", ""}, rows)

		md.line("### Free runs by size")
		md.blank()
		var cr [][]string
		for _, c := range f.SizeClasses {
			cr = append(cr, []string{c.Label, comma(c.Runs), render.Size(c.Bytes), render.Size(c.Usable), render.Size(c.Bytes - c.Usable)})
		}
		md.table([]string{"Free run size", ">Runs", ">Bytes", ">Usable", ">Unusable"}, cr)
	}
	if f.Plentiful {
		md.p("This is a 64-bit process with %s of usable free address space: fragmentation cannot have failed an allocation. Look at the commit side instead.\n\n", render.Size(f.UsableFreeTotal))
	}
	if c := f.Commit; c != nil {
		md.p("### Commit (from %s)\n\n", mdText(c.Source))
		var rows [][]string
		if c.ProcessPrivate != 0 {
			rows = append(rows, []string{"Process private commit", fmt.Sprintf("%s (peak %s)", render.Size(c.ProcessPrivate), render.Size(c.PeakPrivate))})
		}
		if c.ProcessVirtualSize != 0 {
			rows = append(rows, []string{"Process virtual size", render.Size(c.ProcessVirtualSize)})
		}
		if c.JobCommitLimit != 0 {
			rows = append(rows, []string{"Job commit limit", render.Size(c.JobCommitLimit)})
		}
		if c.SystemCommitLimit != 0 {
			rows = append(rows, []string{"System commit", fmt.Sprintf("%s of %s (%s)", render.Size(c.SystemCommitted), render.Size(c.SystemCommitLimit), pct(c.SystemCommitted, c.SystemCommitLimit))})
		}
		md.table([]string{"", ""}, rows)
	}

	md.line("### Granularity waste")
	md.blank()
	if len(f.Waste) == 0 {
		md.line("No reservation leaves an unusable tail.")
		md.blank()
	} else {
		md.p("%s of address space is lost below 64 KiB boundaries after reservations that are not multiples of 64 KiB", render.Size(f.WasteTotal))
		if f.WastePatterns > len(f.Waste) {
			md.p(" (the %d largest of %d patterns)", len(f.Waste), f.WastePatterns)
		}
		md.p(":\n\n")
		var rows [][]string
		for _, x := range f.Waste {
			rows = append(rows, []string{comma(x.Count), render.Size(x.Size), render.Size(x.WastedEach), render.Size(x.WastedTotal),
				mdText(render.OrDash(x.Type)), mdText(render.OrDash(x.Protect)), mdText(x.Usage), r.addr(uint64(x.Example))})
		}
		md.table([]string{">Reservations", ">Size each", ">Wasted each", ">Wasted in all", "Type", "Protection", "Usage", "Example"}, rows)
	}

	md.line("### Who holds the address space")
	md.blank()
	var rows [][]string
	for _, u := range f.ByUsage {
		rows = append(rows, []string{mdText(u.Name), comma(u.Regions), render.Size(u.Size), fmt.Sprintf("%.2f%%", u.PctBusy)})
	}
	md.table([]string{"Usage", ">Regions", ">Size", ">% of busy"}, rows)
	if len(f.ByAllocation) > 0 {
		md.p("The largest allocations (%d of %s):\n\n", len(f.ByAllocation), comma(f.Allocations))
		rows = nil
		for _, a := range f.ByAllocation {
			rows = append(rows, []string{r.addr(uint64(a.Base)), r.addr(uint64(a.End)), render.Size(a.Size), render.Size(a.Committed), mdText(a.Usage), mdCode(a.Detail)})
		}
		md.table([]string{"Base", "End", ">Size", ">Committed", "Usage", "Details"}, rows)
	}
}

func (r *Report) mdHeaps(md *mdWriter) {
	h := r.Heaps
	md.line("## Heaps")
	md.blank()
	if len(h.Heaps) == 0 {
		md.line("No heap could be identified (the dump did not capture the PEB's heap list).")
		md.blank()
	} else {
		var rows [][]string
		for _, x := range h.Heaps {
			rows = append(rows, []string{r.addr(uint64(x.Handle)), heapKind(x), comma(x.Segments), render.Size(x.Reserved), render.Size(x.Committed),
				render.Size(x.Uncommitted), render.Size(x.LargestUncommitted), mdText(render.HeapFreeText(x)), mdText(strings.Join(x.FoundBy, ", "))})
		}
		md.table([]string{"Heap", "Role", ">Segments", ">Reserved", ">Committed", ">Uncommitted room", ">Largest room", "Free inside", "Found by"}, rows)
		md.line("Free inside: the heap's free blocks, walked when its memory is in the dump (a full-memory dump).")
		md.blank()
	}
	if h.CRTHow != "" {
		md.p("The C runtime's heap: %s.\n\n", mdText(h.CRTHow))
	}
	if len(h.Tried) > 0 {
		md.line("What was tried:")
		md.blank()
		for _, t := range h.Tried {
			md.line("- " + mdText(t))
		}
		md.blank()
	}
}

func (r *Report) mdExplain(md *mdWriter) {
	q := r.Requests
	md.line("## Would an allocation succeed?")
	md.blank()
	var sizes []string
	for _, s := range q.Sizes {
		sizes = append(sizes, render.Size(s))
	}
	md.p("Sizes explained: %s, by %s", strings.Join(sizes, ", "), strings.Join(q.Vias, ", "))
	if q.Below != 0 {
		md.p(", below %s", shortAddr(uint64(q.Below)))
	}
	md.p(". Why these: %s\n\n", mdText(q.Why))
	for i := range r.Explanations {
		x := &r.Explanations[i]
		md.p("### %s\n\n", mdText(x.RequestText()))
		r.mdOneExplain(md, x)
	}
	if len(r.Max) > 0 {
		md.line("### Largest request that would still succeed")
		md.blank()
		var rows [][]string
		for _, m := range r.Max {
			if !m.Possible {
				rows = append(rows, []string{m.Via, "none", "-"})
				continue
			}
			rows = append(rows, []string{m.Via, render.Size(m.Max), commaU(m.Max)})
		}
		md.table([]string{"Path", ">Largest", ">Bytes"}, rows)
		md.line("'none' also covers verdicts that depend on the heap's free blocks, which a dump without heap memory cannot show.")
		md.blank()
	}
}

func (r *Report) mdList(md *mdWriter, title string, items []string) {
	if len(items) == 0 {
		return
	}
	md.line(title)
	md.blank()
	for _, s := range items {
		md.line("- " + mdText(s))
	}
	md.blank()
}

// mdOneExplain writes an explanation's verdict, reasons, runs and lists.
func (r *Report) mdOneExplain(md *mdWriter, x *render.Explanation) {
	md.p("**Verdict: %s**", strings.ToUpper(x.Verdict))
	if r.Map.Partial {
		md.p(" (partial map: the dump has no MemoryInfoList)")
	}
	md.p("\n\n")
	if x.Condition != "" {
		md.p("Depends on %s.\n\n", mdText(x.Condition))
	}
	for j, reason := range x.Reasons {
		md.p("%d. %s\n", j+1, mdText(reason))
	}
	md.blank()
	if len(x.Candidates) > 0 {
		md.p("Free runs that can take it (%s in all):\n\n", comma(x.CandidateCount))
		var rows [][]string
		for _, c := range x.Candidates {
			rows = append(rows, []string{r.addr(uint64(c.Base)), r.addr(uint64(c.End)), render.Size(c.Size), r.addr(uint64(c.UsableBase)), render.Size(c.UsableSize)})
		}
		md.table([]string{"Run", "End", ">Size", "Usable from", ">Usable"}, rows)
	}
	if len(x.NearMisses) > 0 {
		md.line("Nearest misses:")
		md.blank()
		var rows [][]string
		for _, n := range x.NearMisses {
			rows = append(rows, []string{r.addr(uint64(n.Base)), r.addr(uint64(n.End)), render.Size(n.Size), mdText(n.Why)})
		}
		md.table([]string{"Run", "End", ">Size", "Why not"}, rows)
	}
	r.mdList(md, "What the dump could not show:", x.Unknown)
	r.mdList(md, "What would have made it succeed:", x.Remedies)
}

// mdFailed writes the allocation the crash shows failing: what it was, the
// evidence for it, and the verdict on it.
func (r *Report) mdFailed(md *mdWriter) {
	x := r.Dump.Exception
	if x == nil || x.FailedRequest == nil {
		return
	}
	fr := x.FailedRequest
	md.line("## The failed allocation")
	md.blank()
	md.p("%s\n\n", mdText(render.FailedHeadline(fr)))
	md.line("How the dump shows it:")
	md.blank()
	for i, e := range fr.Evidence {
		md.p("%d. %s\n", i+1, mdText(strings.Join(e.Text, "; ")))
	}
	md.blank()
	var unknown []string
	for _, u := range fr.Unknown {
		unknown = append(unknown, u.What+": "+u.Why)
	}
	r.mdList(md, "Not recovered:", unknown)
	if e := r.FailedExplanation; e != nil {
		md.p("### %s\n\n", mdText(e.RequestText()))
		r.mdOneExplain(md, e)
	}
}

// mdStack writes the crashing thread's stack as `dumpmap stack` shows it.
func (r *Report) mdStack(md *mdWriter) {
	t := r.CrashingStack
	if t == nil {
		return
	}
	md.p("## The crashing thread (%#x)\n\n", t.ID)
	var rows [][]string
	for i := range t.Frames {
		f := &t.Frames[i]
		rows = append(rows, []string{fmt.Sprintf("%02d", f.Index), r.addr(f.SP), mdText(f.Location()), f.Trust.String()})
	}
	md.table([]string{"#", "Child-SP", "Call site", "Found by"}, rows)
}
