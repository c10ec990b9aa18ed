package pdb

import (
	"bufio"
	"compress/gzip"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/dumpmap/dumpmap/analysis/internal/sharedtest"
)

// c13PDBs are the PDBs with llvm-pdbutil oracles in testdata/llvm-pdbutil
// (made by gen.sh there): two MSVC PDBs of the shared corpus, the
// clang+lld fixture of the fixture lab and an lld x86 fixture.
var c13PDBs = []struct {
	name   string
	shared bool
	path   string
	// At least this many procedures, line entries, FPO and FrameData
	// records, so an oracle parse that finds nothing fails.
	procs, lines, fpo, fd int
}{
	{"crash", true, crashPDB, 100, 700, 2, 150},
	{"CrashWithException", true, "store/CrashWithException.pdb/F535C5FB2AE84BB8AA206C30BE566C5A1/CrashWithException.pdb", 100, 300, 0, 0},
	{"crtheap", false, "../../testdata/fixtures/dumps/crtheap.pdb", 30, 1000, 0, 0},
	{"fixture-x86", false, "../testdata/lld/fixture-x86.pdb", 4, 4, 0, 4},
}

func openC13(t *testing.T, shared bool, p string) *File {
	t.Helper()
	if shared {
		p = filepath.Join(sharedtest.Dir(t), p)
	}
	f, err := Open(p)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

func oracleLines(t *testing.T, name string) []string {
	t.Helper()
	fh, err := os.Open(filepath.Join("testdata/llvm-pdbutil", name))
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	zr, err := gzip.NewReader(fh)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	sc := bufio.NewScanner(zr)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		out = append(out, sc.Text())
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

var (
	reMod      = regexp.MustCompile("^\\s*Mod (\\d+) \\| `")
	reProc     = regexp.MustCompile("^\\s+(\\d+) \\| (S_[A-Z0-9_]+) \\[size = \\d+\\] `(.*)`$")
	reProcAddr = regexp.MustCompile(`addr = (\d+):(\d+), code size = (\d+)$`)
	reProcDbg  = regexp.MustCompile(`debug start = (\d+), debug end = (\d+), flags = (.*)$`)
	reThunk    = regexp.MustCompile(`^\s+kind = \w+, size = (\d+), addr = (\d+):(\d+)$`)
)

// TestProceduresOracle compares every procedure and thunk (module, record
// offset, kind, name, segment:offset, size, prolog and epilog offsets) with
// llvm-pdbutil dump -symbols, and checks FunctionAt at each one's first and
// last byte.
func TestProceduresOracle(t *testing.T) {
	for _, tt := range c13PDBs {
		t.Run(tt.name, func(t *testing.T) {
			f := openC13(t, tt.shared, tt.path)
			var want []string
			mod := -1
			lines := oracleLines(t, tt.name+".symbols.txt.gz")
			for i, l := range lines {
				if m := reMod.FindStringSubmatch(l); m != nil {
					mod, _ = strconv.Atoi(m[1])
					continue
				}
				m := reProc.FindStringSubmatch(l)
				if m == nil || i+2 >= len(lines) {
					continue
				}
				if m[2] == "S_THUNK32" {
					a := reThunk.FindStringSubmatch(lines[i+2])
					if a == nil {
						t.Fatalf("oracle: thunk detail %q", lines[i+2])
					}
					want = append(want, fmt.Sprintf("%d|%s|%s|%s|%s:%s|%s", mod, m[1], m[2], m[3], a[2], a[3], a[1]))
					continue
				}
				a, d := reProcAddr.FindStringSubmatch(lines[i+1]), reProcDbg.FindStringSubmatch(lines[i+2])
				if a == nil || d == nil {
					t.Fatalf("oracle: procedure detail %q %q", lines[i+1], lines[i+2])
				}
				want = append(want, fmt.Sprintf("%d|%s|%s|%s|%s:%s|%s|%s-%s", mod, m[1], m[2], m[3], a[1], a[2], a[3], d[1], d[2]))
			}
			procs, err := f.Procedures()
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, p := range procs {
				s := fmt.Sprintf("%d|%d|%s|%s|%04d:%04d|%d", p.Module, p.RecordOffset, p.KindName(), p.Name, p.Segment, p.Offset, p.Size)
				if !p.IsThunk() {
					s += fmt.Sprintf("|%d-%d", p.DebugStart, p.DebugEnd)
				}
				got = append(got, s)
			}
			if len(want) < tt.procs {
				t.Fatalf("oracle has %d procedures, want at least %d", len(want), tt.procs)
			}
			compareSet(t, "procedures", want, got)
			for _, p := range procs {
				if !p.HasRVA || p.Size == 0 {
					continue
				}
				for _, rva := range []uint32{p.RVA, p.RVA + p.Size - 1} {
					g, ok := f.FunctionAt(rva)
					// Identical code folding puts several procedures at
					// one address: any of them is right.
					if !ok || g.RVA != p.RVA || g.Size != p.Size {
						t.Errorf("FunctionAt(%#x) = %q at %#x (%v), want %q at %#x", rva, g.Name, g.RVA, ok, p.Name, p.RVA)
					}
				}
			}
			t.Logf("%d procedures and thunks match llvm-pdbutil", len(got))
		})
	}
}

var (
	reLineRange = regexp.MustCompile(`^  ([0-9A-F]{4}):([0-9A-F]{8})-([0-9A-F]{8}), line/addr entries = (\d+)$`)
	reLineEntry = regexp.MustCompile(`(\d+|NSI|ASI)(?::(\d+))? ([0-9A-F]{8})( !)?`)
	reLineFile  = regexp.MustCompile(`^(\S.*) \((MD5|SHA1|SHA256|None)[^)]*\)$`)
)

// TestLinesOracle compares every C13 line block and entry (file, range,
// line, start column, statement flag, address) with llvm-pdbutil dump -l,
// module by module in stream order, and checks LineAt at every entry.
func TestLinesOracle(t *testing.T) {
	for _, tt := range c13PDBs {
		t.Run(tt.name, func(t *testing.T) {
			f := openC13(t, tt.shared, tt.path)
			want := map[int][]string{}
			mod, file := -1, ""
			total := 0
			for _, l := range oracleLines(t, tt.name+".lines.txt.gz") {
				if m := reMod.FindStringSubmatch(l); m != nil {
					mod, _ = strconv.Atoi(m[1])
					continue
				}
				if m := reLineFile.FindStringSubmatch(l); m != nil && mod >= 0 {
					file = m[1]
					continue
				}
				if m := reLineRange.FindStringSubmatch(l); m != nil {
					want[mod] = append(want[mod], fmt.Sprintf("%s|%s:%s-%s|%s", file, m[1], m[2], m[3], m[4]))
					continue
				}
				if strings.HasPrefix(l, "  ") && mod >= 0 {
					for _, e := range reLineEntry.FindAllStringSubmatch(l, -1) {
						// llvm-pdbutil names the special lines.
						switch e[1] {
						case "NSI":
							e[1] = strconv.Itoa(LineNeverStepInto)
						case "ASI":
							e[1] = strconv.Itoa(LineAlwaysStepInto)
						}
						want[mod] = append(want[mod], fmt.Sprintf("%s:%s %s%s", e[1], e[2], e[3], e[4]))
						total++
					}
				}
			}
			if total < tt.lines {
				t.Fatalf("oracle has %d line entries, want at least %d", total, tt.lines)
			}
			mods, err := f.Modules()
			if err != nil {
				t.Fatal(err)
			}
			n := 0
			for _, m := range mods {
				blocks, err := f.ModuleLines(m.Index)
				if err != nil {
					t.Fatalf("module %d: %v", m.Index, err)
				}
				var got []string
				for _, b := range blocks {
					got = append(got, fmt.Sprintf("%s|%04X:%08X-%08X|%d", b.File, b.Segment, b.Offset, b.Offset+b.Size, len(b.Entries)))
					for _, e := range b.Entries {
						col := ""
						if b.HasColumns {
							col = strconv.Itoa(int(e.Column))
						}
						stmt := ""
						if !e.IsStatement {
							stmt = " !"
						}
						got = append(got, fmt.Sprintf("%d:%s %08X%s", e.Line, col, b.Offset+e.Offset, stmt))
						n++
						// LineAt finds this entry (or a later one at the
						// same address, from another file block).
						if l, ok := f.LineAt(b.RVA + e.Offset); !ok || l.RVA != b.RVA+e.Offset {
							t.Errorf("LineAt(%#x) = %+v, %v", b.RVA+e.Offset, l, ok)
						}
					}
				}
				if m.Stream < 0 {
					// llvm-pdbutil 14 prints the previous module's
					// lines again for a module without a stream (the
					// mingw library members of crtheap.pdb); such a
					// module has no lines.
					if len(got) != 0 {
						t.Errorf("module %d has no stream but %d lines", m.Index, len(got))
					}
					continue
				}
				if g, w := firstDiff(got, want[m.Index]); g != w {
					t.Errorf("module %d lines differ: got %q, llvm-pdbutil %q", m.Index, g, w)
				}
			}
			t.Logf("%d line entries in %d modules match llvm-pdbutil", n, len(mods))
		})
	}
}

// firstDiff returns the first differing elements ("" past an end), or
// two empty strings when a and b are equal.
func firstDiff(a, b []string) (string, string) {
	for i := 0; i < max(len(a), len(b)); i++ {
		var x, y string
		if i < len(a) {
			x = a[i]
		}
		if i < len(b) {
			y = b[i]
		}
		if x != y {
			return fmt.Sprintf("#%d %s", i, x), fmt.Sprintf("#%d %s", i, y)
		}
	}
	return "", ""
}

func head(s []string) []string {
	if len(s) > 6 {
		return s[:6]
	}
	return s
}

// TestFPOOracle compares every FPO_DATA and FRAMEDATA record, program
// strings included, with llvm-pdbutil dump -fpo, and checks WinFrameAt at
// each FrameData record's start (the innermost record there is that one,
// or one of the same start).
func TestFPOOracle(t *testing.T) {
	for _, tt := range c13PDBs {
		t.Run(tt.name, func(t *testing.T) {
			f := openC13(t, tt.shared, tt.path)
			var wantOld, wantNew []string
			section := ""
			for _, l := range oracleLines(t, tt.name+".fpo.txt.gz") {
				switch strings.TrimSpace(l) {
				case "Old FPO Data", "New FPO Data":
					section = strings.TrimSpace(l)
					continue
				}
				cols := strings.Split(l, "|")
				if len(cols) < 9 || strings.TrimSpace(cols[0]) == "RVA" {
					continue
				}
				for i := range cols {
					cols[i] = strings.TrimSpace(cols[i])
				}
				if section == "Old FPO Data" {
					wantOld = append(wantOld, strings.Join(cols, "|"))
				} else {
					wantNew = append(wantNew, strings.Join(cols, "|"))
				}
			}
			if len(wantOld) < tt.fpo || len(wantNew) < tt.fd {
				t.Fatalf("oracle: %d FPO, %d FrameData records", len(wantOld), len(wantNew))
			}
			fpo, err := f.FPORecords()
			if err != nil {
				t.Fatal(err)
			}
			fd, err := f.FrameDataRecords()
			if err != nil {
				t.Fatal(err)
			}
			frame := []string{"FPO", "Trap", "TSS", "Non-FPO"}
			var gotOld, gotNew []string
			for _, r := range fpo {
				// llvm-pdbutil 14 prints "Use BP" and "Has SEH" from bits
				// 10 and 9 of the attributes; winnt.h's FPO_DATA has
				// fHasSEH at bit 11 and fUseBP at bit 12, which UseBP and
				// HasSEH decode (crash.pdb's two records are 0x0800:
				// SEH, printed false). Compare llvm's columns with the
				// raw bits it reads, the rest with the decoded fields.
				llvmBP, llvmSEH := r.Attributes>>10&1 != 0, r.Attributes>>9&1 != 0
				gotOld = append(gotOld, fmt.Sprintf("%08X|%d|%d|%d|%d|%d|%v|%v|%s", r.Start, r.Size, r.Locals, r.Params, r.Prolog, r.Regs, llvmBP, llvmSEH, frame[r.Frame]))
				if r.HasSEH != (r.Attributes>>11&1 != 0) || r.UseBP != (r.Attributes>>12&1 != 0) {
					t.Errorf("FPO %#x: attributes %#04x decode to SEH %v, BP %v", r.Start, r.Attributes, r.HasSEH, r.UseBP)
				}
			}
			for _, r := range fd {
				gotNew = append(gotNew, fmt.Sprintf("%08X|%d|%d|%d|%d|%d|%d|%v|%v|%v|%s", r.RVA, r.CodeSize, r.Locals, r.Params, r.MaxStack, r.Prolog, r.SavedRegs, r.HasSEH, r.HasEH, r.IsFunctionStart, strings.TrimSpace(r.Program)))
				w, ok := f.WinFrameAt(r.RVA)
				if !ok || w.RVA != r.RVA {
					t.Errorf("WinFrameAt(%#x) = %+v, %v", r.RVA, w, ok)
				}
			}
			if strings.Join(gotOld, "\n") != strings.Join(wantOld, "\n") {
				t.Errorf("FPO records:\n got %q\nwant %q", head(gotOld), head(wantOld))
			}
			if strings.Join(gotNew, "\n") != strings.Join(wantNew, "\n") {
				t.Errorf("FrameData records:\n got %q\nwant %q", head(gotNew), head(wantNew))
			}
			t.Logf("%d FPO and %d FrameData records match llvm-pdbutil", len(gotOld), len(gotNew))
		})
	}
}
