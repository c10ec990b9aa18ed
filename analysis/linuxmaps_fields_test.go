package analysis

import (
	"strings"
	"testing"
)

// joinFields must say what strings.Join(strings.Fields(s), " ") says, the way the
// maps parser read the path column before it stopped allocating per line.
func TestJoinFields(t *testing.T) {
	for _, s := range []string{
		"", " ", "/usr/lib/libc.so.6", "  /usr/lib/libc.so.6  ", "/opt/My App/lib.so", "/opt/My  App/lib.so",
		"/a\tb", "[stack]", " (deleted)", "/x (deleted)", "\u00a0/nbsp\u00a0", "/a\u2003b", "/a \r", "/ä ö",
	} {
		if got, want := joinFields(s), strings.Join(strings.Fields(s), " "); got != want {
			t.Errorf("joinFields(%q) = %q, want %q", s, got, want)
		}
	}
}
