package crash

import (
	"fmt"
	"strconv"
	"strings"
	"sync"
)

// DemangleItanium demangles an Itanium C++ ABI type name as a std::type_info holds
// it (the mangled type without the "_ZTS" prefix): "St9bad_alloc" is
// std::bad_alloc, "NSt7__cxx1112basic_stringIcSt11char_traitsIcESaIcEEE" the
// C++11 std::string, "PKc" a char const*. A leading '*' (GCC marks type names
// that must be compared by address) is skipped; a "_ZTS" prefix is accepted.
//
// The output follows c++filt's spelling ("char const*") with template arguments
// separated by ',' alone. Expressions, function-local names, lambdas and template
// parameters give the mangled name back with Demangled false; it never panics and
// its work is bounded by the input length.
//
// Grammar and substitution rules: the Itanium C++ ABI, section 5.1 "Mangling"
// (https://itanium-cxx-abi.github.io/cxx-abi/abi.html#mangling); the tests compare
// with c++filt.
func DemangleItanium(mangled string) TypeName {
	if len(mangled) > maxDecoratedName {
		return rawName(mangled, fmt.Sprintf("name is %d bytes, longer than the %d this demangler reads", len(mangled), maxDecoratedName))
	}
	s := strings.TrimPrefix(strings.TrimPrefix(mangled, "_ZTS"), "*")
	p := &itParser{s: s}
	t := p.typ()
	if p.err == nil && p.pos < len(p.s) {
		p.fail("unexpected %q after the type", p.rest())
	}
	if p.err != nil {
		return rawName(mangled, p.err.Error())
	}
	if len(t.text) > maxRenderedName {
		return rawName(mangled, "demangled name too long")
	}
	return TypeName{Decorated: mangled, Name: t.text, Kind: t.kind, Demangled: true}
}

type itParser struct {
	s     string
	pos   int
	depth int
	err   error
	subs  []string // the substitution candidates, in order
}

// itType is a rendered type and what it is.
type itType struct {
	text string
	kind string
}

func (p *itParser) fail(format string, args ...any) {
	if p.err == nil {
		p.err = fmt.Errorf("at offset %d: %s", p.pos, fmt.Sprintf(format, args...))
	}
}

func (p *itParser) rest() string {
	r := p.s[min(p.pos, len(p.s)):]
	if len(r) > 16 {
		r = r[:16] + "..."
	}
	return r
}

func (p *itParser) peek() byte {
	if p.pos < len(p.s) {
		return p.s[p.pos]
	}
	return 0
}

func (p *itParser) consume(prefix string) bool {
	if p.err == nil && strings.HasPrefix(p.s[p.pos:], prefix) {
		p.pos += len(prefix)
		return true
	}
	return false
}

func (p *itParser) enter() bool {
	p.depth++
	if p.depth > maxDemangleDepth {
		p.fail("nesting deeper than %d", maxDemangleDepth)
		return false
	}
	return p.err == nil
}

func (p *itParser) leave() { p.depth-- }

// addSub records a substitution candidate. The table is bounded by the input: every
// candidate consumes at least one character.
func (p *itParser) addSub(s string) {
	if len(s) > maxRenderedName {
		p.fail("demangled name too long")
		return
	}
	if len(p.subs) < len(p.s)+1 {
		p.subs = append(p.subs, s)
	}
}

// itBuiltins are the one-letter builtin type codes, itBuiltinsD those after 'D'.
// These tables and itStdSubs are built on first use: a run that never demangles
// an Itanium name does not pay for them at start-up.
var itBuiltins = sync.OnceValue(func() map[byte]string {
	return map[byte]string{
		'v': "void", 'w': "wchar_t", 'b': "bool", 'c': "char", 'a': "signed char",
		'h': "unsigned char", 's': "short", 't': "unsigned short", 'i': "int",
		'j': "unsigned int", 'l': "long", 'm': "unsigned long", 'x': "long long",
		'y': "unsigned long long", 'n': "__int128", 'o': "unsigned __int128", 'f': "float",
		'd': "double", 'e': "long double", 'g': "__float128", 'z': "...",
	}
})

var itBuiltinsD = sync.OnceValue(func() map[byte]string {
	return map[byte]string{
		'n': "decltype(nullptr)", 'i': "char32_t", 's': "char16_t", 'u': "char8_t",
		'a': "auto", 'c': "decltype(auto)", 'f': "decimal32", 'd': "decimal64",
		'e': "decimal128", 'h': "half",
	}
})

// itStdSubs are the abbreviations for common std names.
// They are written out in full, as c++filt does for type names.
var itStdSubs = sync.OnceValue(func() map[byte]string {
	return map[byte]string{
		'a': "std::allocator", 'b': "std::basic_string",
		's': "std::basic_string<char,std::char_traits<char>,std::allocator<char>>",
		'i': "std::basic_istream<char,std::char_traits<char>>",
		'o': "std::basic_ostream<char,std::char_traits<char>>",
		'd': "std::basic_iostream<char,std::char_traits<char>>",
	}
})

// typ parses <type>.
func (p *itParser) typ() itType {
	if !p.enter() {
		return itType{}
	}
	defer p.leave()
	c := p.peek()
	switch {
	case c == 0:
		p.fail("name ends where a type was expected")
		return itType{}
	case c == 'D' && p.pos+1 < len(p.s) && itBuiltinsD()[p.s[p.pos+1]] != "":
		n := itBuiltinsD()[p.s[p.pos+1]]
		p.pos += 2
		return itType{n, "builtin"}
	case c == 'u':
		// A vendor extended type: u <source-name>.
		p.pos++
		n := p.sourceName()
		p.addSub(n)
		return itType{n, "builtin"}
	case itBuiltins()[c] != "":
		p.pos++
		return itType{itBuiltins()[c], "builtin"}
	case c == 'r' || c == 'V' || c == 'K':
		var q []string
		for {
			switch {
			case p.consume("r"):
				q = append(q, "restrict")
				continue
			case p.consume("V"):
				q = append(q, "volatile")
				continue
			case p.consume("K"):
				q = append(q, "const")
				continue
			}
			break
		}
		// c++filt writes qualifiers after the type: "char const".
		inner := p.typ()
		t := itType{inner.text + " " + strings.Join(reverse(q), " "), inner.kind}
		p.addSub(t.text)
		return t
	case c == 'P' || c == 'R' || c == 'O':
		p.pos++
		inner := p.typ()
		op := map[byte]string{'P': "*", 'R': "&", 'O': "&&"}[c]
		var t itType
		if inner.kind == "function" {
			// "void (*)(int)": the declarator goes inside the parentheses.
			i := strings.Index(inner.text, " (")
			t = itType{inner.text[:i] + " (" + op + ")" + inner.text[i+1:], "pointer"}
		} else {
			t = itType{inner.text + op, "pointer"}
		}
		if c != 'P' {
			t.kind = "reference"
		}
		p.addSub(t.text)
		return t
	case c == 'F':
		p.pos++
		p.consume("Y") // extern "C"
		ret := p.typ()
		var params []string
		for p.err == nil && p.peek() != 'E' {
			if p.pos >= len(p.s) {
				p.fail("function type not terminated")
				break
			}
			if len(params) >= 64 {
				p.fail("more than 64 parameters")
				break
			}
			a := p.typ()
			if a.text != "void" || len(params) > 0 {
				params = append(params, a.text)
			}
		}
		p.consume("E")
		t := itType{ret.text + " (" + strings.Join(params, ",") + ")", "function"}
		p.addSub(t.text)
		return t
	case c == 'A':
		p.pos++
		n := p.digits()
		if !p.consume("_") {
			p.fail("array dimension not ended by '_'")
			return itType{}
		}
		elem := p.typ()
		t := itType{elem.text + " [" + n + "]", "array"}
		p.addSub(t.text)
		return t
	case c == 'S' && p.pos+1 < len(p.s) && p.s[p.pos+1] != 't':
		// A substitution; followed by template arguments it names a template.
		s := p.substitution()
		if p.peek() == 'I' {
			args := p.templateArgs()
			t := itType{s + args, "class"}
			p.addSub(t.text)
			return t
		}
		return itType{s, "class"}
	case c == 'T':
		if p.consume("Ts") || p.consume("Tu") || p.consume("Te") {
			kind := map[byte]string{'s': "struct", 'u': "union", 'e': "enum"}[p.s[p.pos-1]]
			n := p.name()
			return itType{n, kind}
		}
		p.fail("template parameters are not supported")
		return itType{}
	case c == 'N' || c == 'S' || c == 'Z' || (c >= '0' && c <= '9'):
		n := p.name()
		return itType{n, "class"}
	}
	p.fail("unknown type code %q", c)
	return itType{}
}

// name parses <name> for a class or enum type and adds it to the substitutions.
func (p *itParser) name() string {
	if !p.enter() {
		return ""
	}
	defer p.leave()
	switch c := p.peek(); {
	case c == 'N':
		return p.nestedName()
	case c == 'Z':
		p.fail("function-local names are not supported")
		return ""
	}
	prefix := ""
	if p.consume("St") {
		prefix = "std::"
	}
	n := prefix + p.unqualifiedName()
	if p.peek() == 'I' {
		// An unscoped template: the template name is a candidate, then the whole.
		p.addSub(n)
		n += p.templateArgs()
	}
	p.addSub(n)
	return n
}

// nestedName parses N [qualifiers] prefix... E. Each prefix (and each template
// prefix) is a substitution candidate; the complete name is added last.
func (p *itParser) nestedName() string {
	p.pos++ // N
	for p.consume("r") || p.consume("V") || p.consume("K") || p.consume("R") || p.consume("O") {
	}
	cur := ""
	added := false // whether cur is already the latest candidate
	for p.err == nil {
		c := p.peek()
		switch {
		case c == 'E':
			p.pos++
			if cur == "" {
				p.fail("empty nested name")
				return ""
			}
			if !added {
				p.addSub(cur)
			}
			return cur
		case c == 0:
			p.fail("nested name not terminated by 'E'")
			return ""
		case c == 'I':
			if cur == "" {
				p.fail("template arguments without a template name")
				return ""
			}
			if !added {
				p.addSub(cur)
			}
			cur += p.templateArgs()
			added = false
			continue
		case c == 'S' && cur == "":
			if p.consume("St") {
				cur = "std"
				added = true // St is not a candidate
				continue
			}
			cur = p.substitution()
			added = true
			continue
		case c == 'T' || c == 'D':
			p.fail("template parameters and decltype in names are not supported")
			return ""
		}
		if cur != "" && !added {
			p.addSub(cur)
		}
		piece := p.unqualifiedName()
		if cur == "" {
			cur = piece
		} else {
			cur += "::" + piece
		}
		added = false
		if len(cur) > maxRenderedName {
			p.fail("demangled name too long")
			return ""
		}
	}
	return ""
}

// unqualifiedName parses <source-name> (with any [abi:tag] suffixes) or an unnamed
// type name (Ut [number] _).
func (p *itParser) unqualifiedName() string {
	var n string
	switch {
	case p.consume("Ut"):
		d := p.digits()
		if !p.consume("_") {
			p.fail("unnamed type not ended by '_'")
			return ""
		}
		idx := 1
		if d != "" {
			v, _ := strconv.Atoi(d)
			idx = v + 2
		}
		n = "{unnamed type#" + strconv.Itoa(idx) + "}"
	case p.peek() == 'U' && p.pos+1 < len(p.s) && p.s[p.pos+1] == 'l':
		p.fail("lambda closure types are not supported")
		return ""
	default:
		n = p.sourceName()
	}
	for p.err == nil && p.consume("B") {
		n += "[abi:" + p.sourceName() + "]"
	}
	return n
}

// sourceName parses <length><identifier>.
func (p *itParser) sourceName() string {
	d := p.digits()
	if d == "" {
		p.fail("expected a name length, found %q", p.rest())
		return ""
	}
	n, err := strconv.Atoi(d)
	if err != nil || n <= 0 || n > len(p.s)-p.pos {
		p.fail("name length %s runs past the end", d)
		return ""
	}
	id := p.s[p.pos : p.pos+n]
	for i := 0; i < len(id); i++ {
		if c := id[i]; c <= ' ' || c >= 0x7f {
			p.fail("character %q in a name", c)
			return ""
		}
	}
	p.pos += n
	if strings.HasPrefix(id, "_GLOBAL__N") {
		return "(anonymous namespace)"
	}
	return id
}

// digits reads up to 9 decimal digits (a name length or an index).
func (p *itParser) digits() string { return p.digitsN(9) }

func (p *itParser) digitsN(max int) string {
	start := p.pos
	for p.pos < len(p.s) && p.s[p.pos] >= '0' && p.s[p.pos] <= '9' && p.pos-start < max {
		p.pos++
	}
	return p.s[start:p.pos]
}

// substitution parses S_, S<seq-id>_ or a std abbreviation.
func (p *itParser) substitution() string {
	p.pos++ // S
	c := p.peek()
	if s, ok := itStdSubs()[c]; ok {
		p.pos++
		return s
	}
	idx := 0
	if c != '_' {
		// seq-id in base 36, digits then upper-case letters; S_ is 0, S0_ is 1.
		v := 0
		for n := 0; ; n++ {
			c := p.peek()
			var d int
			switch {
			case c >= '0' && c <= '9':
				d = int(c - '0')
			case c >= 'A' && c <= 'Z':
				d = int(c-'A') + 10
			case c == '_':
				goto done
			default:
				p.fail("bad substitution %q", p.rest())
				return ""
			}
			if n >= 6 {
				p.fail("substitution index too large")
				return ""
			}
			v = v*36 + d
			p.pos++
		}
	done:
		idx = v + 1
	}
	if !p.consume("_") {
		p.fail("substitution not ended by '_'")
		return ""
	}
	if idx >= len(p.subs) {
		p.fail("substitution %d of %d candidates", idx, len(p.subs))
		return ""
	}
	return p.subs[idx]
}

// templateArgs parses I <arg>+ E and returns "<a,b>".
func (p *itParser) templateArgs() string {
	if !p.enter() {
		return ""
	}
	defer p.leave()
	p.pos++ // I
	var args []string
	for p.err == nil {
		if p.consume("E") {
			var b strings.Builder
			b.WriteString("<")
			for i, a := range args {
				if i > 0 {
					b.WriteString(",")
				}
				b.WriteString(a)
				if b.Len() > maxRenderedName {
					p.fail("demangled name too long")
					return ""
				}
			}
			b.WriteString(">")
			return b.String()
		}
		if p.pos >= len(p.s) {
			p.fail("template argument list not terminated")
			return ""
		}
		if len(args) >= 64 {
			p.fail("more than 64 template arguments")
			return ""
		}
		switch p.peek() {
		case 'L':
			args = append(args, p.literal())
		case 'X':
			p.fail("expressions as template arguments are not supported")
		case 'J':
			// An argument pack: its elements inline.
			p.pos++
			var pack []string
			for p.err == nil && !p.consume("E") {
				if p.pos >= len(p.s) || len(pack) >= 64 {
					p.fail("argument pack not terminated")
					break
				}
				pack = append(pack, p.typ().text)
			}
			if len(pack) > 0 {
				args = append(args, strings.Join(pack, ","))
			}
		default:
			args = append(args, p.typ().text)
		}
	}
	return ""
}

// literal parses L <type> <value> E as c++filt prints it: 5, 5u, 5l, true.
func (p *itParser) literal() string {
	p.pos++ // L
	if p.peek() == '_' {
		p.fail("symbols as template arguments are not supported")
		return ""
	}
	t := p.typ()
	neg := p.consume("n")
	v := p.digitsN(20)
	if v == "" || !p.consume("E") {
		p.fail("bad literal")
		return ""
	}
	if neg {
		v = "-" + v
	}
	switch t.text {
	case "int":
		return v
	case "unsigned int":
		return v + "u"
	case "long":
		return v + "l"
	case "unsigned long":
		return v + "ul"
	case "long long":
		return v + "ll"
	case "unsigned long long":
		return v + "ull"
	case "bool":
		if v == "0" {
			return "false"
		}
		if v == "1" {
			return "true"
		}
	}
	return "(" + t.text + ")" + v
}

func reverse(s []string) []string {
	out := make([]string, len(s))
	for i, x := range s {
		out[len(s)-1-i] = x
	}
	return out
}
