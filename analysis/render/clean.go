package render

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// Clean makes a string from a dump safe to show to a person: in a terminal, a
// Markdown file, an HTML page, a spreadsheet. A dump is hostile input, and its
// strings (module paths, thread names, PDB names, exception text, archive member
// names) may carry what would drive a terminal or disguise the text around it:
//
//   - control characters (C0 U+0000-U+001F, DEL U+007F, C1 U+0080-U+009F) are shown
//     as \xNN, two hex digits of the code point: an escape sequence "\x1b[2J" or a
//     line break "\x0a" cannot clear the screen or forge a line of output;
//   - the line and paragraph separators U+2028 and U+2029, and the bidirectional
//     formatting characters (the embeddings and overrides U+202A-U+202E, the
//     isolates U+2066-U+2069 and the marks U+200E, U+200F and U+061C), are shown as
//     \uXXXX, four lower-case hex digits as in Go and JSON string literals ("\u202e"):
//     they would reorder the text a reader sees ("exe.txt" shown for "txt.exe");
//   - each byte that is not part of valid UTF-8 is shown as \xNN.
//
// Everything else is kept as it is, other non-ASCII text included. A backslash is
// not escaped: the output is for reading, not for parsing back.
//
// JSON output does not use Clean: it keeps the values as the dump holds them, so
// a program gets the real names. encoding/json already writes control characters
// as \u00XX, U+2028 and U+2029 as \u2028 and \u2029, and invalid UTF-8 as U+FFFD,
// so a JSON document stays one well-formed line-safe value.
func Clean(s string) string { return clean(s, false) }

// CleanLines is Clean for text of several lines, such as a whole page: line feeds
// and tabs are kept, everything else Clean escapes is escaped.
func CleanLines(s string) string { return clean(s, true) }

func clean(s string, lines bool) string {
	i := 0
	for i < len(s) {
		c := s[i]
		if c >= 0x20 && c < 0x7f || lines && (c == '\n' || c == '\t') {
			i++
			continue
		}
		if c < utf8.RuneSelf {
			break
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && n == 1 || escaped(r) {
			break
		}
		i += n
	}
	if i == len(s) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 16)
	b.WriteString(s[:i])
	for i < len(s) {
		r, n := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && n == 1:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case lines && (r == '\n' || r == '\t'):
			b.WriteByte(byte(r))
		case isControl(r):
			fmt.Fprintf(&b, `\x%02x`, r)
		case escaped(r):
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			b.WriteString(s[i : i+n])
		}
		i += n
	}
	return b.String()
}

// escaped reports whether Clean shows r as an escape.
func escaped(r rune) bool { return isControl(r) || isFormat(r) }

// isControl reports whether r is a C0 or C1 control character or DEL.
func isControl(r rune) bool { return r < 0x20 || r >= 0x7f && r < 0xa0 }

// isFormat reports whether r is a line or paragraph separator or a bidirectional
// formatting character (Unicode Standard Annex #9, "Explicit Directional
// Embeddings", "Explicit Directional Isolates" and "Implicit Directional Marks").
func isFormat(r rune) bool {
	switch {
	case r == 0x2028, r == 0x2029: // LINE SEPARATOR, PARAGRAPH SEPARATOR
		return true
	case r >= 0x202a && r <= 0x202e: // LRE, RLE, PDF, LRO, RLO
		return true
	case r >= 0x2066 && r <= 0x2069: // LRI, RLI, FSI, PDI
		return true
	case r == 0x200e, r == 0x200f, r == 0x061c: // LRM, RLM, ALM
		return true
	}
	return false
}
