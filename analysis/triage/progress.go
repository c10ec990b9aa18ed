package triage

import (
	"fmt"
	"io"
	"strings"
	"time"
)

// Bar draws a one-line progress display for a terminal: files done of files found,
// a bar, the rate and the time left. It is a dozen lines rather than a module
// because it needs nothing a module would add (no colours, no multiple bars, no
// terminal width probing): the caller decides whether stderr is a terminal and
// Bar only redraws one line with "\r" and erase-to-end-of-line.
type Bar struct {
	w     io.Writer
	drawn bool
}

// NewBar returns a bar that draws on w, which must be a terminal.
func NewBar(w io.Writer) *Bar { return &Bar{w: w} }

// Update redraws the bar; pass it as Options.Progress.
func (b *Bar) Update(p Progress) {
	const width = 24
	found := fmt.Sprint(p.FilesFound)
	if !p.WalkDone {
		found += "+" // still walking: more to come
	}
	var bar string
	if p.FilesFound > 0 {
		n := int(int64(width) * p.FilesDone / p.FilesFound)
		bar = strings.Repeat("#", n) + strings.Repeat(".", width-n)
	} else {
		bar = strings.Repeat(".", width)
	}
	rate := 0.0
	if s := p.Elapsed.Seconds(); s > 0 {
		rate = float64(p.FilesDone) / s
	}
	eta := "?"
	if p.WalkDone && rate > 0 {
		left := time.Duration(float64(p.FilesFound-p.FilesDone) / rate * float64(time.Second))
		eta = clock(left)
	}
	fmt.Fprintf(b.w, "\r\x1b[Ktriage %d/%s files [%s] %.0f files/s, %s elapsed, ETA %s",
		p.FilesDone, found, bar, rate, clock(p.Elapsed), eta)
	b.drawn = true
}

// Done clears the bar's line.
func (b *Bar) Done() {
	if b.drawn {
		fmt.Fprint(b.w, "\r\x1b[K")
	}
}

// clock writes a duration as m:ss or h:mm:ss.
func clock(d time.Duration) string {
	s := int64(d.Round(time.Second) / time.Second)
	if s >= 3600 {
		return fmt.Sprintf("%d:%02d:%02d", s/3600, s/60%60, s%60)
	}
	return fmt.Sprintf("%d:%02d", s/60, s%60)
}
