package render

import (
	"math/bits"
	"strconv"
	"strings"

	"github.com/dustin/go-humanize"
)

// AddrFormat formats addresses for text output: 0x-prefixed and zero-padded to
// the dump's pointer width, so that columns line up and a value can be pasted back
// as an ADDR argument. Its value is the number of hex digits, 8 or 16.
type AddrFormat int

// AddrFormatFor returns the format for addresses of a process whose pointers are
// bits wide (32 or 64; anything but 32 is taken as 64).
func AddrFormatFor(bits int) AddrFormat {
	if bits == 32 {
		return 8
	}
	return 16
}

// Format formats v: "0x0012f31c", "0x00007ffe0000f000". A value wider than the
// format is printed in full.
func (a AddrFormat) Format(v uint64) string {
	var tmp [18]byte
	return string(a.append(tmp[:0], v))
}

// append appends Format(v) to b.
func (a AddrFormat) append(b []byte, v uint64) []byte {
	n := a.width(v)
	var tmp [18]byte
	tmp[0], tmp[1] = '0', 'x'
	for i := n - 1; i >= 2; i-- {
		tmp[i] = hexDigits[v&0xf]
		v >>= 4
	}
	return append(b, tmp[:n]...)
}

// width returns len(a.Format(v)).
func (a AddrFormat) width(v uint64) int { return 2 + max((bits.Len64(v)+3)/4, int(a), 1) }

const hexDigits = "0123456789abcdef"

// Size formats a byte count for people, in powers of 1024: "12 B", "180 KiB",
// "4.0 GiB".
func Size(n uint64) string { return string(appendSize(nil, n)) }

// Comma formats n with thousands separators: "49,875".
func Comma(n int64) string { return humanize.Comma(n) }

// Plural returns "1 thread", "2 threads", "0 threads".
func Plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return strconv.Itoa(n) + " " + word + "s"
}

// OrDash returns s, or "-" for an empty table cell.
func OrDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// nonNil returns s, or an empty slice for nil, so that JSON shows [] and not null.
func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// wrapText wraps s at width columns, indenting continuation lines with indent;
// the words are cleaned (Clean), the leading spaces of s kept.
func wrapText(s string, width int, indent string) string {
	words := strings.Fields(s)
	if len(words) == 0 {
		return ""
	}
	lead := s[:len(s)-len(strings.TrimLeft(s, " "))]
	var lines []string
	line := lead + Clean(words[0])
	for _, word := range words[1:] {
		word = Clean(word)
		if len(line)+1+len(word) > width {
			lines = append(lines, line)
			line = indent + word
			continue
		}
		line += " " + word
	}
	return strings.Join(append(lines, line), "\n")
}
