package input

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// maxNameRunes bounds a cleaned member name.
const maxNameRunes = 200

// CleanName makes a member name from an archive safe to print: '\' separators
// become '/', control and formatting characters (terminal escapes,
// right-to-left overrides) and invalid UTF-8 are written as \x.. or \u....
// escapes, an empty name becomes "(unnamed)", and a very long one is cut. The
// result is for display only: names from an archive are never used as paths.
func CleanName(name string) string {
	if name == "" {
		return "(unnamed)"
	}
	var b strings.Builder
	n := 0
	for i := 0; i < len(name); {
		r, size := utf8.DecodeRuneInString(name[i:])
		switch {
		case r == utf8.RuneError && size <= 1:
			fmt.Fprintf(&b, `\x%02x`, name[i])
		case r == '\\':
			b.WriteByte('/')
		case r < 0x80 && unicode.IsControl(r):
			fmt.Fprintf(&b, `\x%02x`, r)
		case unicode.IsControl(r) || unicode.Is(unicode.Cf, r) || r == '\u2028' || r == '\u2029':
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			b.WriteRune(r)
		}
		i += size
		if n++; n >= maxNameRunes && i < len(name) {
			b.WriteString("...")
			break
		}
	}
	return b.String()
}
