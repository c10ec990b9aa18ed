package render

import (
	"bytes"
	"strings"
	"testing"
	"unicode/utf8"
)

// hostile are strings a crafted dump can put in a module path or a thread name.
var hostile = []struct{ in, want string }{
	{"plain.dll", "plain.dll"},
	{"", ""},
	{"ünïcödé 模块.dll", "ünïcödé 模块.dll"},
	{"C:\\evil\\\x1b]0;pwned\x07\x1b[2Jx.dll", `C:\evil\\x1b]0;pwned\x07\x1b[2Jx.dll`},
	{"line\nbreak\r\ttab", `line\x0abreak\x0d\x09tab`},
	{"nul\x00del\x7f", `nul\x00del\x7f`},
	{"c1\u0085\u009b[31m", `c1\x85\x9b[31m`},
	{"sep\u2028para\u2029", `sep\u2028para\u2029`},
	{"evil\u202etxt.exe", `evil\u202etxt.exe`},
	{"\u202a\u202b\u202c\u202d\u202e", `\u202a\u202b\u202c\u202d\u202e`},
	{"\u2066iso\u2067\u2068\u2069", `\u2066iso\u2067\u2068\u2069`},
	{"marks\u200e\u200f\u061c", `marks\u200e\u200f\u061c`},
	{"bad\xffutf8\xc3", `bad\xffutf8\xc3`},
	{"\xed\xa0\x80surrogate", `\xed\xa0\x80surrogate`},
	{"keep\u200d\ufeff\ufffd", "keep\u200d\ufeff\ufffd"},
}

func TestClean(t *testing.T) {
	for _, c := range hostile {
		got := Clean(c.in)
		if got != c.want {
			t.Errorf("Clean(%q) = %q, want %q", c.in, got, c.want)
		}
		checkSafe(t, got)
		if Clean(got) != got {
			t.Errorf("Clean is not idempotent on %q", got)
		}
	}
}

func TestCleanLines(t *testing.T) {
	in := "a\tb\nc\x1b[2J\u202ed\r\n\xff"
	want := "a\tb\nc\\x1b[2J\\u202ed\\x0d\n\\xff"
	if got := CleanLines(in); got != want {
		t.Errorf("CleanLines(%q) = %q, want %q", in, got, want)
	}
}

// checkSafe fails when s holds anything Clean must remove.
func checkSafe(t *testing.T, s string) {
	t.Helper()
	if !utf8.ValidString(s) {
		t.Errorf("%q is not valid UTF-8", s)
	}
	for _, r := range s {
		if escaped(r) {
			t.Errorf("%q holds %U", s, r)
		}
	}
}

// TestTableCleansCells: a table of hostile cells holds none of them raw, and its
// columns line up by runes.
func TestTableCleansCells(t *testing.T) {
	tb := NewTable("NAME", ">SIZE", "NOTE")
	for _, c := range hostile {
		tb.Row(c.in, "1", "x")
	}
	var b bytes.Buffer
	if err := tb.Print(&b, "  "); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n")
	if len(lines) != len(hostile)+1 {
		t.Fatalf("%d lines, want %d:\n%s", len(lines), len(hostile)+1, b.String())
	}
	col := -1
	for i, l := range lines {
		checkSafe(t, l)
		if i > 0 {
			want := "  " + hostile[i-1].want
			if !strings.HasPrefix(l, want) {
				t.Errorf("row %d = %q, want it to start with %q", i, l, want)
			}
		}
		// The SIZE column is right-aligned: its last digit is at the same rune
		// column in every row.
		rs := []rune(l)
		end := len(rs) - len("  x")
		if i == 0 {
			end = len(rs) - len("  NOTE")
		}
		if col < 0 {
			col = end
		} else if end != col {
			t.Errorf("line %d: SIZE column ends at %d, want %d:\n%s", i, end, col, b.String())
		}
	}
}

func TestWarnings(t *testing.T) {
	var w Warnings
	if got := w.List(); got == nil || len(got) != 0 {
		t.Errorf("empty List() = %#v, want []", got)
	}
	w.Add(nil)
	w.Addf("minidump: stream %d: bad\nsecond line", 3)
	w.Addf("stream 3: bad; second line") // the same text once described
	w.Addf("other")
	want := []string{"stream 3: bad; second line", "other"}
	if got := w.List(); strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("List() = %q, want %q", got, want)
	}
}

func FuzzClean(f *testing.F) {
	for _, c := range hostile {
		f.Add(c.in)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := Clean(s)
		checkSafe(t, got)
		if Clean(got) != got {
			t.Errorf("not idempotent: %q -> %q -> %q", s, got, Clean(got))
		}
		if strings.ContainsAny(got, "\n\r\x1b") {
			t.Errorf("%q keeps a line break or escape", got)
		}
		lines := CleanLines(s)
		if !utf8.ValidString(lines) || strings.ContainsAny(lines, "\r\x1b") {
			t.Errorf("CleanLines(%q) = %q", s, lines)
		}
	})
}
