package report

import (
	"sort"

	"github.com/dumpmap/dumpmap/analysis"
	"github.com/dumpmap/dumpmap/analysis/render"
)

// numUsages is the number of usages the picture colours.
const numUsages = analysis.UsageUnknown + 1

// Picture is the address-space picture: the address space cut into cells of equal
// size, each shown in the colour of the usage that holds most of its bytes, as
// VMMap's fragmentation view shows it.
//
// A 32-bit address space is drawn whole, as one span. A 64-bit one is mostly empty,
// so only its occupied parts are drawn: the spans of address space around busy
// regions, separated by the free gaps (of at least 1 GiB) that are left out. Each
// span has its own cell size, so a span of a few megabytes is not drawn with the
// cells a terabyte-sized one needs.
type Picture struct {
	// Whole is set when the spans cover the whole address space (32-bit).
	Whole bool `json:"whole"`
	// End is the end of the address space (MaxAddress+1).
	End render.Hex `json:"end"`
	// Columns is the number of cells per row the HTML draws.
	Columns int `json:"columns"`
	// Legend maps the letters of Cells to usages.
	Legend map[string]string `json:"legend"`
	Spans  []Span            `json:"spans"`
}

// Span is one drawn stretch of address space.
type Span struct {
	Base     render.Hex `json:"base"`
	End      render.Hex `json:"end"`
	CellSize uint64     `json:"cell_size"`
	// Cells has one letter per cell (Legend): the busy usage holding most of the
	// cell once busy regions hold an eighth of it, else the free kind holding most.
	// A busy letter is lower case when busy regions hold less than half the cell.
	Cells string `json:"cells"`

	bytes [][numUsages]uint64 // per cell: bytes of each usage
}

// Cell budgets: the HTML draws up to 4,096 cells (64 x 64) for a 32-bit space, and
// for a 64-bit one 6,144 shared by the spans, 256 to 2,048 for each; the Markdown's
// text picture a quarter of that.
const (
	htmlBudget = 4096
	textBudget = 1024
	columns    = 64
	textCols   = 64
	maxSpans   = 16
	minGap     = 1 << 30
	// giantRegion is the size from which a region is drawn as a span of its own.
	giantRegion = 64 << 30
)

// usageLetters are the letters of the text picture and of Span.Cells.
var usageLetters = [numUsages]byte{
	analysis.UsageFree:       '.',
	analysis.UsageUnusable:   'x',
	analysis.UsageImage:      'I',
	analysis.UsageStack:      'S',
	analysis.UsageTEB:        'T',
	analysis.UsagePEB:        'B',
	analysis.UsageHeap:       'H',
	analysis.UsageMappedFile: 'M',
	analysis.UsagePrivate:    'P',
	analysis.UsageUnknown:    '?',
}

func legend() map[string]string {
	m := map[string]string{}
	for u := analysis.Usage(0); u < numUsages; u++ {
		m[string(usageLetters[u])] = u.String()
	}
	return m
}

// occupied reports whether a region counts as occupied for choosing the drawn spans
// of a 64-bit space: busy, and known.
func occupied(u analysis.Usage) bool {
	return !u.IsFree() && u != analysis.UsageUnknown
}

// layout computes the picture of m with at most budget cells per span (for a whole
// 32-bit space) or budget/2 per span (64-bit).
func layout(m *analysis.Map, budget int) Picture {
	p := Picture{End: render.Hex(m.Space.End), Columns: columns, Legend: legend(), Spans: []Span{}}
	if m.Space.End == 0 || len(m.Regions) == 0 {
		return p
	}
	type iv struct{ b, e uint64 }
	var spans []iv
	if m.Space.PointerSize == 4 || m.Space.End <= 8<<30 {
		p.Whole = true
		spans = []iv{{0, m.Space.End}}
	} else {
		// A giant region (a CFG bitmap, a JavaScript engine's cage) gets a span of its
		// own, so its neighbours are not drawn with the cells it needs.
		prevGiant := false
		for i := range m.Regions {
			r := &m.Regions[i]
			if !occupied(r.Usage) {
				continue
			}
			giant := r.Size >= giantRegion
			if n := len(spans); n > 0 && r.Base-spans[n-1].e < minGap && !giant && !prevGiant {
				spans[n-1].e = r.End()
				continue
			}
			spans = append(spans, iv{r.Base, r.End()})
			prevGiant = giant
		}
		if len(spans) == 0 {
			p.Whole = true
			spans = []iv{{0, m.Space.End}}
		}
		// Too many spans: join the ones with the smallest gaps between them.
		for len(spans) > maxSpans {
			best := 1
			for i := 2; i < len(spans); i++ {
				if spans[i].b-spans[i-1].e < spans[best].b-spans[best-1].e {
					best = i
				}
			}
			spans[best-1].e = spans[best].e
			spans = append(spans[:best], spans[best+1:]...)
		}
		// 64-bit: one and a half times the budget shared by the spans, at least a
		// sixteenth and at most half of it for each.
		budget = max(budget/16, min(budget/2, budget*3/2/len(spans)))
	}
	gran := max(m.Space.Granularity, 4096)
	var prevEnd uint64
	for i, s := range spans {
		cell := gran
		for (s.e-s.b+cell-1)/cell > uint64(budget) {
			cell *= 2
		}
		limit := m.Space.End // do not round up into the next span's area
		if i+1 < len(spans) {
			limit = spans[i+1].b / gran * gran
		}
		b := max(s.b/cell*cell, prevEnd)
		e := min((s.e+cell-1)/cell*cell, max(limit, (s.e+gran-1)/gran*gran), m.Space.End)
		if e <= b {
			continue
		}
		if !p.Whole {
			// Start the span on a whole row's worth of address space when that costs
			// little, so the row labels read as round addresses.
			if rb := s.b / (cell * columns) * (cell * columns); rb >= prevEnd && s.b-rb < (s.e-s.b)/4 {
				b = rb
			}
		}
		p.Spans = append(p.Spans, Span{Base: render.Hex(b), End: render.Hex(e), CellSize: cell})
		prevEnd = e
	}
	fill(m, p.Spans)
	return p
}

// fill adds up each cell's bytes by usage and sets the cell letters.
func fill(m *analysis.Map, spans []Span) {
	for si := range spans {
		s := &spans[si]
		n := int((uint64(s.End) - uint64(s.Base) + s.CellSize - 1) / s.CellSize)
		s.bytes = make([][numUsages]uint64, n)
		base, end := uint64(s.Base), uint64(s.End)
		i := sort.Search(len(m.Regions), func(i int) bool { return m.Regions[i].End() > base })
		for ; i < len(m.Regions) && m.Regions[i].Base < end; i++ {
			r := &m.Regions[i]
			u := r.Usage
			if u >= numUsages {
				u = analysis.UsageUnknown
			}
			lo, hi := max(r.Base, base), min(r.End(), end)
			for lo < hi {
				c := (lo - base) / s.CellSize
				ce := base + (c+1)*s.CellSize
				take := min(hi, ce) - lo
				s.bytes[c][u] += take
				lo += take
			}
		}
		letters := make([]byte, n)
		for c := range s.bytes {
			u := dominant(&s.bytes[c])
			l := usageLetters[u]
			if occupied(u) && 2*busyBytes(&s.bytes[c]) < cellBytes(&s.bytes[c]) {
				l += 'a' - 'A' // mostly free: lower case, drawn lighter
			}
			letters[c] = l
		}
		s.Cells = string(letters)
	}
}

func busyBytes(b *[numUsages]uint64) (n uint64) {
	for u := analysis.Usage(0); u < numUsages; u++ {
		if occupied(u) {
			n += b[u]
		}
	}
	return n
}

func cellBytes(b *[numUsages]uint64) (n uint64) {
	for _, x := range b {
		n += x
	}
	return n
}

// dominant returns the usage a cell is drawn as. Busy regions cut free runs, which
// is what the picture is for, so a cell is drawn busy, in the colour of the busy
// usage holding most of it, once busy regions hold an eighth of it; otherwise it is
// drawn as the free kind (Free, Unusable or Unknown) holding most of it.
func dominant(b *[numUsages]uint64) analysis.Usage {
	var total, busy uint64
	bestBusy, bestFree := analysis.Usage(numUsages), analysis.Usage(numUsages)
	for u := analysis.Usage(0); u < numUsages; u++ {
		n := b[u]
		total += n
		if n == 0 {
			continue
		}
		if occupied(u) {
			busy += n
			if bestBusy == numUsages || n > b[bestBusy] {
				bestBusy = u
			}
		} else if bestFree == numUsages || n > b[bestFree] {
			bestFree = u
		}
	}
	switch {
	case bestBusy != numUsages && (busy*8 >= total || bestFree == numUsages):
		return bestBusy
	case bestFree != numUsages:
		return bestFree
	}
	return analysis.UsageUnknown
}

// cellRange returns the cells of s that [lo, hi) touches, or ok false.
func (s *Span) cellRange(lo, hi uint64) (first, last int, ok bool) {
	lo, hi = max(lo, uint64(s.Base)), min(hi, uint64(s.End))
	if lo >= hi {
		return 0, 0, false
	}
	return int((lo - uint64(s.Base)) / s.CellSize), int((hi - 1 - uint64(s.Base)) / s.CellSize), true
}
