package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"github.com/dumpmap/dumpmap/analysis/overview"
	"github.com/dumpmap/dumpmap/analysis/render"
	"github.com/dustin/go-humanize"
)

// hexNum is the JSON type of an address: a "0x..." lower-case hex string.
type hexNum = overview.Hex

// writeJSON prints v as the command's one JSON object.
func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}

// addrFmt formats addresses for text output: 0x-prefixed and zero-padded to the
// dump's pointer width, so columns line up and values can be pasted back as ADDR.
type addrFmt int // digits: 8 or 16

func newAddrFmt(bits int) addrFmt {
	if bits == 32 {
		return 8
	}
	return 16
}

func (a addrFmt) f(v uint64) string { return fmt.Sprintf("0x%0*x", int(a), v) }

// size formats a byte count for people: "180 KiB", "4.0 GiB", "12 B".
func size(n uint64) string { return humanize.IBytes(n) }

// table lays text out in columns. Columns whose header starts with ">" are
// right-aligned (the ">" is not printed). The last column is not padded.
type table struct {
	head  []string
	right []bool
	rows  [][]string
}

func newTable(head ...string) *table {
	t := &table{}
	for _, h := range head {
		r := strings.HasPrefix(h, ">")
		t.head = append(t.head, strings.TrimPrefix(h, ">"))
		t.right = append(t.right, r)
	}
	return t
}

func (t *table) row(cells ...string) { t.rows = append(t.rows, cells) }

func (t *table) write(w io.Writer, indent string) {
	st := &streamTable{w: bufio.NewWriter(w), head: t.head, right: t.right, width: make([]int, len(t.head)), indent: indent}
	st.measure(t.head...)
	for _, r := range t.rows {
		st.measure(r...)
	}
	for _, r := range t.rows {
		st.row(r...)
	}
	st.flush()
}

// clean makes text from a dump safe to print on a terminal (render.Clean).
func clean(s string) string { return render.Clean(s) }

// orDash returns s, or "-" for an empty cell.
func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// plural returns "1 thread", "2 threads".
func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return fmt.Sprintf("%d %ss", n, word)
}

// streamTable lays out a table too long to hold in memory: the caller measures every
// row first, then prints them; the layout is the same as table's.
type streamTable struct {
	w      *bufio.Writer
	head   []string
	right  []bool
	width  []int
	indent string
	begun  bool
}

func newStreamTable(w io.Writer, head ...string) *streamTable {
	t := &streamTable{w: bufio.NewWriterSize(w, 256<<10)}
	for _, h := range head {
		r := strings.HasPrefix(h, ">")
		t.head = append(t.head, strings.TrimPrefix(h, ">"))
		t.right = append(t.right, r)
	}
	t.width = make([]int, len(t.head))
	t.measure(t.head...)
	return t
}

func (t *streamTable) measure(cells ...string) {
	for i, c := range cells {
		if i < len(t.width) {
			t.width[i] = max(t.width[i], utf8.RuneCountInString(clean(c)))
		}
	}
}

func (t *streamTable) row(cells ...string) {
	if !t.begun {
		t.begun = true
		t.print(t.head)
	}
	t.print(cells)
}

func (t *streamTable) print(r []string) {
	var b strings.Builder
	b.WriteString(t.indent)
	for i, c := range r {
		c = clean(c)
		last := i == len(r)-1
		pad := t.width[i] - utf8.RuneCountInString(c)
		switch {
		case t.right[i]:
			b.WriteString(strings.Repeat(" ", pad))
			b.WriteString(c)
		case last:
			b.WriteString(c)
		default:
			b.WriteString(c)
			b.WriteString(strings.Repeat(" ", pad))
		}
		if !last {
			b.WriteString("  ")
		}
	}
	t.w.WriteString(strings.TrimRight(b.String(), " "))
	t.w.WriteByte('\n')
}

func (t *streamTable) flush() error {
	if !t.begun {
		t.print(t.head)
	}
	return t.w.Flush()
}
