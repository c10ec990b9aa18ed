package pe

import (
	"fmt"
	"regexp"
	"strings"
	"testing"
)

// arm64Insn renders a code as the prolog instruction it stands for, in the
// spelling normalizeReadobj gives llvm-readobj's listings.
func arm64Insn(c ARM64Code) string {
	reg := func(r uint8) string {
		switch {
		case c.File == ARM64RegD:
			return fmt.Sprintf("d%d", r)
		case c.File == ARM64RegQ:
			return fmt.Sprintf("q%d", r)
		case r == 30:
			return "lr"
		}
		return fmt.Sprintf("x%d", r)
	}
	switch c.Op {
	case ARM64Alloc:
		return fmt.Sprintf("sub sp, #%d", c.Size)
	case ARM64SetFP:
		return "mov x29, sp"
	case ARM64AddFP:
		return fmt.Sprintf("add x29, sp, #%d", c.Size)
	case ARM64Nop:
		return "nop"
	case ARM64End:
		return "end"
	case ARM64EndC:
		return "end_c"
	case ARM64SaveNext:
		return "save next"
	case ARM64MachineFrame:
		return "machine frame"
	case ARM64Context:
		return "context"
	case ARM64SaveRegs, ARM64SaveLRPair:
		regs := reg(c.Reg)
		op := "str"
		if c.Op == ARM64SaveLRPair {
			regs, op = regs+", lr", "stp"
		} else if c.Pair {
			regs, op = regs+", "+reg(c.Reg+1), "stp"
		}
		if c.Writeback {
			return fmt.Sprintf("%s %s, [sp, #-%d]!", op, regs, c.Offset)
		}
		return fmt.Sprintf("%s %s, [sp, #%d]", op, regs, c.Offset)
	}
	return c.Op.String()
}

var (
	reFP       = regexp.MustCompile(`\bfp\b`)
	reX30      = regexp.MustCompile(`\bx30\b`)
	rePost     = regexp.MustCompile(`\[sp\], #(\d+)`)
	reSubSPSP  = regexp.MustCompile(`^sub sp, sp, #`)
	reSubSPFP  = regexp.MustCompile(`^sub sp, x29, #(\d+)`)
	reReadobjX = regexp.MustCompile(`^0x[0-9a-f]+\s+; `)
)

// normalizeReadobj rewrites one of llvm-readobj's code lines (prolog or epilog,
// packed or .xdata spelling) as the prolog instruction arm64Insn writes.
func normalizeReadobj(s string) string {
	s = reReadobjX.ReplaceAllString(strings.TrimSpace(s), "")
	s = reFP.ReplaceAllString(s, "x29")
	s = reX30.ReplaceAllString(s, "lr")
	s = reSubSPSP.ReplaceAllString(s, "sub sp, #")
	s = rePost.ReplaceAllString(s, "[sp, #-$1]!")
	s = reSubSPFP.ReplaceAllString(s, "add x29, sp, #$1")
	switch {
	case strings.HasPrefix(s, "add sp, #"):
		s = "sub" + s[3:]
	case strings.HasPrefix(s, "ldp "):
		s = "stp" + s[3:]
	case strings.HasPrefix(s, "ldr "):
		s = "str" + s[3:]
	case s == "mov sp, x29":
		s = "mov x29, sp"
	case s == "restore next":
		s = "save next"
	}
	return s
}

func insns(cs []ARM64Code) string {
	var out []string
	for _, c := range cs {
		out = append(out, arm64Insn(c))
	}
	return strings.Join(out, "; ")
}

// TestARM64UnwindLLVM decodes the .pdata and .xdata of an lld-built ARM64 DLL
// (packed and full unwind data, epilog scopes, every kind of save) and compares
// them with llvm-readobj --unwind: the header fields, the epilog scopes, and each
// code sequence, which for packed entries is LLVM's own expansion of the packed
// fields, against ours.
func TestARM64UnwindLLVM(t *testing.T) {
	blocks := parseReadobjUnwind(t, unwindDir+"/unwind-arm64.dll.llvm-readobj.txt")
	for _, mapped := range []bool{false, true} {
		f := loadImage(t, unwindDir+"/unwind-arm64.dll", mapped)
		tab, err := f.ExceptionTable()
		if err != nil {
			t.Fatal(err)
		}
		if len(tab.Entries) != len(blocks) || len(blocks) < 9 {
			t.Fatalf("%d entries, readobj %d", len(tab.Entries), len(blocks))
		}
		packed, seqs := 0, 0
		for i, b := range blocks {
			e := tab.Entries[i]
			if w := num(t, b.fields["Function"]); f.ImageBase+uint64(e.Begin) != w {
				t.Errorf("entry %d starts at %#x, readobj %#x", i, f.ImageBase+uint64(e.Begin), w)
			}
			u, err := f.ARM64Unwind(e)
			if err != nil {
				t.Fatalf("entry %d: %v", i, err)
			}
			if w := num(t, b.fields["FunctionLength"]); uint64(u.FunctionLength) != w {
				t.Errorf("entry %d length %d, readobj %d", i, u.FunctionLength, w)
			}
			var want []string
			for _, c := range b.codes {
				want = append(want, normalizeReadobj(c))
			}
			if u.Packed {
				packed++
				for k, v := range map[string]uint64{"RegF": uint64(u.RegF), "RegI": uint64(u.RegI), "CR": uint64(u.CR), "FrameSize": uint64(u.FrameSize)} {
					if w := num(t, b.fields[k]); w != v {
						t.Errorf("entry %d %s = %d, readobj %d", i, k, v, w)
					}
				}
				if (b.fields["HomedParameters"] == "Yes") != u.H || (b.fields["Fragment"] == "Yes") != (u.Flag == 2) {
					t.Errorf("entry %d H %v flag %d, readobj %v", i, u.H, u.Flag, b.fields)
				}
				// Packed data is unwound from the body (the instruction after the
				// prolog, one instruction per code) with the prolog's codes.
				cs, inP, inE, err := u.UnwindCodes(4 * uint32(len(want)-1))
				if err != nil || inP || inE {
					t.Fatalf("entry %d: %v %v %v", i, err, inP, inE)
				}
				if got := insns(cs); got != strings.Join(want, "; ") {
					t.Errorf("entry %d packed expansion\n got %s\nwant %s", i, got, strings.Join(want, "; "))
				}
				seqs++
				continue
			}
			if w := num(t, b.fields["ExceptionRecord"]); f.ImageBase+uint64(e.UnwindData) != w {
				t.Errorf("entry %d .xdata at %#x, readobj %#x", i, e.UnwindData, w)
			}
			if (b.fields["EpiloguePacked"] == "Yes") != u.EpilogInHeader || uint64(len(u.Codes)) != num(t, b.fields["ByteCodeLength"]) {
				t.Errorf("entry %d E %v, %d code bytes; readobj %v", i, u.EpilogInHeader, len(u.Codes), b.fields)
			}
			prolog, err := DecodeARM64Codes(u.Codes)
			if err != nil {
				t.Fatalf("entry %d: %v", i, err)
			}
			if got := insns(prolog); got != strings.Join(want, "; ") {
				t.Errorf("entry %d prolog\n got %s\nwant %s", i, got, strings.Join(want, "; "))
			}
			seqs++
			if u.EpilogInHeader {
				if w := num(t, b.fields["EpilogueOffset"]); uint64(u.Epilogs[0].Index) != w {
					t.Errorf("entry %d epilog index %d, readobj %d", i, u.Epilogs[0].Index, w)
				}
			} else {
				if len(u.Epilogs) != len(b.scopeOff) {
					t.Fatalf("entry %d: %d epilogs, readobj %d", i, len(u.Epilogs), len(b.scopeOff))
				}
				for k, ep := range u.Epilogs {
					if uint64(ep.Start) != 4*num(t, b.scopeOff[k]) || uint64(ep.Index) != num(t, b.scopeIdx[k]) {
						t.Errorf("entry %d epilog %d at %#x index %d, readobj %s %s", i, k, ep.Start, ep.Index, b.scopeOff[k], b.scopeIdx[k])
					}
				}
			}
			for k, ep := range b.epilogs {
				idx := u.Epilogs[min(k, len(u.Epilogs)-1)].Index
				cs, err := DecodeARM64Codes(u.Codes[idx:])
				if err != nil {
					t.Fatal(err)
				}
				var w []string
				for _, c := range ep {
					w = append(w, normalizeReadobj(c))
				}
				if got := insns(cs); got != strings.Join(w, "; ") {
					t.Errorf("entry %d epilog %d\n got %s\nwant %s", i, k, got, strings.Join(w, "; "))
				}
				seqs++
			}
		}
		if packed < 3 || seqs < 14 {
			t.Errorf("compared %d packed entries and %d sequences", packed, seqs)
		}
	}
}

// TestARM64UnwindCodesPosition picks the codes for every instruction of a_full
// (entry 4 of the test DLL) and of a packed function, as the partial prolog and
// epilog rules of "ARM64 exception handling" require. The expectations follow
// the instructions of unwind-arm64.s.
func TestARM64UnwindCodesPosition(t *testing.T) {
	f := loadImage(t, unwindDir+"/unwind-arm64.dll", false)
	tab, err := f.ExceptionTable()
	if err != nil {
		t.Fatal(err)
	}
	full := "sub sp, #4096; add x29, sp, #48; stp x29, lr, [sp, #48]; str d8, [sp, #40]; str x23, [sp, #32]; save next; stp x19, x20, [sp, #-80]!; end"
	all := "nop; " + full
	cases := []struct {
		entry  int
		offset uint32
		want   string
		p, e   bool
	}{
		// a_full's prolog: 8 instructions at 0-28.
		{4, 0, "end", true, false},
		{4, 4, "stp x19, x20, [sp, #-80]!; end", true, false},
		{4, 8, "save next; stp x19, x20, [sp, #-80]!; end", true, false},
		{4, 28, full, true, false},
		// The body.
		{4, 32, all, false, false},
		{4, 36, all, false, false},
		// First epilog at 40: add sp; ldp x29; ldr d8; ldr x23; ldp x21; ldp x19; ret at 64.
		{4, 40, "sub sp, #4096; stp x29, lr, [sp, #48]; str d8, [sp, #40]; str x23, [sp, #32]; save next; stp x19, x20, [sp, #-80]!; end", false, true},
		{4, 44, "stp x29, lr, [sp, #48]; str d8, [sp, #40]; str x23, [sp, #32]; save next; stp x19, x20, [sp, #-80]!; end", false, true},
		{4, 60, "stp x19, x20, [sp, #-80]!; end", false, true},
		{4, 64, "end", false, true},
		// Between the epilogs: body again.
		{4, 68, all, false, false},
		// Second epilog at 72, starting with sub sp, x29, #48.
		{4, 72, "add x29, sp, #48; stp x29, lr, [sp, #48]; str d8, [sp, #40]; str x23, [sp, #32]; save next; stp x19, x20, [sp, #-80]!; end", false, true},
		{4, 96, "end", false, true},
		// a_regs, packed (entry 1): stp x19,x20 pre; str x21; stp x29,lr pre; mov x29,sp;
		// bl at 16; epilog ldp x29,lr; ldr x21; ldp x19,x20; ret at 20-32.
		{1, 0, "end", true, false},
		{1, 8, "str x21, [sp, #16]; stp x19, x20, [sp, #-32]!; end", true, false},
		{1, 16, "mov x29, sp; stp x29, lr, [sp, #-32]!; str x21, [sp, #16]; stp x19, x20, [sp, #-32]!; end", false, false},
		{1, 20, "stp x29, lr, [sp, #-32]!; str x21, [sp, #16]; stp x19, x20, [sp, #-32]!; end", false, true},
		{1, 28, "stp x19, x20, [sp, #-32]!; end", false, true},
		{1, 32, "end", false, true},
		// a_lrpair (entry 6), one epilog in the header sharing the prolog's codes:
		// 4 prolog instructions, bl at 16, epilog at 20-36.
		{6, 4, "sub sp, #64; end", true, false},
		{6, 16, "stp d12, d13, [sp, #48]; stp x21, x22, [sp, #32]; stp x19, lr, [sp, #16]; sub sp, #64; end", false, false},
		{6, 24, "stp x21, x22, [sp, #32]; stp x19, lr, [sp, #16]; sub sp, #64; end", false, true},
		{6, 36, "end", false, true},
	}
	for _, c := range cases {
		u, err := f.ARM64Unwind(tab.Entries[c.entry])
		if err != nil {
			t.Fatal(err)
		}
		cs, p, e, err := u.UnwindCodes(c.offset)
		if err != nil {
			t.Fatal(err)
		}
		if got := insns(cs); got != c.want || p != c.p || e != c.e {
			t.Errorf("entry %d offset %d: prolog %v epilog %v\n got %s\nwant %s", c.entry, c.offset, p, e, got, c.want)
		}
	}
}

// TestARM64DocExamples decodes the examples of "ARM64 exception handling"
// (Microsoft C++ documentation, "Examples" section).
func TestARM64DocExamples(t *testing.T) {
	// Example 1: packed 0x416101ed: Flag 1, FunctionLength 492, RegF 0, RegI 1, H 0,
	// CR 3 (chained), FrameSize 2080; the prolog str x19,[sp,#-16]!; sub sp,#0x810;
	// stp fp,lr,[sp]; mov fp,sp.
	u, err := DecodeARM64Packed(0x416101ed)
	if err != nil {
		t.Fatal(err)
	}
	if u.Flag != 1 || u.FunctionLength != 492 || u.RegF != 0 || u.RegI != 1 || u.H || u.CR != 3 || u.FrameSize != 2080 {
		t.Errorf("example 1 decoded %+v", u)
	}
	cs, _, _, _ := u.UnwindCodes(100)
	if got, want := insns(cs), "mov x29, sp; stp x29, lr, [sp, #0]; sub sp, #2064; str x19, [sp, #-16]!; end"; got != want {
		t.Errorf("example 1 codes\n got %s\nwant %s", got, want)
	}
	// Example 2: .xdata 0x1040003d 0x1000038 then codes e1 91 22 e4 twice: code words
	// 2, one epilog scope at offset 56 words... (the page's comment says index 0; the
	// encoded scope word says 4, the second copy).
	x := []byte{0x3d, 0x00, 0x40, 0x10, 0x38, 0x00, 0x00, 0x01, 0xe1, 0x91, 0x22, 0xe4, 0xe1, 0x91, 0x22, 0xe4}
	u, err = DecodeARM64Xdata(x)
	if err != nil {
		t.Fatal(err)
	}
	if u.FunctionLength != 4*0x3d || len(u.Epilogs) != 1 || u.Epilogs[0].Start != 4*0x38 || u.Epilogs[0].Index != 4 || len(u.Codes) != 8 {
		t.Errorf("example 2 decoded %+v", u)
	}
	cs, _ = DecodeARM64Codes(u.Codes)
	if got, want := insns(cs), "mov x29, sp; stp x29, lr, [sp, #-144]!; stp x19, x20, [sp, #-16]!; end"; got != want {
		t.Errorf("example 2 codes\n got %s\nwant %s", got, want)
	}
	// Example 3: 0x18400012 0x200000f e3e3e3e3 e40500d6 e40500d6 (bytes little-endian).
	x = []byte{0x12, 0x00, 0x40, 0x18, 0x0f, 0x00, 0x00, 0x02, 0xe3, 0xe3, 0xe3, 0xe3, 0xd6, 0x00, 0x05, 0xe4, 0xd6, 0x00, 0x05, 0xe4}
	u, err = DecodeARM64Xdata(x)
	if err != nil {
		t.Fatal(err)
	}
	cs, _ = DecodeARM64Codes(u.Codes)
	if got, want := insns(cs), "nop; nop; nop; nop; stp x19, lr, [sp, #0]; sub sp, #80; end"; got != want {
		t.Errorf("example 3 codes\n got %s\nwant %s", got, want)
	}
	if u.FunctionLength != 4*18 || u.Epilogs[0].Start != 4*15 || u.Epilogs[0].Index != 8 {
		t.Errorf("example 3 decoded %+v", u)
	}
	// In its prolog at the third homing stp, two nops are undone... and nothing else:
	// the codes for instructions 0-2 executed are the last three before end.
	cs, p, _, _ := u.UnwindCodes(12)
	if got := insns(cs); !p || got != "nop; stp x19, lr, [sp, #0]; sub sp, #80; end" {
		t.Errorf("example 3 at 12: %s (prolog %v)", got, p)
	}
}

// TestARM64CodeDecode covers each encoding once, with values from the code table
// of "ARM64 exception handling".
func TestARM64CodeDecode(t *testing.T) {
	for _, tc := range []struct {
		b    []byte
		want string
	}{
		{[]byte{0x1f}, "sub sp, #496"},
		{[]byte{0x3f}, "stp x19, x20, [sp, #-248]!"},
		{[]byte{0x7f}, "stp x29, lr, [sp, #504]"},
		{[]byte{0xbf}, "stp x29, lr, [sp, #-512]!"},
		{[]byte{0xc7, 0xff}, "sub sp, #32752"},
		{[]byte{0xc9, 0x41}, "stp x24, x25, [sp, #8]"},
		{[]byte{0xcd, 0x41}, "stp x24, x25, [sp, #-16]!"},
		{[]byte{0xd2, 0xc2}, "str lr, [sp, #16]"},
		{[]byte{0xd5, 0x3f}, "str x28, [sp, #-256]!"},
		{[]byte{0xd7, 0x42}, "stp x29, lr, [sp, #16]"},
		{[]byte{0xd9, 0xc1}, "stp d15, d16, [sp, #8]"},
		{[]byte{0xda, 0x00}, "stp d8, d9, [sp, #-8]!"}, {[]byte{0xdb, 0x00}, "stp d12, d13, [sp, #-8]!"},
		{[]byte{0xdd, 0xff}, "str d15, [sp, #504]"},
		{[]byte{0xde, 0xff}, "str d15, [sp, #-256]!"},
		{[]byte{0xe0, 0x01, 0x00, 0x00}, "sub sp, #1048576"},
		{[]byte{0xe2, 0x10}, "add x29, sp, #128"},
		{[]byte{0xe5}, "end_c"},
		{[]byte{0xe7, 0x49, 0x02}, "stp x9, x10, [sp, #32]"},
		{[]byte{0xe7, 0x09, 0x03}, "str x9, [sp, #24]"},
		{[]byte{0xe7, 0x66, 0x8a}, "stp q6, q7, [sp, #-176]!"},
		{[]byte{0xe7, 0x08, 0x42}, "str d8, [sp, #16]"},
		{[]byte{0xe8}, "trap_frame"},
		{[]byte{0xeb}, "ec_context"},
		{[]byte{0xec}, "clear_unwound_to_call"},
		{[]byte{0xfc}, "pac_sign_lr"},
	} {
		c, err := DecodeARM64Code(tc.b)
		if err != nil {
			t.Errorf("% x: %v", tc.b, err)
			continue
		}
		if got := arm64Insn(c); got != tc.want || int(c.Len) != len(tc.b) {
			t.Errorf("% x: %s (len %d), want %s", tc.b, got, c.Len, tc.want)
		}
	}
	for _, b := range [][]byte{{0xdf}, {0xed}, {0xf0}, {0xff}, {0xf9, 1}, {0xe0, 1}, {0xc8}, {0xe7, 0x80, 0}, {0xe7, 0, 0xc0}} {
		if c, err := DecodeARM64Code(b); err == nil {
			t.Errorf("% x decoded as %v", b, c)
		}
	}
}

func TestARM64PackedErrors(t *testing.T) {
	// Flag 0 and 3 are not packed; 11 integer registers is too many; a frame
	// smaller than its save area is impossible; a chained frame needs 16 bytes of
	// locals for the fp/lr pair.
	for _, w := range []uint32{0x416101ec, 0x416101ef, 0x416b01ed, 1 | 4<<16 | 1<<23, 1 | 2<<16 | 3<<21 | 1<<23} {
		if u, err := DecodeARM64Packed(w); err == nil {
			t.Errorf("%#x decoded: %+v", w, u)
		}
	}
	// A fragment (Flag 2) has no prolog or epilog: every offset unwinds fully.
	u, err := DecodeARM64Packed(2 | 10<<2 | 2<<16 | 3<<21 | 4<<23)
	if err != nil {
		t.Fatal(err)
	}
	for _, off := range []uint32{0, 4, 36} {
		cs, p, e, _ := u.UnwindCodes(off)
		if p || e || insns(cs) != "mov x29, sp; stp x29, lr, [sp, #-48]!; stp x19, x20, [sp, #-16]!; end" {
			t.Errorf("fragment at %d: %s %v %v", off, insns(cs), p, e)
		}
	}
}
