package render

import (
	enchex "encoding/hex"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/dumpmap/dumpmap/analysis/process"
	"github.com/dumpmap/dumpmap/minidump"
)

// Read is `dumpmap read`: bytes of the process's memory at a virtual address,
// shown as xxd shows them.
type Read struct {
	File     string `json:"file"`
	Address  Hex    `json:"address"`
	Length   uint64 `json:"length"`
	Captured uint64 `json:"captured"` // bytes read from the dump
	// Data is the bytes in lower-case hex, two digits per byte; bytes that were not
	// captured are "00" here and listed in MissingRanges.
	Data          string         `json:"data"`
	Missing       uint64         `json:"missing"` // bytes not captured
	MissingRanges []MissingRange `json:"missing_ranges"`
	Warnings      []string       `json:"warnings"`

	buf         []byte
	missing     []minidump.AddrRange
	af          AddrFormat
	cols, group int
}

// MissingRange is a range of bytes the dump did not capture.
type MissingRange struct {
	Start Hex    `json:"start"`
	End   Hex    `json:"end"`
	Size  uint64 `json:"size"`
}

// NewRead reads length bytes at addr from the memory of the dump of p, shown as
// file; the text shows cols bytes per line in groups of group bytes (xxd's -c and
// -g). Bytes the dump did not capture are a warning; none at all is an error, as is
// a read the dump's memory list cannot serve. The caller bounds length (the CLI
// allows 64 MiB) and checks that addr+length does not wrap.
func NewRead(file string, p *process.Process, addr, length uint64, cols, group int, warn *Warnings) (*Read, error) {
	f := p.File()
	af := dumpAddr(f)
	mem, err := f.Memory()
	warn.Add(err)
	buf := make([]byte, length)
	n, rerr := mem.ReadAt(buf, addr)
	var missing []minidump.AddrRange
	var me *minidump.MissingMemoryError
	switch {
	case rerr == nil:
	case errors.As(rerr, &me):
		missing = me.Missing
	default:
		return nil, rerr
	}
	if n == 0 {
		return nil, fmt.Errorf("%s-%s (%d bytes) was not captured in the dump%s",
			af.Format(addr), af.Format(addr+length), length, nearestCaptured(mem, addr, addr+length, af))
	}
	if len(missing) > 0 {
		var miss uint64
		parts := make([]string, 0, len(missing))
		for _, m := range missing {
			miss += m.End - m.Start
			parts = append(parts, af.Format(m.Start)+"-"+af.Format(m.End))
		}
		warn.Addf("%d of %d bytes were not captured in the dump and are shown as ??: %s", miss, length, strings.Join(parts, ", "))
	}
	out := &Read{File: file, Address: Hex(addr), Length: length, Captured: uint64(n),
		Data: enchex.EncodeToString(buf), Missing: length - uint64(n), MissingRanges: []MissingRange{}, Warnings: warn.List(),
		buf: buf, missing: missing, af: af, cols: cols, group: group}
	for _, m := range missing {
		out.MissingRanges = append(out.MissingRanges, MissingRange{Start: Hex(m.Start), End: Hex(m.End), Size: m.End - m.Start})
	}
	return out, nil
}

// WriteJSON writes the JSON object.
func (r *Read) WriteJSON(w io.Writer) error { return WriteJSON(w, r) }

// WriteText writes the hexdump.
func (r *Read) WriteText(w io.Writer) error {
	hexdump(w, uint64(r.Address), r.buf, r.missing, int(r.af), max(r.cols, 1), max(r.group, 1))
	return nil
}

// nearestCaptured names the captured ranges just below and above [lo, hi), as a hint
// after "was not captured".
func nearestCaptured(mem *minidump.Memory, lo, hi uint64, af AddrFormat) string {
	rs := mem.Ranges()
	if len(rs) == 0 {
		return " (the dump holds no memory at all)"
	}
	i := sort.Search(len(rs), func(i int) bool { return rs[i].Start >= hi })
	var parts []string
	if i > 0 {
		r := rs[i-1]
		parts = append(parts, fmt.Sprintf("%s-%s below", af.Format(r.Start), af.Format(r.End())))
	}
	if i < len(rs) {
		r := rs[i]
		parts = append(parts, fmt.Sprintf("%s-%s above", af.Format(r.Start), af.Format(r.End())))
	}
	_ = lo
	return " (nearest captured ranges: " + strings.Join(parts, ", ") + "; see 'dumpmap memory')"
}

// hexdump prints buf as xxd does, with addresses starting at addr, digits wide.
// Bytes in the missing ranges are printed as "??" and "?".
func hexdump(w io.Writer, addr uint64, buf []byte, missing []minidump.AddrRange, digits, cols, group int) {
	isMissing := func(i int) bool {
		va := addr + uint64(i)
		k := sort.Search(len(missing), func(k int) bool { return missing[k].End > va })
		return k < len(missing) && missing[k].Start <= va
	}
	hexWidth := cols*2 + (cols+group-1)/group - 1
	var line, text strings.Builder
	for off := 0; off < len(buf); off += cols {
		line.Reset()
		text.Reset()
		fmt.Fprintf(&line, "%0*x: ", digits, addr+uint64(off))
		start := line.Len()
		for j := 0; j < cols && off+j < len(buf); j++ {
			if j > 0 && j%group == 0 {
				line.WriteByte(' ')
			}
			i := off + j
			if isMissing(i) {
				line.WriteString("??")
				text.WriteByte('?')
				continue
			}
			c := buf[i]
			fmt.Fprintf(&line, "%02x", c)
			if c >= 0x20 && c < 0x7f {
				text.WriteByte(c)
			} else {
				text.WriteByte('.')
			}
		}
		if pad := hexWidth - (line.Len() - start); pad > 0 {
			line.WriteString(strings.Repeat(" ", pad))
		}
		line.WriteString("  ")
		line.WriteString(text.String())
		fmt.Fprintln(w, line.String())
	}
}
