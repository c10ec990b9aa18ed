package modsym_test

import (
	"github.com/dumpmap/dumpmap/analysis/modsym"
	"regexp"
	"strings"
	"testing"
)

func TestMatch(t *testing.T) {
	cases := []struct {
		pat, name string
		want      bool
	}{
		{"*", "", true},
		{"*", "anything", true},
		{"", "", true},
		{"", "a", false},
		{"_crtheap*", "_crtheap", true},
		{"_crtheap*", "_CRTHEAP_lock", true},
		{"*_crtheap*", "__crtheap", true},
		{"_crtheap*", "__crtheap", false},
		{"?", "a", true},
		{"?", "", false},
		{"?", "é", true}, // one character, two bytes
		{"a?c", "abc", true},
		{"a?c", "ac", false},
		{"*a*b*c*", "xxaxxbxxcxx", true},
		{"*a*b*c*", "xxaxxcxxbxx", false},
		{"a*a*a*a*b", strings.Repeat("a", 200), false},
		{"main", "MAIN", true},
		{"*Main", "ExceptionHandlerThreadMain", true},
		{"??2@*", "??2@YAPAXI@Z", true}, // '?' also matches a literal '?'
		{"[", "[", true},                // no character classes: '[' is literal
	}
	for _, c := range cases {
		if got := modsym.Match(c.pat, c.name); got != c.want {
			t.Errorf("modsym.Match(%q, %q) = %v, want %v", c.pat, c.name, got, c.want)
		}
	}
}

func TestParsePattern(t *testing.T) {
	cases := []struct {
		in       string
		mod, sym string
		err      bool
	}{
		{"crash!main", "crash", "main", false},
		{"*!_crtheap*", "*", "_crtheap*", false},
		{"_crtheap", "*", "_crtheap", false},
		{"!x", "*", "x", false},
		{"crash!", "", "", true},
		{"", "", "", true},
		{"a!b!c", "a", "b!c", false},
	}
	for _, c := range cases {
		p, err := modsym.ParsePattern(c.in)
		if (err != nil) != c.err || (!c.err && (p.Module != c.mod || p.Symbol != c.sym)) {
			t.Errorf("modsym.ParsePattern(%q) = %+v, %v", c.in, p, err)
		}
	}
	p, _ := modsym.ParsePattern("CRASH!x")
	for name, want := range map[string]bool{"crash.exe": true, "Crash.EXE": true, "crash": true, "crash.dll.mui": false, "crashy.exe": false} {
		if got := p.MatchModule(name); got != want {
			t.Errorf("module pattern CRASH matches %q: %v, want %v", name, got, want)
		}
	}
}

func TestUndecorateC(t *testing.T) {
	for in, want := range map[string]string{
		"_main":               "main",
		"__crtheap":           "_crtheap",
		"_Sleep@4":            "Sleep",
		"@fast@8":             "fast",
		"@notfast":            "@notfast",
		"?f@@YAXXZ":           "?f@@YAXXZ",
		"__imp__HeapAlloc@12": "__imp__HeapAlloc@12",
		"_":                   "_",
		"_a@b":                "a@b",
		"_x@":                 "x@",
		"plain":               "plain",
	} {
		if got := modsym.UndecorateC(in); got != want {
			t.Errorf("modsym.UndecorateC(%q) = %q, want %q", in, got, want)
		}
	}
}

// wildcardRegexp is the reference matcher: the pattern as an anchored,
// case-insensitive regular expression.
func wildcardRegexp(pat string) *regexp.Regexp {
	var b strings.Builder
	b.WriteString("(?is)^")
	for _, r := range strings.ToLower(pat) {
		switch r {
		case '*':
			b.WriteString(".*")
		case '?':
			b.WriteString(".")
		default:
			b.WriteString(regexp.QuoteMeta(string(r)))
		}
	}
	b.WriteString("$")
	return regexp.MustCompile(b.String())
}

// FuzzMatch checks modsym.Match against the regular-expression reference.
func FuzzMatch(f *testing.F) {
	f.Add("*!_crtheap*", "msvcr90!_crtheap")
	f.Add("a*b?c", "aXXbYc")
	f.Add("*", "")
	f.Add("?*?", "é")
	f.Fuzz(func(t *testing.T, pat, name string) {
		if len(pat) > 64 || len(name) > 256 {
			return
		}
		got := modsym.Match(pat, name)
		// Compare on the lowered forms modsym.Match uses (case folding of some
		// characters changes their length; both sides go through ToLower).
		want := wildcardRegexp(pat).MatchString(strings.ToLower(name))
		if got != want {
			t.Fatalf("modsym.Match(%q, %q) = %v, reference %v", pat, name, got, want)
		}
		if !strings.ContainsAny(name, "*?") && !modsym.Match(name, name) {
			t.Fatalf("a name does not match itself: %q", name)
		}
	})
}
