package render

import (
	"bufio"
	"bytes"
	"io"
	"strings"
	"unicode/utf8"
)

// A Table lays text out in columns two spaces apart, as every command's text
// output does. A column whose header starts with ">" is right-aligned (the ">" is
// not printed); the last column is not padded and no line ends in spaces. Every
// cell is passed through Clean, so a table may be given strings from the dump as
// they are.
type Table struct {
	head []string
	rows [][]string
}

// NewTable returns a table with the given column headers.
func NewTable(head ...string) *Table { return &Table{head: head} }

// Row adds a row; it should have one cell per column.
func (t *Table) Row(cells ...string) { t.rows = append(t.rows, cells) }

// Len returns the number of rows added.
func (t *Table) Len() int { return len(t.rows) }

// Print writes the header and the rows to w, each line starting with indent.
func (t *Table) Print(w io.Writer, indent string) error {
	st := newStreamTable(bufio.NewWriter(w), t.head)
	st.indent = indent
	for _, r := range t.rows {
		st.Measure(r...)
	}
	for _, r := range t.rows {
		st.Row(r...)
	}
	return st.Flush()
}

// A StreamTable lays out a table too long to hold in memory, the same way as
// Table: the caller measures every row first (Measure), then prints them (Row),
// computing each row twice rather than keeping it.
type StreamTable struct {
	w      *bufio.Writer
	head   []string
	right  []bool
	width  []int
	indent string
	begun  bool
	line   []byte // the line being laid out, reused
}

// NewStreamTable returns a streaming table with the given column headers that
// writes to w through its own buffer; call Flush at the end.
func NewStreamTable(w io.Writer, head ...string) *StreamTable {
	return newStreamTable(bufio.NewWriterSize(w, 256<<10), head)
}

func newStreamTable(w *bufio.Writer, head []string) *StreamTable {
	t := &StreamTable{w: w}
	for _, h := range head {
		t.head = append(t.head, strings.TrimPrefix(h, ">"))
		t.right = append(t.right, strings.HasPrefix(h, ">"))
	}
	t.width = make([]int, len(t.head))
	t.Measure(t.head...)
	return t
}

// Measure widens the columns to fit a row that will be printed.
func (t *StreamTable) Measure(cells ...string) {
	for i, c := range cells {
		if i < len(t.width) {
			t.width[i] = max(t.width[i], utf8.RuneCountInString(Clean(c)))
		}
	}
}

// Row prints a row, after the header if it is the first.
func (t *StreamTable) Row(cells ...string) {
	if !t.begun {
		t.begun = true
		t.print(t.head)
	}
	t.print(cells)
}

func (t *StreamTable) print(r []string) {
	b := append(t.line[:0], t.indent...)
	for i, c := range r {
		c = Clean(c)
		last := i == len(r)-1
		pad := 0
		if i < len(t.width) {
			pad = max(t.width[i]-utf8.RuneCountInString(c), 0)
		}
		switch {
		case i < len(t.right) && t.right[i]:
			b = appendSpaces(b, pad)
			b = append(b, c...)
		case last:
			b = append(b, c...)
		default:
			b = append(b, c...)
			b = appendSpaces(b, pad)
		}
		if !last {
			b = append(b, "  "...)
		}
	}
	b = append(bytes.TrimRight(b, " "), '\n')
	t.w.Write(b)
	t.line = b
}

// Flush prints the header if no row was printed, and flushes the buffer.
func (t *StreamTable) Flush() error {
	if !t.begun {
		t.print(t.head)
	}
	return t.w.Flush()
}
