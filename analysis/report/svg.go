package report

import (
	"fmt"
	"html"
	"math"
	"strings"

	"github.com/dumpmap/dumpmap/analysis"
	"github.com/dumpmap/dumpmap/analysis/render"
)

// The pictures are built as SVG text here. Every string that goes into them is
// escaped with esc; numbers are formatted by fmt; class names are constants. The
// usage colours are CSS classes (u0..u9, in the order of analysis.Usage) defined in
// the page's style sheet, the hatching of Unusable and Unknown as patterns in the
// page's shared <defs>.

// esc sanitises s (render.Clean) and escapes it for HTML and SVG text.
func esc(s string) string { return html.EscapeString(render.Clean(s)) }

// svgBuf collects SVG elements.
type svgBuf struct{ strings.Builder }

func (b *svgBuf) f(format string, args ...any) { fmt.Fprintf(&b.Builder, format, args...) }

// Map picture geometry, in CSS pixels.
const (
	cellPx    = 9
	rowGapPx  = 0
	headPx    = 22 // a span's header line (64-bit)
	gapLinePx = 22 // the line for a gap that is not drawn (64-bit)
	labelPad  = 8
	charPx    = 6.6 // monospace 11px
)

// mapGeometry is where things are in the map SVG; tests check the SVG's size
// against it.
type mapGeometry struct {
	Width, Height int
	labelW        int
}

// MapSize returns the size, in CSS pixels, of the address-space picture the HTML
// draws (the SVG element with id "addrmap"), or zeros when there is none.
func (r *Report) MapSize() (width, height int) {
	if len(r.Picture.Spans) == 0 {
		return 0, 0
	}
	g := r.mapGeometry()
	return g.Width, g.Height
}

func (r *Report) mapGeometry() mapGeometry {
	p := &r.Picture
	longest := 0
	for _, s := range p.Spans {
		longest = max(longest, len(shortAddr(uint64(s.End))))
	}
	g := mapGeometry{labelW: int(math.Ceil(float64(longest)*charPx)) + 2*labelPad}
	g.Width = g.labelW + columns*cellPx + 12
	h := 4
	var prevEnd uint64
	for _, s := range p.Spans {
		if !p.Whole {
			if uint64(s.Base) > prevEnd {
				h += gapLinePx
			}
			h += headPx
		}
		h += rowsOf(&s) * cellPx
		prevEnd = uint64(s.End)
	}
	if !p.Whole && prevEnd < uint64(p.End) {
		h += gapLinePx
	}
	g.Height = h + 4
	return g
}

func rowsOf(s *Span) int { return (len(s.Cells) + columns - 1) / columns }

// usageOfLetter maps a cell letter back to its usage.
// A busy usage's letter in lower case marks a cell less than half busy (mixed).
func usageOfLetter(c byte) (u analysis.Usage, mixed bool) {
	for u := analysis.Usage(0); u < numUsages; u++ {
		if usageLetters[u] == c {
			return u, false
		}
	}
	for u := analysis.Usage(0); u < numUsages; u++ {
		if occupied(u) && usageLetters[u]+('a'-'A') == c {
			return u, true
		}
	}
	return analysis.UsageUnknown, false
}

// mapSVG draws the address-space picture.
func (r *Report) mapSVG() string {
	p := &r.Picture
	g := r.mapGeometry()
	var b svgBuf
	b.f(`<svg id="addrmap" class="addrmap" xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" shape-rendering="crispEdges" role="img" aria-labelledby="addrmap-title">`,
		g.Width, g.Height, g.Width, g.Height)
	b.f(`<title id="addrmap-title">Address space of %s: each cell in the colour of the usage holding most of it</title>`, esc(r.Title))
	lu := r.Fragmentation.LargestUsableFree
	y := 4
	x0 := g.labelW
	var prevEnd uint64
	gapText := func(lo, hi uint64) {
		label := fmt.Sprintf("⋯ %s not drawn: %s–%s", render.Size(hi-lo), shortAddr(lo), shortAddr(hi))
		if lu.Size > 0 && uint64(lu.Base) >= lo && uint64(lu.End) <= hi {
			label += " · holds the largest usable free block"
		}
		b.f(`<text class="gap" x="%d" y="%d">%s</text>`, x0, y+15, esc(label))
		y += gapLinePx
	}
	for si := range p.Spans {
		s := &p.Spans[si]
		if !p.Whole {
			if uint64(s.Base) > prevEnd {
				gapText(prevEnd, uint64(s.Base))
			}
			b.f(`<text class="spanhead" x="%d" y="%d">[%d] %s–%s · %s · one cell = %s</text>`, labelPad, y+15, si+1,
				esc(shortAddr(uint64(s.Base))), esc(shortAddr(uint64(s.End))), esc(render.Size(uint64(s.End)-uint64(s.Base))), esc(render.Size(s.CellSize)))
			y += headPx
		}
		rows := rowsOf(s)
		labelEvery := 4
		if rows <= 8 {
			labelEvery = 2
		}
		for row := 0; row < rows; row++ {
			ry := y + row*cellPx
			if row%labelEvery == 0 {
				b.f(`<text class="rowlabel" x="%d" y="%d">%s</text>`, g.labelW-labelPad, ry+cellPx, esc(shortAddr(uint64(s.Base)+uint64(row*columns)*s.CellSize)))
			}
			first := row * columns
			last := min(first+columns, len(s.Cells))
			for c := first; c < last; {
				e := c + 1
				for e < last && s.Cells[e] == s.Cells[c] {
					e++
				}
				u, mx := usageOfLetter(s.Cells[c])
				mixed := ""
				if mx {
					mixed = " mx"
				}
				b.f(`<rect class="u%d%s" x="%d" y="%d" width="%d" height="%d"><title>%s</title></rect>`,
					int(u), mixed, x0+(c-first)*cellPx, ry, (e-c)*cellPx, cellPx, esc(s.tooltip(c, e)))
				c = e
			}
		}
		// The cell grid, drawn over the cells so each stays visible.
		b.f(`<pattern id="grid-%d" x="%d" y="%d" width="%d" height="%d" patternUnits="userSpaceOnUse"><path class="gridline" d="M%g 0V%dM0 %gH%d"/></pattern>`,
			si, x0, y, cellPx, cellPx, float64(cellPx)-0.5, cellPx, float64(cellPx)-0.5, cellPx)
		full := len(s.Cells) / columns
		if full > 0 {
			b.f(`<rect class="grid" fill="url(#grid-%d)" x="%d" y="%d" width="%d" height="%d"/>`, si, x0, y, columns*cellPx, full*cellPx)
		}
		if rest := len(s.Cells) % columns; rest > 0 {
			b.f(`<rect class="grid" fill="url(#grid-%d)" x="%d" y="%d" width="%d" height="%d"/>`, si, x0, y+full*cellPx, rest*cellPx, cellPx)
		}
		// The largest usable free block: one outline around its cells, and a label
		// inside when it fills a whole row.
		if lu.Size > 0 {
			if a, z, ok := s.cellRange(uint64(lu.Base), uint64(lu.End)); ok {
				b.f(`<path class="lub" d="%s"><title>%s</title></path>`, outline(a, z, x0, y), esc(fmt.Sprintf("largest usable free block: %s at %s-%s", render.Size(lu.Size), shortAddr(uint64(lu.Base)), shortAddr(uint64(lu.End)))))
				fr := (a + columns - 1) / columns // the first row that starts inside the block
				if (fr+1)*columns-1 <= z {
					b.f(`<text class="lublabel" x="%d" y="%d">largest usable free block · %s</text>`, x0+5, y+fr*cellPx+cellPx-1, esc(render.Size(lu.Size)))
				} else {
					b.f(`<text class="lubmark" x="%d" y="%d">★</text>`, x0+(a%columns)*cellPx+1, y+(a/columns)*cellPx+cellPx-1)
				}
			}
		}
		y += rows * cellPx
		prevEnd = uint64(s.End)
	}
	if !p.Whole && prevEnd < uint64(p.End) {
		gapText(prevEnd, uint64(p.End))
	}
	b.f(`</svg>`)
	return b.String()
}

// outline returns the SVG path around cells a..z (inclusive) of a grid of columns
// cells to a row whose top left corner is at x0, y0.
func outline(a, z, x0, y0 int) string {
	const c = cellPx
	ra, ca, rz, cz := a/columns, a%columns, z/columns, z%columns
	pt := func(col, row int) string { return fmt.Sprintf("%d %d", x0+col*c, y0+row*c) }
	rect := func(r, c0, c1 int) string {
		return "M" + pt(c0, r) + "H" + fmt.Sprint(x0+(c1+1)*c) + "V" + fmt.Sprint(y0+(r+1)*c) + "H" + fmt.Sprint(x0+c0*c) + "Z"
	}
	switch {
	case ra == rz:
		return rect(ra, ca, cz)
	case rz == ra+1 && cz+1 < ca:
		// Two pieces that do not touch: the end of one row and the start of the next.
		return rect(ra, ca, columns-1) + rect(rz, 0, cz)
	}
	return "M" + pt(ca, ra) + "L" + pt(columns, ra) + "L" + pt(columns, rz) + "L" + pt(cz+1, rz) + "L" + pt(cz+1, rz+1) +
		"L" + pt(0, rz+1) + "L" + pt(0, ra+1) + "L" + pt(ca, ra+1) + "Z"
}

// tooltip describes cells [c, e) of a span: their addresses and what fills them.
func (s *Span) tooltip(c, e int) string {
	var sum [numUsages]uint64
	var total uint64
	for i := c; i < e; i++ {
		for u := range sum {
			sum[u] += s.bytes[i][u]
			total += s.bytes[i][u]
		}
	}
	lo := uint64(s.Base) + uint64(c)*s.CellSize
	hi := uint64(s.Base) + uint64(e)*s.CellSize
	var parts []string
	for u := analysis.Usage(0); u < numUsages; u++ {
		if sum[u] > 0 {
			parts = append(parts, fmt.Sprintf("%s %s", u, pct(sum[u], total)))
		}
	}
	return fmt.Sprintf("%s–%s (%s): %s", shortAddr(lo), shortAddr(hi), render.Size(hi-lo), strings.Join(parts, ", "))
}

// overviewSVG draws the whole 64-bit address space to scale, with the drawn spans
// and the largest usable free block marked.
func (r *Report) overviewSVG() string {
	p := &r.Picture
	const w, barX, barW, barY, barH = 720, 10, 700, 26, 16
	end := float64(uint64(p.End))
	if end == 0 {
		return ""
	}
	x := func(a uint64) float64 { return barX + barW*float64(a)/end }
	var b svgBuf
	b.f(`<svg id="overview" xmlns="http://www.w3.org/2000/svg" width="%d" height="76" viewBox="0 0 %d 76" role="img" aria-label="The whole address space to scale">`, w, w)
	b.f(`<rect class="u0" x="%d" y="%d" width="%d" height="%d"/>`, barX, barY, barW, barH)
	for i := range p.Spans {
		s := &p.Spans[i]
		x0, x1 := x(uint64(s.Base)), x(uint64(s.End))
		b.f(`<rect class="spanmark" x="%.1f" y="%d" width="%.1f" height="%d"><title>[%d] %s–%s</title></rect>`, x0, barY, math.Max(x1-x0, 2), barH,
			i+1, esc(shortAddr(uint64(s.Base))), esc(shortAddr(uint64(s.End))))
	}
	// Number the spans; spans too close together to be told apart share a label
	// ("12–16").
	for i := 0; i < len(p.Spans); {
		x0 := x(uint64(p.Spans[i].Base))
		j := i
		for j+1 < len(p.Spans) && x(uint64(p.Spans[j+1].Base))-x0 < 22 {
			j++
		}
		label := fmt.Sprint(i + 1)
		if j > i {
			label = fmt.Sprintf("%d–%d", i+1, j+1)
		}
		anchor := "start"
		if x0 > barX+barW-30 {
			anchor = "end"
			x0 = math.Max(x0, float64(barX+barW))
		}
		b.f(`<text class="spannum" x="%.1f" y="20" text-anchor="%s">%s</text>`, x0, anchor, esc(label))
		i = j + 1
	}
	if lu := r.Fragmentation.LargestUsableFree; lu.Size > 0 {
		x0, x1 := x(uint64(lu.Base)), x(uint64(lu.End))
		b.f(`<rect class="lubbar" x="%.1f" y="%d" width="%.1f" height="4"><title>largest usable free block: %s at %s</title></rect>`,
			x0, barY+barH+3, math.Max(x1-x0, 2), esc(render.Size(lu.Size)), esc(shortAddr(uint64(lu.Base))))
	}
	for i := 0; i <= 4; i++ {
		a := uint64(end / 4 * float64(i))
		anchor := "middle"
		switch i {
		case 0:
			anchor = "start"
		case 4:
			anchor = "end"
		}
		b.f(`<text class="tick" x="%.1f" y="%d" text-anchor="%s">%s</text>`, x(a), barY+barH+18, anchor, esc(render.Size(a)))
	}
	b.f(`</svg>`)
	return b.String()
}

// usageBarSVG draws the address space by usage as stacked bars: all of it, and the
// busy part alone.
func (r *Report) usageBarSVG() string {
	const w, barX, barW, barH = 720, 90, 620, 22
	var b svgBuf
	b.f(`<svg id="usagebar" xmlns="http://www.w3.org/2000/svg" width="%d" height="64" viewBox="0 0 %d 64" shape-rendering="crispEdges" role="img" aria-label="Address space by usage">`, w, w)
	bar := func(y int, label string, busyOnly bool) {
		var total uint64
		for u := analysis.Usage(0); u < numUsages; u++ {
			if busyOnly && (u.IsFree() || u == analysis.UsageUnknown) {
				continue
			}
			total += r.usage[u]
		}
		b.f(`<text class="barlabel" x="%d" y="%d" text-anchor="end">%s</text>`, barX-6, y+15, esc(label))
		if total == 0 {
			b.f(`<rect class="empty" x="%d" y="%d" width="%d" height="%d"/>`, barX, y, barW, barH)
			return
		}
		pos := float64(barX)
		for u := analysis.Usage(0); u < numUsages; u++ {
			n := r.usage[u]
			if n == 0 || busyOnly && (u.IsFree() || u == analysis.UsageUnknown) {
				continue
			}
			wpx := barW * float64(n) / float64(total)
			share := pct(n, total)
			b.f(`<rect class="u%d" x="%.2f" y="%d" width="%.2f" height="%d"><title>%s: %s (%s)</title></rect>`, int(u), pos, y, wpx, barH, esc(u.String()), esc(render.Size(n)), esc(share))
			label := u.String() + " " + share
			if wpx > float64(len(label))*6.4+8 {
				b.f(`<text class="inbar t%d" x="%.1f" y="%d">%s</text>`, int(u), pos+4, y+15, esc(label))
			} else if wpx > float64(len(share))*6.4+6 {
				b.f(`<text class="inbar t%d" x="%.1f" y="%d">%s</text>`, int(u), pos+3, y+15, esc(share))
			}
			pos += wpx
		}
	}
	bar(4, "All", false)
	bar(36, "Busy only", true)
	b.f(`</svg>`)
	return b.String()
}

// histogramSVG draws the free runs by size class: per class a bar of how many runs
// there are, and a bar of their bytes, the usable part green and the unusable part
// hatched grey.
func (r *Report) histogramSVG() string {
	cs := r.Fragmentation.SizeClasses
	const labelW, runsW, runsText, bytesW, bytesText, rowH = 128, 160, 60, 270, 190, 20
	runsX := labelW
	bytesX := runsX + runsW + runsText + 16
	w := bytesX + bytesW + bytesText
	h := len(cs)*rowH + 28
	var maxBytes uint64
	maxRuns := 0
	for _, c := range cs {
		maxBytes = max(maxBytes, c.Bytes)
		maxRuns = max(maxRuns, c.Runs)
	}
	var b svgBuf
	b.f(`<svg id="histogram" xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" shape-rendering="crispEdges" role="img" aria-label="Free runs by size class">`, w, h, w, h)
	b.f(`<text class="axis" x="8" y="14">free run size</text><text class="axis" x="%d" y="14">number of runs</text><text class="axis" x="%d" y="14">bytes in them: usable / unusable</text>`,
		runsX, bytesX)
	for i, c := range cs {
		y := 24 + i*rowH
		if i%2 == 0 {
			b.f(`<rect class="hstripe" x="0" y="%d" width="%d" height="%d"/>`, y-2, w, rowH)
		}
		b.f(`<text class="hlabel" x="8" y="%d">%s</text>`, y+12, esc(c.Label))
		title := esc(fmt.Sprintf("%s: %s runs, %s (%s usable, %s unusable)", c.Label, comma(c.Runs), render.Size(c.Bytes), render.Size(c.Usable), render.Size(c.Bytes-c.Usable)))
		if c.Runs > 0 && maxRuns > 0 {
			rw := math.Max(float64(runsW)*float64(c.Runs)/float64(maxRuns), 2)
			b.f(`<rect class="hruns" x="%d" y="%d" width="%.2f" height="%d"><title>%s</title></rect>`, runsX, y+1, rw, rowH-6, title)
		}
		b.f(`<text class="hcount" x="%d" y="%d">%s</text>`, runsX+runsW+6, y+12, esc(comma(c.Runs)))
		if maxBytes > 0 && c.Bytes > 0 {
			uw := float64(bytesW) * float64(c.Usable) / float64(maxBytes)
			xw := float64(bytesW) * float64(c.Bytes-c.Usable) / float64(maxBytes)
			if uw+xw < 2 {
				if c.Usable > 0 {
					uw = 2 - xw
				} else {
					xw = 2
				}
			}
			if uw > 0 {
				b.f(`<rect class="u0 hbar" x="%d" y="%d" width="%.2f" height="%d"><title>%s</title></rect>`, bytesX, y+1, uw, rowH-6, title)
			}
			if xw > 0 {
				b.f(`<rect class="u1 hbar" x="%.2f" y="%d" width="%.2f" height="%d"><title>%s</title></rect>`, float64(bytesX)+uw, y+1, xw, rowH-6, title)
			}
		}
		text := "–"
		if c.Runs > 0 {
			text = render.Size(c.Bytes)
			if c.Usable != c.Bytes {
				text += ", " + render.Size(c.Usable) + " usable"
			}
		}
		b.f(`<text class="hcount" x="%d" y="%d">%s</text>`, bytesX+bytesW+6, y+12, esc(text))
	}
	b.f(`</svg>`)
	return b.String()
}

// defsSVG holds the patterns the usage classes use.
const defsSVG = `<svg class="defs" width="0" height="0" aria-hidden="true" focusable="false"><defs>` +
	`<pattern id="hatch-unusable" width="6" height="6" patternUnits="userSpaceOnUse" patternTransform="rotate(45)"><rect width="6" height="6" fill="#7f7f7f"/><rect width="2" height="6" fill="#686868"/></pattern>` +
	`<pattern id="hatch-unknown" width="6" height="6" patternUnits="userSpaceOnUse" patternTransform="rotate(-45)"><rect width="6" height="6" fill="#e4e4e4"/><rect width="1.5" height="6" fill="#bdbdbd"/></pattern>` +
	`</defs></svg>`

// swatchSVG is a legend's colour sample for usage u.
func swatchSVG(u analysis.Usage) string {
	return fmt.Sprintf(`<svg class="swatch" width="16" height="16" aria-hidden="true"><rect class="u%d" x="0.5" y="0.5" width="15" height="15"/></svg>`, int(u))
}
