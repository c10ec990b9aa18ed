package crash

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
)

// DemangleMSVC demangles an MSVC type encoding as the RTTI TypeDescriptor of a
// thrown type stores it: ".?AVbad_alloc@std@@" is std::bad_alloc (a class),
// ".?AUfoo@@" the struct foo, ".?AW4E@@" the enum E, ".H" int, ".PEAVexception@std@@"
// a pointer to std::exception, ".?AV?$vector@HV?$allocator@H@std@@@std@@"
// std::vector<int,std::allocator<int>>. The leading '.' may be omitted.
//
// The result spells class types without the class/struct keyword and template
// arguments without spaces. Forms it does not know (member pointers, pointers to
// symbols as template arguments, locally scoped names) give the decorated name back
// with Demangled false and the reason; it never panics and its work is bounded by
// the input length.
//
// The grammar followed is the one documented by LLVM's MicrosoftDemangle.cpp and
// Wine's dlls/msvcrt/undname.c (type codes, back-references 0-9 per template scope,
// encoded numbers), cross-checked against Agner Fog's "Calling conventions for
// different C++ compilers and operating systems", section 8 (name mangling). The
// tests compare with llvm-undname's output.
func DemangleMSVC(decorated string) TypeName {
	if len(decorated) > maxDecoratedName {
		return rawName(decorated, fmt.Sprintf("name is %d bytes, longer than the %d this demangler reads", len(decorated), maxDecoratedName))
	}
	s := strings.TrimPrefix(decorated, ".")
	p := &msParser{s: s, names: &msNames{}, types: &msTypes{}}
	t := p.typ(msQualResult)
	if p.err == nil && p.pos < len(p.s) {
		p.fail("unexpected %q after the type", p.rest())
	}
	if p.err != nil {
		return rawName(decorated, p.err.Error())
	}
	name := t.render(true)
	if len(name) > maxRenderedName {
		return rawName(decorated, "demangled name too long")
	}
	return TypeName{Decorated: decorated, Name: name, Kind: t.kindName(), Demangled: true}
}

// msParser is a recursive-descent parser over one decorated type name.
type msParser struct {
	s     string
	pos   int
	depth int
	err   error
	names *msNames // name back-references of the current template scope
	types *msTypes // type back-references (function parameters)
}

// msNames holds the up to ten memorized names that the digits 0-9 refer to.
type msNames struct {
	list []msText
}

// msTypes holds the up to ten memorized function parameter types.
type msTypes struct {
	list []*msType
}

// msText is a rendered name in two forms: disp for people, key (with the
// class/struct keywords) to tell memorized names apart as LLVM does.
type msText struct{ disp, key string }

type msQualMode int

const (
	msQualDrop   msQualMode = iota // no qualifier letter before the type
	msQualMangle                   // one qualifier letter (A-D) before the type
	msQualResult                   // a qualifier letter only after '?'
)

var errMSTooLong = errors.New("demangled name too long")

func (p *msParser) fail(format string, args ...any) {
	if p.err == nil {
		p.err = fmt.Errorf("at offset %d: %s", p.pos, fmt.Sprintf(format, args...))
	}
}

func (p *msParser) rest() string {
	r := p.s[min(p.pos, len(p.s)):]
	if len(r) > 16 {
		r = r[:16] + "..."
	}
	return r
}

func (p *msParser) peek() byte {
	if p.pos < len(p.s) {
		return p.s[p.pos]
	}
	return 0
}

func (p *msParser) consume(prefix string) bool {
	if p.err == nil && strings.HasPrefix(p.s[p.pos:], prefix) {
		p.pos += len(prefix)
		return true
	}
	return false
}

func (p *msParser) enter() bool {
	p.depth++
	if p.depth > maxDemangleDepth {
		p.fail("nesting deeper than %d", maxDemangleDepth)
		return false
	}
	return p.err == nil
}

func (p *msParser) leave() { p.depth-- }

// memorizeName adds a rendered name to the back-reference table unless it is full
// or already holds an equal name (LLVM's memorizeString does the same).
func (p *msParser) memorizeName(t msText) {
	if len(p.names.list) >= 10 {
		return
	}
	for _, n := range p.names.list {
		if n.key == t.key {
			return
		}
	}
	p.names.list = append(p.names.list, t)
}

// msType is a parsed type; render turns it into C++ declarator syntax.
type msType struct {
	kind  msKind
	quals msQuals
	name  msText // builtin or tag name
	tag   string // class, struct, union, enum

	ptr      string  // "*", "&", "&&"
	ptrQuals msQuals // const/volatile of the pointer itself
	pointee  *msType

	cc       string
	ret      *msType // nil: no return type (constructors)
	params   []*msType
	variadic bool
	noexcept bool

	dims []int64
	elem *msType
}

type msKind int

const (
	msBuiltin msKind = iota
	msTag
	msPointer
	msFunction
	msArray
	msNullptr
)

type msQuals uint8

const (
	msConst msQuals = 1 << iota
	msVolatile
)

// suffix spells q after the type, as MSVC's undname and llvm-undname do
// ("char const").
func (q msQuals) suffix() string {
	switch q & (msConst | msVolatile) {
	case msConst:
		return " const"
	case msVolatile:
		return " volatile"
	case msConst | msVolatile:
		return " const volatile"
	}
	return ""
}

func (t *msType) kindName() string {
	switch t.kind {
	case msBuiltin:
		return "builtin"
	case msTag:
		return t.tag
	case msPointer:
		if t.ptr == "*" {
			return "pointer"
		}
		return "reference"
	case msFunction:
		return "function"
	case msArray:
		return "array"
	case msNullptr:
		return "nullptr"
	}
	return ""
}

// render returns t in C++ syntax; disp selects the display form (no class
// keywords), otherwise the key form used to compare memorized names.
func (t *msType) render(disp bool) string {
	var b strings.Builder
	t.pre(&b, disp)
	t.post(&b, disp)
	return strings.TrimSpace(b.String())
}

// pre and post tolerate the half-built types a failed parse leaves (nil pointee
// or element): the result is then discarded, but rendering must not crash.
func (t *msType) pre(b *strings.Builder, disp bool) {
	if t == nil || b.Len() > maxRenderedName {
		return
	}
	switch t.kind {
	case msBuiltin, msNullptr:
		b.WriteString(t.name.disp)
		b.WriteString(t.quals.suffix())
	case msTag:
		if disp {
			b.WriteString(t.name.disp)
		} else {
			b.WriteString(t.tag + " " + t.name.key)
		}
		b.WriteString(t.quals.suffix())
	case msPointer:
		if t.pointee == nil {
			t.pointee = &msType{}
		}
		wrap := t.pointee.kind == msFunction || t.pointee.kind == msArray
		if t.pointee.kind == msFunction {
			f := t.pointee
			if f.ret != nil {
				f.ret.pre(b, disp)
				f.ret.post(b, disp)
				b.WriteByte(' ')
			}
			b.WriteString("(" + f.cc)
		} else {
			t.pointee.pre(b, disp)
			if wrap {
				b.WriteString(" (")
			}
		}
		b.WriteString(t.ptr)
		if t.ptrQuals&msConst != 0 {
			b.WriteString(" const")
		}
		if t.ptrQuals&msVolatile != 0 {
			b.WriteString(" volatile")
		}
	case msFunction:
		if t.ret != nil {
			t.ret.pre(b, disp)
			t.ret.post(b, disp)
			b.WriteByte(' ')
		}
		b.WriteString(t.cc)
	case msArray:
		t.elem.pre(b, disp)
	}
}

func (t *msType) post(b *strings.Builder, disp bool) {
	if t == nil || b.Len() > maxRenderedName {
		return
	}
	switch t.kind {
	case msPointer:
		if t.pointee == nil {
			t.pointee = &msType{}
		}
		if t.pointee.kind == msFunction {
			b.WriteString(")")
			t.pointee.funcPost(b, disp)
		} else {
			if t.pointee.kind == msArray {
				b.WriteString(")")
			}
			t.pointee.post(b, disp)
		}
	case msFunction:
		t.funcPost(b, disp)
	case msArray:
		for _, d := range t.dims {
			b.WriteString("[" + strconv.FormatInt(d, 10) + "]")
		}
		t.elem.post(b, disp)
	}
}

func (t *msType) funcPost(b *strings.Builder, disp bool) {
	b.WriteString("(")
	if len(t.params) == 0 && !t.variadic {
		b.WriteString("void")
	}
	for i, a := range t.params {
		if b.Len() > maxRenderedName {
			// Parameters may be back-references to large types: stop rendering
			// once the result is too long to be used, or the work grows
			// exponentially with nesting.
			return
		}
		if i > 0 {
			b.WriteString(",")
		}
		b.WriteString(a.render(disp))
	}
	if t.variadic {
		if len(t.params) > 0 {
			b.WriteString(",")
		}
		b.WriteString("...")
	}
	b.WriteString(")")
	if t.noexcept {
		b.WriteString(" noexcept")
	}
}

// typ parses a type. With msQualResult a '?' introduces the type's own
// qualifiers, as RTTI names (".?AV...") and return types have them.
func (p *msParser) typ(mode msQualMode) *msType {
	if !p.enter() {
		return &msType{}
	}
	defer p.leave()
	var quals msQuals
	if mode == msQualMangle || (mode == msQualResult && p.consume("?")) {
		quals = p.qualifiers()
	}
	t := p.unqualifiedType()
	if t != nil && p.err == nil {
		if t.kind == msPointer {
			// Qualifiers before a pointer type belong to the pointer itself.
			t.ptrQuals |= quals
		} else {
			t.quals |= quals
		}
	}
	if t == nil {
		t = &msType{}
	}
	return t
}

// qualifiers reads the letter that qualifies a type: A none, B const, C volatile,
// D const volatile. Member-pointer qualifiers (Q-T) are not supported.
func (p *msParser) qualifiers() msQuals {
	switch c := p.peek(); c {
	case 'A':
		p.pos++
		return 0
	case 'B':
		p.pos++
		return msConst
	case 'C':
		p.pos++
		return msVolatile
	case 'D':
		p.pos++
		return msConst | msVolatile
	case 0:
		p.fail("name ends where a qualifier was expected")
	default:
		p.fail("unsupported qualifier %q", c)
	}
	return 0
}

// msBuiltins are the one-letter primitive type codes. These tables and
// msCallingConventions are built on first use: a run that never demangles an
// MSVC name does not pay for them at start-up.
var msBuiltins = sync.OnceValue(func() map[byte]string {
	return map[byte]string{
		'X': "void", 'D': "char", 'C': "signed char", 'E': "unsigned char", 'F': "short",
		'G': "unsigned short", 'H': "int", 'I': "unsigned int", 'J': "long",
		'K': "unsigned long", 'M': "float", 'N': "double", 'O': "long double",
	}
})

// msBuiltins2 are the primitive codes after '_'.
var msBuiltins2 = sync.OnceValue(func() map[byte]string {
	return map[byte]string{
		'N': "bool", 'J': "__int64", 'K': "unsigned __int64", 'W': "wchar_t",
		'Q': "char8_t", 'S': "char16_t", 'U': "char32_t", 'L': "__int128",
		'M': "unsigned __int128",
	}
})

func (p *msParser) unqualifiedType() *msType {
	c := p.peek()
	switch {
	case c == 0:
		p.fail("name ends where a type was expected")
		return nil
	case c == 'T' || c == 'U' || c == 'V':
		p.pos++
		tag := map[byte]string{'T': "union", 'U': "struct", 'V': "class"}[c]
		return &msType{kind: msTag, tag: tag, name: p.qualifiedName()}
	case c == 'W':
		p.pos++
		// The digit is the enum's underlying type; MSVC writes 4 (int).
		if d := p.peek(); d >= '0' && d <= '7' {
			p.pos++
		} else {
			p.fail("enum without its underlying-type digit")
			return nil
		}
		return &msType{kind: msTag, tag: "enum", name: p.qualifiedName()}
	case p.consume("$$Q"):
		return p.pointer("&&")
	case p.consume("$$R"):
		t := p.pointer("&&")
		t.ptrQuals |= msVolatile
		return t
	case c == 'A':
		p.pos++
		return p.pointer("&")
	case c == 'B':
		p.pos++
		t := p.pointer("&")
		t.ptrQuals |= msVolatile
		return t
	case c == 'P' || c == 'Q' || c == 'R' || c == 'S':
		p.pos++
		t := p.pointer("*")
		t.ptrQuals |= map[byte]msQuals{'P': 0, 'Q': msConst, 'R': msVolatile, 'S': msConst | msVolatile}[c]
		return t
	case c == 'Y':
		p.pos++
		return p.array()
	case p.consume("$$A6"):
		return p.function()
	case p.consume("$$A8@@"):
		// A function type with this-qualifiers, as a template argument.
		return p.function()
	case p.consume("$$T"):
		return &msType{kind: msNullptr, name: msText{"std::nullptr_t", "std::nullptr_t"}}
	case c == '_':
		if p.pos+1 < len(p.s) {
			if n, ok := msBuiltins2()[p.s[p.pos+1]]; ok {
				p.pos += 2
				return &msType{kind: msBuiltin, name: msText{n, n}}
			}
		}
		p.fail("unknown type code %q", p.rest())
		return nil
	}
	if n, ok := msBuiltins()[c]; ok {
		p.pos++
		return &msType{kind: msBuiltin, name: msText{n, n}}
	}
	p.fail("unknown type code %q", c)
	return nil
}

// pointer parses what follows a pointer or reference letter: '6' and a function
// type, or the pointer's modifiers (E __ptr64, I __restrict, F __unaligned), the
// pointee's qualifier letter and the pointee.
func (p *msParser) pointer(op string) *msType {
	t := &msType{kind: msPointer, ptr: op}
	if p.consume("6") {
		t.pointee = p.function()
		return t
	}
	if p.peek() == '8' {
		p.fail("member function pointers are not supported")
		return t
	}
	for p.consume("E") || p.consume("I") || p.consume("F") {
	}
	if c := p.peek(); c >= 'Q' && c <= 'T' {
		p.fail("member pointers are not supported")
		return t
	}
	t.pointee = p.typ(msQualMangle)
	return t
}

// function parses a calling convention, a return type, a parameter list and a
// throw specification.
func (p *msParser) function() *msType {
	t := &msType{kind: msFunction}
	if !p.enter() {
		return t
	}
	defer p.leave()
	t.cc = p.callingConvention()
	if !p.consume("@") { // '@': no return type
		t.ret = p.typ(msQualResult)
	}
	t.params, t.variadic = p.params()
	if p.consume("_E") {
		t.noexcept = true
	} else if !p.consume("Z") {
		p.fail("function type without its throw specification")
	}
	return t
}

// msCallingConventions name the calling-convention letters of a function type.
var msCallingConventions = sync.OnceValue(func() map[byte]string {
	return map[byte]string{
		'A': "__cdecl", 'B': "__cdecl", 'C': "__pascal", 'D': "__pascal", 'E': "__thiscall",
		'F': "__thiscall", 'G': "__stdcall", 'H': "__stdcall", 'I': "__fastcall",
		'J': "__fastcall", 'M': "__clrcall", 'N': "__clrcall", 'Q': "__vectorcall",
		'R': "__vectorcall",
	}
})

func (p *msParser) callingConvention() string {
	c := p.peek()
	if cc, ok := msCallingConventions()[c]; ok {
		p.pos++
		return cc
	}
	p.fail("unknown calling convention %q", c)
	return ""
}

// params parses a function parameter list: 'X' alone for (void), else types ended
// by '@', or by 'Z' for a variadic list. A digit refers back to one of the first
// ten parameter types longer than one letter.
func (p *msParser) params() (list []*msType, variadic bool) {
	if p.consume("X") {
		return nil, false
	}
	for p.err == nil {
		c := p.peek()
		switch {
		case c == 0:
			p.fail("parameter list not terminated")
			return list, false
		case c == '@':
			p.pos++
			return list, false
		case c == 'Z':
			p.pos++
			return list, true
		case c >= '0' && c <= '9':
			i := int(c - '0')
			if i >= len(p.types.list) {
				p.fail("type back-reference %d to one of %d types", i, len(p.types.list))
				return list, false
			}
			p.pos++
			list = append(list, p.types.list[i])
			continue
		}
		if len(list) >= 64 {
			p.fail("more than 64 parameters")
			return list, false
		}
		start := p.pos
		t := p.typ(msQualDrop)
		if p.pos-start > 1 && len(p.types.list) < 10 {
			p.types.list = append(p.types.list, t)
		}
		list = append(list, t)
	}
	return list, false
}

// array parses 'Y' rank dims... element.
func (p *msParser) array() *msType {
	rank, neg := p.number()
	if neg || rank <= 0 || rank > 16 {
		p.fail("array rank %d", rank)
		return &msType{}
	}
	t := &msType{kind: msArray}
	for range rank {
		d, neg := p.number()
		if neg {
			p.fail("negative array dimension")
			return t
		}
		t.dims = append(t.dims, d)
	}
	var quals msQuals
	if p.consume("$$C") {
		quals = p.qualifiers()
	}
	t.elem = p.typ(msQualDrop)
	t.elem.quals |= quals
	return t
}

// number reads an encoded number: optional '?' for negative, then a digit 0-9
// meaning 1-10, or hex digits written A-P ended by '@'.
func (p *msParser) number() (int64, bool) {
	neg := p.consume("?")
	c := p.peek()
	if c >= '0' && c <= '9' {
		p.pos++
		return int64(c-'0') + 1, neg
	}
	var v uint64
	for n := 0; ; n++ {
		c := p.peek()
		switch {
		case c == '@':
			p.pos++
			return int64(v), neg
		case c >= 'A' && c <= 'P':
			if n >= 16 {
				p.fail("encoded number longer than 64 bits")
				return 0, neg
			}
			v = v<<4 | uint64(c-'A')
			p.pos++
		default:
			p.fail("bad encoded number")
			return 0, neg
		}
	}
}

// qualifiedName parses a name and its enclosing scopes, innermost first, ended by
// '@': "bad_alloc@std@@" is std::bad_alloc.
func (p *msParser) qualifiedName() msText {
	if !p.enter() {
		return msText{}
	}
	defer p.leave()
	var parts []msText
	parts = append(parts, p.namePiece(true))
	for p.err == nil && !p.consume("@") {
		if p.pos >= len(p.s) {
			p.fail("name not terminated by '@'")
			break
		}
		if len(parts) >= 64 {
			p.fail("more than 64 scopes")
			break
		}
		parts = append(parts, p.namePiece(false))
	}
	var d, k strings.Builder
	for i := len(parts) - 1; i >= 0; i-- {
		d.WriteString(parts[i].disp)
		k.WriteString(parts[i].key)
		if i > 0 {
			d.WriteString("::")
			k.WriteString("::")
		}
		if d.Len()+k.Len() > 2*maxRenderedName {
			p.fail("%v", errMSTooLong)
			break
		}
	}
	return msText{d.String(), k.String()}
}

// namePiece parses one component of a qualified name: a back-reference digit, a
// template instantiation, an anonymous namespace or a plain identifier ended by
// '@'. Plain identifiers and template instantiations are memorized.
func (p *msParser) namePiece(first bool) msText {
	c := p.peek()
	switch {
	case c >= '0' && c <= '9':
		i := int(c - '0')
		if i >= len(p.names.list) {
			p.fail("name back-reference %d to one of %d names", i, len(p.names.list))
			return msText{}
		}
		p.pos++
		return p.names.list[i]
	case strings.HasPrefix(p.s[p.pos:], "?$"):
		return p.template()
	case !first && strings.HasPrefix(p.s[p.pos:], "?A"):
		p.pos += 2
		end := strings.IndexByte(p.s[p.pos:], '@')
		if end < 0 {
			p.fail("anonymous namespace not terminated")
			return msText{}
		}
		key := p.s[p.pos : p.pos+end]
		p.pos += end + 1
		t := msText{"`anonymous namespace'", "`anonymous namespace'" + key}
		p.memorizeName(t)
		return t
	case c == '?':
		p.fail("unsupported special name %q", p.rest())
		return msText{}
	}
	id := p.identifier()
	t := msText{id, id}
	if p.err == nil {
		p.memorizeName(t)
	}
	return t
}

// identifier reads a plain name up to its terminating '@'.
func (p *msParser) identifier() string {
	end := strings.IndexByte(p.s[p.pos:], '@')
	if end <= 0 {
		p.fail("identifier not terminated by '@'")
		return ""
	}
	id := p.s[p.pos : p.pos+end]
	for i := 0; i < len(id); i++ {
		if c := id[i]; c <= ' ' || c >= 0x7f || c == '?' || c == '$' && i == 0 {
			p.fail("character %q in identifier", c)
			return ""
		}
	}
	p.pos += end + 1
	return id
}

// template parses "?$name@args@": the instantiation has a back-reference table of
// its own (its name is entry 0), and once rendered it is memorized in the
// enclosing one.
func (p *msParser) template() msText {
	if !p.enter() {
		return msText{}
	}
	defer p.leave()
	p.pos += 2
	outer, outerTypes := p.names, p.types
	p.names, p.types = &msNames{}, &msTypes{}
	var name msText
	if p.peek() == '?' {
		p.fail("operator templates are not supported")
	} else {
		id := p.identifier()
		name = msText{id, id}
		if p.err == nil {
			p.memorizeName(name)
		}
	}
	args := p.templateArgs()
	p.names, p.types = outer, outerTypes
	if p.err != nil {
		return msText{}
	}
	var d, k strings.Builder
	d.WriteString(name.disp + "<")
	k.WriteString(name.key + "<")
	for i, a := range args {
		if i > 0 {
			d.WriteString(",")
			k.WriteString(",")
		}
		d.WriteString(a.disp)
		k.WriteString(a.key)
	}
	d.WriteString(">")
	k.WriteString(">")
	if d.Len()+k.Len() > 2*maxRenderedName {
		p.fail("%v", errMSTooLong)
		return msText{}
	}
	t := msText{d.String(), k.String()}
	p.memorizeName(t)
	return t
}

// templateArgs parses template arguments up to the terminating '@'.
func (p *msParser) templateArgs() []msText {
	var args []msText
	for p.err == nil {
		if p.consume("@") {
			return args
		}
		if p.pos >= len(p.s) {
			p.fail("template argument list not terminated")
			return args
		}
		if len(args) >= 64 {
			p.fail("more than 64 template arguments")
			return args
		}
		switch {
		case p.consume("$$$V"), p.consume("$$V"), p.consume("$$Z"):
			// An empty parameter pack or a pack separator: nothing to show.
		case p.consume("$0"):
			v, neg := p.number()
			s := strconv.FormatInt(v, 10)
			if neg {
				s = "-" + s
			}
			args = append(args, msText{s, s})
		case p.consume("$$B"):
			args = p.appendType(args, p.typ(msQualDrop))
		case p.consume("$$C"):
			args = p.appendType(args, p.typ(msQualMangle))
		case p.peek() == '$' && !strings.HasPrefix(p.s[p.pos:], "$$A") && !strings.HasPrefix(p.s[p.pos:], "$$T") &&
			!strings.HasPrefix(p.s[p.pos:], "$$Q") && !strings.HasPrefix(p.s[p.pos:], "$$R"):
			p.fail("unsupported template argument %q", p.rest())
		default:
			args = p.appendType(args, p.typ(msQualDrop))
		}
	}
	return args
}

// appendType renders a template argument, unless the parse already failed.
func (p *msParser) appendType(args []msText, t *msType) []msText {
	if p.err != nil {
		return args
	}
	d, k := t.render(true), t.render(false)
	if len(d)+len(k) > 2*maxRenderedName {
		p.fail("%v", errMSTooLong)
		return args
	}
	return append(args, msText{d, k})
}
