package modsym

import (
	"fmt"
	"strings"
)

// Pattern is a parsed `module!symbol` pattern, as WinDbg's `x` command takes
// it: '*' matches any run of characters and '?' any one character, in both
// parts; matching ignores case. A pattern without '!' searches every module.
type Pattern struct {
	Module, Symbol string
}

// ParsePattern splits s at its first '!'. An empty module part means every
// module; an empty symbol part is an error (WinDbg requires one too).
func ParsePattern(s string) (Pattern, error) {
	mod, sym, ok := strings.Cut(s, "!")
	if !ok {
		mod, sym = "*", s
	}
	if mod == "" {
		mod = "*"
	}
	if sym == "" {
		return Pattern{}, fmt.Errorf("pattern %q names no symbol: write module!name, with * and ? as wildcards", s)
	}
	return Pattern{Module: mod, Symbol: sym}, nil
}

func (p Pattern) String() string { return p.Module + "!" + p.Symbol }

// MatchModule reports whether the module with file name name ("crash.exe")
// matches the module part: the name with or without its extension, as WinDbg
// names modules ("crash").
func (p Pattern) MatchModule(name string) bool {
	if Match(p.Module, name) {
		return true
	}
	if i := strings.LastIndexByte(name, '.'); i > 0 {
		return Match(p.Module, name[:i])
	}
	return false
}

// MatchSymbol reports whether a symbol name matches the symbol part.
func (p Pattern) MatchSymbol(name string) bool { return Match(p.Symbol, name) }

// Match reports whether name matches the wildcard pattern pat ('*': any run
// of characters, '?': one character), ignoring case. It runs in
// O(len(pat)*len(name)) at worst: a '*' is retried from the last one only.
func Match(pat, name string) bool {
	// Both sides are lowered the same way (invalid UTF-8 becomes U+FFFD on
	// both), so a pattern matches its own text whatever it holds.
	p, n := []rune(strings.ToLower(pat)), []rune(strings.ToLower(name))
	pi, ni := 0, 0
	starP, starN := -1, 0
	for ni < len(n) {
		switch {
		case pi < len(p) && p[pi] == '*':
			starP, starN = pi, ni
			pi++
		case pi < len(p) && (p[pi] == '?' || p[pi] == n[ni]):
			pi++
			ni++
		case starP >= 0:
			starN++
			pi, ni = starP+1, starN
		default:
			return false
		}
	}
	for pi < len(p) && p[pi] == '*' {
		pi++
	}
	return pi == len(p)
}
