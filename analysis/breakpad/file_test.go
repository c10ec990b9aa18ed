package breakpad

import (
	"strconv"
	"strings"
	"testing"
)

// docSym is made of the example records of Breakpad's docs/symbol_files.md
// (one per record type), placed so that each lookup has one right answer.
const docSym = `MODULE Linux x86 D3096ED481217FD4C16B29CD9BC208BA0 firefox-bin
INFO CODE_ID 5AB380779000 firefox-bin
FILE 2 /home/jimb/mc/in/browser/app/nsBrowserApp.cpp
FILE 4 /home/jimb/mc/in/xpcom/glue/nsCOMPtr.h
INLINE_ORIGIN 2 nsQueryInterfaceWithError::operator()(nsID const&, void**) const
INLINE_ORIGIN 4 inner()
FUNC m c184 30 0 nsQueryInterfaceWithError::operator()(nsID const&, void**) const
INLINE 0 10 2 2 c190 10
INLINE 1 12 4 4 c194 4
c184 7 59 4
c18b 9 60 4
c194 20 61 2
PUBLIC m 2160 0 Public2_1
PUBLIC d000 8 Public at d000
STACK WIN 4 2170 14 1 0 0 0 0 0 1 $eip 4 + ^ = $esp $ebp 8 + = $ebp $ebp ^ =
STACK CFI INIT 804c4b0 40 .cfa: $esp 4 + $eip: .cfa 4 - ^
STACK CFI 804c4b1 .cfa: $esp 8 + $ebp: .cfa 8 - ^
`

func mustParse(t testing.TB, s string) *File {
	t.Helper()
	f, err := Parse([]byte(s))
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func TestParseDocExamples(t *testing.T) {
	f := mustParse(t, docSym)
	if f.BadLines != 0 {
		t.Fatalf("bad lines: %v", f.Errors)
	}
	if f.Module != (Module{"Linux", "x86", "D3096ED481217FD4C16B29CD9BC208BA0", "firefox-bin"}) || f.CodeID != "5AB380779000" || f.CodeFile != "firefox-bin" {
		t.Errorf("module %+v code %q %q", f.Module, f.CodeID, f.CodeFile)
	}
	tests := []struct {
		rva  uint64
		want string // "name+off file:line" or "name+off (public)" or ""
	}{
		{0xc184, "nsQueryInterfaceWithError::operator()(nsID const&, void**) const+0x0 /home/jimb/mc/in/xpcom/glue/nsCOMPtr.h:59"},
		{0xc18a, "nsQueryInterfaceWithError::operator()(nsID const&, void**) const+0x6 /home/jimb/mc/in/xpcom/glue/nsCOMPtr.h:59"},
		{0xc18b, "nsQueryInterfaceWithError::operator()(nsID const&, void**) const+0x7 /home/jimb/mc/in/xpcom/glue/nsCOMPtr.h:60"},
		{0xc1b3, "nsQueryInterfaceWithError::operator()(nsID const&, void**) const+0x2f /home/jimb/mc/in/browser/app/nsBrowserApp.cpp:61"},
		{0xc1b4, ""}, // past the FUNC, whose start lies between the public and the address: nothing (Breakpad's LookupAddress)
		{0x2160, "Public2_1+0x0 (public)"},
		{0x215f, ""},
		{0xd010, "Public at d000+0x10 (public)"},
	}
	for _, tt := range tests {
		s, ok := f.Lookup(tt.rva)
		got := ""
		if ok {
			got = s.Name + "+0x" + strconv.FormatUint(s.Offset, 16)
			switch {
			case s.Public:
				got += " (public)"
			case s.HasLine:
				got += " " + s.Line.File + ":" + itoa(s.Line.Line)
			}
		}
		if got != tt.want {
			t.Errorf("Lookup(%#x) = %q, want %q", tt.rva, got, tt.want)
		}
	}
	fn, _ := f.FuncAt(0xc184)
	if !fn.Multiple || fn.NumLines() != 3 {
		t.Errorf("FUNC m: %+v", fn)
	}
	if p, _ := f.PublicAt(0x2160); !p.Multiple {
		t.Errorf("PUBLIC m lost")
	}
	// The inline chain at c195: origin 2 at depth 0 (called from line 10 of
	// FILE 2), origin 4 at depth 1 (line 12 of FILE 4).
	in := f.InlinesAt(0xc195)
	if len(in) != 2 || in[0].Name != "nsQueryInterfaceWithError::operator()(nsID const&, void**) const" || in[0].CallLine != 10 ||
		in[0].CallFile != "/home/jimb/mc/in/browser/app/nsBrowserApp.cpp" || in[1].Name != "inner()" || in[1].CallLine != 12 {
		t.Errorf("inlines at c195: %+v", in)
	}
	if in := f.InlinesAt(0xc191); len(in) != 1 {
		t.Errorf("inlines at c191: %+v", in)
	}
	w, ok := f.WinFrameAt(0x2183)
	if !ok || w.Type != WinFrameFrameData || w.RVA != 0x2170 || w.CodeSize != 0x14 || w.PrologSize != 1 || w.Program != "$eip 4 + ^ = $esp $ebp 8 + = $ebp $ebp ^ =" {
		t.Errorf("STACK WIN: %+v %v", w, ok)
	}
	if _, ok := f.WinFrameAt(0x2184); ok {
		t.Errorf("STACK WIN past its range")
	}
}

func itoa(v uint32) string { return strconv.FormatUint(uint64(v), 10) }

// TestCFIDocTable checks CFIRulesAt against the worked example of
// symbol_files.md: the STACK CFI records for "func" at 0x1000 and the full
// rule table the document gives for them, row by row.
func TestCFIDocTable(t *testing.T) {
	f := mustParse(t, `MODULE Linux x86 0 func
STACK CFI INIT 1000 17 .cfa: $sp .ra: .cfa ^
STACK CFI 1001 .cfa: $sp 16 +
STACK CFI 1002 $r0: .cfa 4 - ^
STACK CFI 100b .cfa: $sp 20 +
STACK CFI 1015 $r0: $r0
STACK CFI 1016 .cfa: $sp
`)
	// The document's table: code address -> .cfa, r0, .ra ("" = no rule).
	// Its r0 at func+21 reads "r0": the callee's own value, written $r0.
	rows := []struct {
		addr        uint64
		cfa, r0, ra string
	}{
		{0x1000, "$sp", "", ".cfa ^"},
		{0x1001, "$sp 16 +", "", ".cfa ^"},
		{0x1002, "$sp 16 +", ".cfa 4 - ^", ".cfa ^"},
		{0x100a, "$sp 16 +", ".cfa 4 - ^", ".cfa ^"},
		{0x100b, "$sp 20 +", ".cfa 4 - ^", ".cfa ^"},
		{0x1015, "$sp 20 +", "$r0", ".cfa ^"},
		{0x1016, "$sp", "$r0", ".cfa ^"},
	}
	for _, r := range rows {
		rules, err := f.CFIRulesAt(r.addr)
		if err != nil {
			t.Fatalf("%#x: %v", r.addr, err)
		}
		r0, _ := rules.Rule("$r0")
		if rules.CFA != r.cfa || r0 != r.r0 || rules.RA != r.ra {
			t.Errorf("%#x: cfa %q r0 %q ra %q; want %q %q %q", r.addr, rules.CFA, r0, rules.RA, r.cfa, r.r0, r.ra)
		}
	}
	for _, a := range []uint64{0xfff, 0x1017} {
		if _, err := f.CFIRulesAt(a); err == nil {
			t.Errorf("%#x: rules outside the INIT range", a)
		}
	}
	// Unwinding at func+2 with sp = 0x100: CFA = 0x110, r0 at 0x10c,
	// return address at 0x110 (the document's "cfa[0]").
	mem := mapMemory{}
	mem.put32(0x10c, 0xaaaa)
	mem.put32(0x110, 0x4321)
	rules, _ := f.CFIRulesAt(0x1002)
	got, err := rules.FindCallerRegs(Registers{"$sp": 0x100, "$r0": 7}, mem, 4)
	if err != nil || got[".cfa"] != 0x110 || got[".ra"] != 0x4321 || got["$r0"] != 0xaaaa {
		t.Errorf("FindCallerRegs = %v, %v", got, err)
	}
}

func TestMalformedLines(t *testing.T) {
	if _, err := Parse([]byte("FUNC 1 2 3 x\n")); err != ErrNotSymbolFile {
		t.Errorf("no MODULE: %v", err)
	}
	if _, err := Parse(nil); err != ErrNotSymbolFile {
		t.Errorf("empty: %v", err)
	}
	f := mustParse(t, "MODULE windows x86 ABC a.pdb\r\n"+
		"FUNC zz 10 0 bad\n"+ // bad number
		"10 4 1 0\n"+ // line without a FUNC (the bad one was dropped)
		"FUNC 10 10 0 good\r\n"+
		"10 4 1 -1\n"+ // negative file
		"10 4 x 0\n"+ // bad line number
		"PUBLIC 20\n"+ // too few fields
		"STACK WIN 4 10 10 0 0 0 0 0 0 1\n"+ // no program
		"STACK WIN 9 10 10 0 0 0 0 0 0 0 0\n"+ // bad type
		"STACK CFI 10 .cfa: $esp\n"+ // delta without INIT
		"STACK CFI INIT 10 10 .cfa:\n"+ // parses; the rule set is bad
		"INLINE 0 1\n"+ // too short
		"STACK FOO\n"+
		"SOMETHING NEW is not an error\n")
	if f.BadLines != 10 || len(f.Errors) != 10 {
		t.Errorf("BadLines = %d: %q", f.BadLines, f.Errors)
	}
	if fn, ok := f.FuncAt(0x12); !ok || fn.Name != "good" || fn.NumLines() != 0 {
		t.Errorf("good FUNC: %+v %v", fn, ok)
	}
	if _, err := f.CFIRulesAt(0x10); err == nil {
		t.Errorf("malformed CFI rule set accepted")
	}
	long := "MODULE a b c d\nFUNC 0 1 0 " + strings.Repeat("x", MaxLineLength) + "\n"
	if f := mustParse(t, long); f.BadLines != 1 || len(f.Funcs()) != 0 {
		t.Errorf("overlong line: %d bad", f.BadLines)
	}
}

func TestParamSizeAt(t *testing.T) {
	f := mustParse(t, `MODULE windows x86 0 a.pdb
FUNC 1000 20 c f
STACK WIN 4 1000 10 0 0 8 0 0 0 1 $T0 .raSearch = $eip $T0 ^ = $esp $T0 4 + =
PUBLIC 2000 4 g
`)
	for _, tt := range []struct {
		rva  uint64
		want uint32
		ok   bool
	}{{0x1005, 8, true}, {0x1015, 0xc, true}, {0x2005, 4, true}, {0x500, 0, false}} {
		if got, ok := f.ParamSizeAt(tt.rva); got != tt.want || ok != tt.ok {
			t.Errorf("ParamSizeAt(%#x) = %d, %v", tt.rva, got, ok)
		}
	}
}
