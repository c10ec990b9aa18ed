package pe

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/dumpmap/dumpmap/analysis/internal/sharedtest"
)

const unwindDir = "testdata/unwind"

// rfBlock is one RuntimeFunction block of llvm-readobj --unwind: its "Key: value"
// lines and its listed codes (prologue, and each epilogue scope's opcodes).
type rfBlock struct {
	fields   map[string]string
	codes    []string   // x64 UnwindCodes lines, or ARM64 Prologue lines
	epilogs  [][]string // ARM64 epilogue scope opcodes, or the single Epilogue
	chained  map[string]string
	scopeIdx []string // EpilogueStartIndex per scope
	scopeOff []string // StartOffset per scope
}

// parseReadobjUnwind splits llvm-readobj --unwind output into RuntimeFunction
// blocks. It knows the output's shape only: nested "Name {" / "Name [" blocks with
// "Key: value" lines.
func parseReadobjUnwind(t *testing.T, path string) []*rfBlock {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out []*rfBlock
	var cur *rfBlock
	var stack []string
	kv := regexp.MustCompile(`^\s*([A-Za-z]+): (.*)$`)
	for _, line := range strings.Split(string(data), "\n") {
		s := strings.TrimSpace(line)
		switch {
		case s == "RuntimeFunction {":
			cur = &rfBlock{fields: map[string]string{}, chained: map[string]string{}}
			out = append(out, cur)
			stack = []string{"RuntimeFunction"}
			continue
		case cur == nil:
			continue
		case strings.HasPrefix(s, "Flags ["): // "Flags [ (0x3)" then one line per flag
			cur.fields["Flags"] = strings.TrimPrefix(s, "Flags [")
			stack = append(stack, "Flags")
			continue
		case strings.HasSuffix(s, "{") || strings.HasSuffix(s, "["):
			name := strings.TrimSpace(strings.TrimRight(s, "{["))
			if name == "Opcodes" || name == "Epilogue" {
				cur.epilogs = append(cur.epilogs, nil)
			}
			stack = append(stack, name)
			continue
		case s == "}" || s == "]":
			if len(stack) > 0 {
				stack = stack[:len(stack)-1]
			}
			continue
		}
		if len(stack) == 0 {
			continue
		}
		top := stack[len(stack)-1]
		switch top {
		case "UnwindCodes", "Prologue":
			cur.codes = append(cur.codes, s)
			continue
		case "Opcodes", "Epilogue":
			cur.epilogs[len(cur.epilogs)-1] = append(cur.epilogs[len(cur.epilogs)-1], s)
			continue
		}
		m := kv.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		switch top {
		case "Chained":
			cur.chained[m[1]] = m[2]
		case "EpilogueScope":
			if m[1] == "StartOffset" {
				cur.scopeOff = append(cur.scopeOff, m[2])
			} else if m[1] == "EpilogueStartIndex" {
				cur.scopeIdx = append(cur.scopeIdx, m[2])
			}
		default:
			if _, dup := cur.fields[m[1]]; !dup {
				cur.fields[m[1]] = m[2]
			}
		}
	}
	return out
}

// num parses "0x1A", "26", "(0x180001001)", "RBP (0x5)", "0x2" and the like.
func num(t *testing.T, s string) uint64 {
	t.Helper()
	s = strings.Trim(s, "()")
	if i := strings.LastIndex(s, "("); i >= 0 {
		s = strings.Trim(s[i:], "()")
	}
	v, err := strconv.ParseUint(strings.TrimSpace(s), 0, 64)
	if err != nil {
		t.Fatalf("not a number: %q", s)
	}
	return v
}

// loadImage opens a test image in the file layout or, mapped=true, as the loader
// would map it.
func loadImage(t *testing.T, path string, mapped bool) *File {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if mapped {
		img := mapImage(t, b)
		f, err := NewMapped(bytes.NewReader(img), int64(len(img)))
		if err != nil {
			t.Fatal(err)
		}
		return f
	}
	f, err := New(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// readobjX64Code renders a decoded code the way llvm-readobj prints it.
func readobjX64Code(u *UnwindInfo, c UnwindCode) string {
	reg := strings.ToUpper(X64RegName(c.OpInfo))
	switch c.Op {
	case UwopPushNonvol:
		return fmt.Sprintf("0x%02X: PUSH_NONVOL reg=%s", c.CodeOffset, reg)
	case UwopAllocLarge:
		return fmt.Sprintf("0x%02X: ALLOC_LARGE size=%d", c.CodeOffset, c.Value)
	case UwopAllocSmall:
		return fmt.Sprintf("0x%02X: ALLOC_SMALL size=%d", c.CodeOffset, c.Value)
	case UwopSaveNonvol:
		return fmt.Sprintf("0x%02X: SAVE_NONVOL reg=%s, offset=0x%X", c.CodeOffset, reg, c.Value)
	case UwopSaveNonvolFar:
		return fmt.Sprintf("0x%02X: SAVE_NONVOL_FAR reg=%s, offset=0x%X", c.CodeOffset, reg, c.Value)
	case UwopSaveXMM128:
		return fmt.Sprintf("0x%02X: SAVE_XMM128 reg=XMM%d, offset=0x%X", c.CodeOffset, c.OpInfo, c.Value)
	case UwopSaveXMM128Far:
		return fmt.Sprintf("0x%02X: SAVE_XMM128_FAR reg=XMM%d, offset=0x%X", c.CodeOffset, c.OpInfo, c.Value)
	case UwopSetFPReg:
		return fmt.Sprintf("0x%02X: SET_FPREG reg=%s, offset=0x%X", c.CodeOffset, strings.ToUpper(X64RegName(u.FrameRegister)), u.FrameOffset)
	case UwopPushMachFrame:
		yes := "no"
		if c.OpInfo == 1 {
			yes = "yes"
		}
		return fmt.Sprintf("0x%02X: PUSH_MACHFRAME errcode=%s", c.CodeOffset, yes)
	}
	return fmt.Sprintf("0x%02X: %v", c.CodeOffset, c.Op)
}

// TestUnwindInfoX64LLVM decodes the exception directory of an lld-built x64 DLL
// holding every kind of unwind code and compares it, entry by entry and code by
// code, with llvm-readobj --unwind, in both image layouts.
func TestUnwindInfoX64LLVM(t *testing.T) {
	t.Run("lld", func(t *testing.T) {
		testUnwindX64LLVM(t, unwindDir+"/unwind-x64.dll", unwindDir+"/unwind-x64.dll.llvm-readobj.txt", 9, 20)
	})
	// MSVC's output: CrashWithException.exe from the shared corpus, with handlers.
	t.Run("msvc", func(t *testing.T) {
		img := filepath.Join(sharedtest.Dir(t), "images", "CrashWithException.exe")
		testUnwindX64LLVM(t, img, unwindDir+"/CrashWithException.exe.llvm-readobj.txt", 41, 60)
	})
}

func testUnwindX64LLVM(t *testing.T, image, readobj string, minFuncs, minCodes int) {
	blocks := parseReadobjUnwind(t, readobj)
	if len(blocks) < minFuncs {
		t.Fatalf("readobj listed %d functions", len(blocks))
	}
	for _, mapped := range []bool{false, true} {
		f := loadImage(t, image, mapped)
		tab, err := f.ExceptionTable()
		if err != nil {
			t.Fatal(err)
		}
		if len(tab.Entries) != len(blocks) {
			t.Fatalf("mapped=%v: %d entries, readobj %d", mapped, len(tab.Entries), len(blocks))
		}
		codes := 0
		for i, b := range blocks {
			e := tab.Entries[i]
			for _, c := range []struct {
				key string
				got uint64
			}{{"StartAddress", f.ImageBase + uint64(e.Begin)}, {"EndAddress", f.ImageBase + uint64(e.End)},
				{"UnwindInfoAddress", f.ImageBase + uint64(e.UnwindData)}} {
				if w := num(t, b.fields[c.key]); w != c.got {
					t.Errorf("entry %d %s = %#x, readobj %#x", i, c.key, c.got, w)
				}
			}
			u, err := f.UnwindInfo(e.UnwindData)
			if err != nil {
				t.Fatalf("entry %d: %v", i, err)
			}
			if w := num(t, b.fields["Version"]); uint64(u.Version) != w {
				t.Errorf("entry %d version %d, readobj %d", i, u.Version, w)
			}
			if w := num(t, b.fields["Flags"]); uint64(u.Flags) != w {
				t.Errorf("entry %d flags %#x, readobj %#x", i, u.Flags, w)
			}
			if w := num(t, b.fields["PrologSize"]); uint64(u.PrologSize) != w {
				t.Errorf("entry %d prolog %d, readobj %d", i, u.PrologSize, w)
			}
			if fr := b.fields["FrameRegister"]; fr != "-" {
				if w := num(t, fr); uint64(u.FrameRegister) != w || uint64(u.FrameOffset) != 16*num(t, b.fields["FrameOffset"]) {
					t.Errorf("entry %d frame register %d+%#x, readobj %s %s", i, u.FrameRegister, u.FrameOffset, fr, b.fields["FrameOffset"])
				}
			} else if u.FrameRegister != 0 {
				t.Errorf("entry %d frame register %d, readobj none", i, u.FrameRegister)
			}
			var got []string
			for _, c := range u.Codes {
				got = append(got, readobjX64Code(u, c))
			}
			if strings.Join(got, "\n") != strings.Join(b.codes, "\n") {
				t.Errorf("entry %d codes:\n%s\nreadobj:\n%s", i, strings.Join(got, "\n"), strings.Join(b.codes, "\n"))
			}
			codes += len(got)
			if len(b.chained) > 0 {
				if u.Chained == nil || f.ImageBase+uint64(u.Chained.Begin) != num(t, b.chained["StartAddress"]) ||
					f.ImageBase+uint64(u.Chained.UnwindData) != num(t, b.chained["UnwindInfoAddress"]) {
					t.Errorf("entry %d chained %+v, readobj %v", i, u.Chained, b.chained)
				}
			} else if u.Chained != nil {
				t.Errorf("entry %d chained, readobj says not", i)
			}
			if h, ok := b.fields["Handler"]; ok {
				if f.ImageBase+uint64(u.Handler) != num(t, h) || u.HandlerData != e.UnwindData+uint32(u.Size) {
					t.Errorf("entry %d handler %#x data %#x, readobj %s", i, u.Handler, u.HandlerData, h)
				}
			}
		}
		if codes < minCodes {
			t.Errorf("only %d codes compared", codes)
		}
	}
}

// TestExceptionTableLookup checks lookups against the entries llvm-readobj lists:
// the first and last byte of each function, the gaps between them (leaf code such
// as callee, which has no entry), and the chained fragment LLVM places inside its
// primary's range.
func TestExceptionTableLookup(t *testing.T) {
	blocks := parseReadobjUnwind(t, unwindDir+"/unwind-x64.dll.llvm-readobj.txt")
	f := loadImage(t, unwindDir+"/unwind-x64.dll", false)
	tab, err := f.ExceptionTable()
	if err != nil {
		t.Fatal(err)
	}
	base := f.ImageBase
	// want: the entry (by start address) covering each probe, per readobj's ranges,
	// preferring the innermost (latest-starting) range.
	type rng struct{ lo, hi uint64 }
	var rs []rng
	for _, b := range blocks {
		rs = append(rs, rng{num(t, b.fields["StartAddress"]) - base, num(t, b.fields["EndAddress"]) - base})
	}
	want := func(rva uint64) (uint64, bool) {
		best, ok := uint64(0), false
		for _, r := range rs {
			if rva >= r.lo && rva < r.hi && (!ok || r.lo > best) {
				best, ok = r.lo, true
			}
		}
		return best, ok
	}
	var probes []uint64
	for _, r := range rs {
		probes = append(probes, r.lo-1, r.lo, r.lo+1, r.hi-1, r.hi)
	}
	probes = append(probes, 0, 0x1000, 0xffffffff)
	for _, p := range probes {
		fn, _, ok, err := tab.Lookup(uint32(p))
		if err != nil {
			t.Fatal(err)
		}
		w, wok := want(p)
		if ok != wok || (ok && uint64(fn.Begin) != w) {
			t.Errorf("Lookup(%#x) = %#x %v, want %#x %v", p, fn.Begin, ok, w, wok)
		}
	}
	if !tab.Sorted() {
		t.Error("table reported unsorted")
	}
}

// TestUnwindInfoX64Synthetic covers what lld's output does not: version 2 epilog
// descriptions and malformed structures.
func TestUnwindInfoX64Synthetic(t *testing.T) {
	code := func(off uint8, op UnwindOp, info uint8) []byte { return []byte{off, byte(op) | info<<4} }
	slot := func(v uint16) []byte { return binary.LittleEndian.AppendUint16(nil, v) }
	build := func(version, flags, prolog uint8, frame uint8, parts ...[]byte) []byte {
		var codes []byte
		for _, p := range parts {
			codes = append(codes, p...)
		}
		n := len(codes) / 2
		b := []byte{version | flags<<3, prolog, byte(n), frame}
		b = append(b, codes...)
		if n%2 == 1 {
			b = append(b, 0, 0)
		}
		return b
	}
	// Version 2: epilog size 3 with one at the end, another 0x123 bytes before
	// the end, a padding descriptor; then push rbx; sub rsp, 0x20.
	v2 := build(2, 0, 5, 0, code(3, UwopEpilog, 1), code(0x23, UwopEpilog, 1), code(0, UwopEpilog, 0),
		code(5, UwopAllocSmall, 3), code(1, UwopPushNonvol, 3))
	u, err := DecodeUnwindInfo(v2)
	if err != nil {
		t.Fatal(err)
	}
	if u.EpilogSize != 3 || !u.EpilogAtEnd || len(u.EpilogOffsets) != 1 || u.EpilogOffsets[0] != 0x123 {
		t.Errorf("epilogs: size %d at end %v offsets %#x", u.EpilogSize, u.EpilogAtEnd, u.EpilogOffsets)
	}
	if len(u.Codes) != 2 || u.Codes[0].Op != UwopAllocSmall || u.Codes[0].Value != 0x20 || u.Codes[1].OpInfo != 3 {
		t.Errorf("codes %v", u.Codes)
	}
	// In version 1, code 6 has no meaning.
	if _, err := DecodeUnwindInfo(build(1, 0, 5, 0, code(3, UwopEpilog, 1))); err == nil {
		t.Error("UWOP_EPILOG accepted in version 1")
	}
	for _, tc := range []struct {
		name string
		b    []byte
		msg  string
	}{
		{"short header", []byte{1, 0}, "header"},
		{"version 3", build(3, 0, 0, 0), "version 3"},
		{"codes cut", []byte{1, 0, 4, 0, 1, 0}, "shorter than its 4 codes"},
		{"alloc large info 2", build(1, 0, 4, 0, code(4, UwopAllocLarge, 2), slot(1), slot(0)), "operation info 2"},
		{"alloc large cut", build(1, 0, 4, 0, code(4, UwopAllocLarge, 1), slot(1)), "needs 3 slots"},
		{"save cut", build(1, 0, 4, 0, code(4, UwopSaveNonvol, 3)), "needs 2 slots"},
		{"machframe info 2", build(1, 0, 0, 0, code(0, UwopPushMachFrame, 2)), "operation info 2"},
		{"spare", build(1, 0, 0, 0, code(0, UwopSpareCode, 0), slot(0)), "UWOP_SPARE_CODE"},
		{"code 11", build(1, 0, 0, 0, code(0, 11, 0)), "UWOP(11)"},
		{"chain cut", build(1, UnwindFlagChainInfo, 0, 0), "chained"},
		{"handler cut", build(1, UnwindFlagEHandler, 0, 0), "handler"},
	} {
		_, err := DecodeUnwindInfo(tc.b)
		var fe *FormatError
		if !errors.As(err, &fe) || !strings.Contains(fe.Msg, tc.msg) {
			t.Errorf("%s: %v, want a FormatError saying %q", tc.name, err, tc.msg)
		}
	}
	// Every code's value, scaled as the documentation says.
	u, err = DecodeUnwindInfo(append(build(1, UnwindFlagChainInfo, 9, 0x35,
		code(9, UwopSaveXMM128, 6), slot(3), code(8, UwopSaveNonvol, 12), slot(5),
		code(7, UwopAllocLarge, 0), slot(0x10), code(6, UwopSetFPReg, 0)),
		1, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0))
	if err != nil {
		t.Fatal(err)
	}
	if u.FrameRegister != 5 || u.FrameOffset != 0x30 || u.Codes[0].Value != 0x30 || u.Codes[1].Value != 0x28 ||
		u.Codes[2].Value != 0x80 || u.Chained == nil || *u.Chained != (RuntimeFunction{1, 2, 3}) || u.Size != 4+8*2+12 {
		t.Errorf("decoded %+v chained %+v", u, u.Chained)
	}
}
