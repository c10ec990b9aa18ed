package crash

import (
	"bufio"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
)

// readOracle reads name<TAB>expected lines written by testdata/gen-oracles.sh from
// llvm-undname and c++filt output.
func readOracle(t *testing.T, path string) [][2]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out [][2]string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		name, want, ok := strings.Cut(sc.Text(), "\t")
		if !ok {
			t.Fatalf("%s: bad line %q", path, sc.Text())
		}
		out = append(out, [2]string{name, want})
	}
	if len(out) < 20 {
		t.Fatalf("%s: only %d names", path, len(out))
	}
	return out
}

var (
	keywordRE = regexp.MustCompile(`\b(class|struct|union|enum) `)
	spaceRE   = regexp.MustCompile(` *([*&,<>()\[\]]) *`)
)

// normalize removes what the spellings differ in and nothing else: the tag
// keywords llvm-undname writes and the spaces around punctuation.
func normalize(s string) string {
	return spaceRE.ReplaceAllString(keywordRE.ReplaceAllString(s, ""), "$1")
}

// unsupportedMSVC are forms the demangler leaves decorated on purpose:
// function-local names need the enclosing function's full symbol demangled.
func unsupportedMSVC(name string) bool { return strings.Contains(name, "?1??") }

// TestDemangleMSVCOracle compares with llvm-undname's spelling of the same RTTI
// names (testdata/msvc-names.tsv).
func TestDemangleMSVCOracle(t *testing.T) {
	ok := 0
	for _, c := range readOracle(t, "testdata/msvc-names.tsv") {
		got := DemangleMSVC(c[0])
		switch {
		case c[1] == "error":
			if got.Demangled {
				t.Errorf("%s: llvm-undname rejects it, got %q", c[0], got.Name)
			}
		case unsupportedMSVC(c[0]):
			if got.Demangled || got.Name != c[0] || got.Why == "" {
				t.Errorf("%s: want the raw name with a reason, got %+v", c[0], got)
			}
		case !got.Demangled:
			t.Errorf("%s: not demangled (%s); llvm-undname: %s", c[0], got.Why, c[1])
		case normalize(got.Name) != normalize(c[1]):
			t.Errorf("%s:\n got %s\nwant %s", c[0], got.Name, c[1])
		default:
			ok++
		}
	}
	t.Logf("%d names agree with llvm-undname", ok)
}

// TestDemangleItaniumOracle compares with c++filt (testdata/itanium-names.tsv).
func TestDemangleItaniumOracle(t *testing.T) {
	ok := 0
	for _, c := range readOracle(t, "testdata/itanium-names.tsv") {
		got := DemangleItanium(c[0])
		switch {
		case c[1] == "error":
			if got.Demangled {
				t.Errorf("%s: c++filt rejects it, got %q", c[0], got.Name)
			}
		case strings.HasPrefix(c[0], "Z"):
			// Function-local names are left decorated.
			if got.Demangled || got.Why == "" {
				t.Errorf("%s: want the raw name with a reason, got %+v", c[0], got)
			}
		case !got.Demangled:
			t.Errorf("%s: not demangled (%s); c++filt: %s", c[0], got.Why, c[1])
		case normalize(got.Name) != normalize(c[1]):
			t.Errorf("%s:\n got %s\nwant %s", c[0], got.Name, c[1])
		default:
			ok++
		}
	}
	t.Logf("%d names agree with c++filt", ok)
}

// TestOraclesCurrent reruns the oracle tools, when installed, so the recorded
// files cannot drift from what the tools print. One process per tool.
func TestOraclesCurrent(t *testing.T) {
	t.Run("llvm-undname", func(t *testing.T) {
		if _, err := exec.LookPath("llvm-undname"); err != nil {
			t.Skip("llvm-undname not installed")
		}
		cases := readOracle(t, "testdata/msvc-names.tsv")
		var in strings.Builder
		for _, c := range cases {
			in.WriteString("??_R0" + strings.TrimPrefix(c[0], ".") + "@8\n")
		}
		cmd := exec.Command("llvm-undname")
		cmd.Stdin = strings.NewReader(in.String())
		// It exits 1 when any name fails; the output is still complete.
		out, err := cmd.Output()
		if len(out) == 0 {
			t.Fatal(err)
		}
		// Each name is echoed, then its demangling (absent on error), then a blank line.
		blocks := strings.Split(strings.TrimRight(string(out), "\n"), "\n\n")
		if len(blocks) != len(cases) {
			t.Fatalf("%d results for %d names", len(blocks), len(cases))
		}
		for i, c := range cases {
			got := "error"
			if lines := strings.Split(blocks[i], "\n"); len(lines) == 2 {
				got = strings.TrimSpace(strings.TrimSuffix(lines[1], "`RTTI Type Descriptor'"))
			}
			if got != c[1] {
				t.Errorf("%s: llvm-undname prints %q, file has %q (rerun testdata/gen-oracles.sh)", c[0], got, c[1])
			}
		}
	})
	t.Run("c++filt", func(t *testing.T) {
		if _, err := exec.LookPath("c++filt"); err != nil {
			t.Skip("c++filt not installed")
		}
		cases := readOracle(t, "testdata/itanium-names.tsv")
		var args []string
		for _, c := range cases {
			args = append(args, "_ZTS"+c[0])
		}
		out, err := exec.Command("c++filt", args...).Output()
		if err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(strings.TrimRight(string(out), "\n"), "\n")
		if len(lines) != len(cases) {
			t.Fatalf("%d results for %d names", len(lines), len(cases))
		}
		for i, c := range cases {
			got, ok := strings.CutPrefix(lines[i], "typeinfo name for ")
			if !ok {
				got = "error"
			}
			if got != c[1] {
				t.Errorf("%s: c++filt prints %q, file has %q (rerun testdata/gen-oracles.sh)", c[0], got, c[1])
			}
		}
	})
}

func TestDemangleShapes(t *testing.T) {
	for _, c := range []struct {
		in, name, kind string
	}{
		{".?AVbad_alloc@std@@", "std::bad_alloc", "class"},
		{".?AUfoo@@", "foo", "struct"},
		{".?AW4E@@", "E", "enum"},
		{".?ATu@@", "u", "union"},
		{".PEAVexception@std@@", "std::exception*", "pointer"},
		{".H", "int", "builtin"},
		{"?AV?$vector@HV?$allocator@H@std@@@std@@", "std::vector<int,std::allocator<int>>", "class"},
	} {
		got := DemangleMSVC(c.in)
		if !got.Demangled || got.Name != c.name || got.Kind != c.kind || got.Decorated != c.in {
			t.Errorf("DemangleMSVC(%q) = %+v, want %q (%s)", c.in, got, c.name, c.kind)
		}
	}
	for _, c := range []struct {
		in, name, kind string
	}{
		{"St9bad_alloc", "std::bad_alloc", "class"},
		{"*N12_GLOBAL__N_13FooE", "(anonymous namespace)::Foo", "class"},
		{"_ZTSSt12length_error", "std::length_error", "class"},
		{"PKc", "char const*", "pointer"},
	} {
		got := DemangleItanium(c.in)
		if !got.Demangled || got.Name != c.name || got.Kind != c.kind {
			t.Errorf("DemangleItanium(%q) = %+v, want %q (%s)", c.in, got, c.name, c.kind)
		}
	}
}

// TestDemangleBounded: inputs built to blow up (back-references to ever larger
// types, deep nesting, long names) come back quickly as raw names.
func TestDemangleBounded(t *testing.T) {
	blow := ".?AV?$T@P6AXPAH"
	for i := range 9 {
		blow += "P6AX" + strings.Repeat(string(rune('0'+i)), 12) + "@Z"
	}
	blow += "@Z@@"
	deep := ".?AV" + strings.Repeat("?$A@V", 500) + "B@@" + strings.Repeat("@@", 500)
	long := ".?AV" + strings.Repeat("x", maxDecoratedName) + "@@"
	for _, s := range []string{blow, deep, long, "V?$0@A8000"} {
		if got := DemangleMSVC(s); got.Demangled || got.Why == "" {
			t.Errorf("%.40s...: %+v", s, got)
		}
	}
	ideep := strings.Repeat("P", 5000) + "i"
	itempl := "St6vectorI" + strings.Repeat("St6vectorI", 300) + "i" + strings.Repeat("E", 301)
	for _, s := range []string{ideep, itempl} {
		if got := DemangleItanium(s); got.Demangled || got.Why == "" {
			t.Errorf("%.40s...: %+v", s, got)
		}
	}
}
