package main

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/dumpmap/dumpmap/analysis/render"
	"github.com/dumpmap/dumpmap/minidump"
	"github.com/dumpmap/dumpmap/minidump/minidumptest"
)

// runCLI runs dumpmap in-process and returns its stdout, stderr and exit status.
func runCLI(args ...string) (stdout, stderr string, code int) {
	var o, e bytes.Buffer
	code = run(args, &o, &e)
	return o.String(), e.String(), code
}

// repoRoot returns the directory holding go.mod.
func repoRoot(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("go.mod not found")
		}
		dir = parent
	}
}

// corpusDir returns ../shared/corpus beside the repository (or $DUMPMAP_CORPUS), and
// skips the test when it is absent.
func corpusDir(t testing.TB) string {
	t.Helper()
	dir := os.Getenv("DUMPMAP_CORPUS")
	if dir == "" {
		dir = filepath.Join(repoRoot(t), "..", "shared", "corpus")
	}
	if _, err := os.Stat(filepath.Join(dir, "CATALOG.md")); err != nil {
		t.Skipf("corpus not found at %s", dir)
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		t.Fatal(err)
	}
	return abs
}

// corpusDumps lists every file of the corpus that is meant to be read as a dump:
// the .dmp and .mdmp files and the fuzzed files without an extension, but not the
// oracles, YAML sources, symbols and notes.
func corpusDumps(t testing.TB) []string {
	dir := corpusDir(t)
	var out []string
	err := filepath.WalkDir(dir, func(p string, de os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		if de.IsDir() {
			if rel == "symbols" || strings.HasSuffix(rel, "snapshots") {
				return filepath.SkipDir
			}
			return nil
		}
		switch filepath.Ext(p) {
		case ".md", ".out", ".snap", ".json", ".yaml", ".test", ".txt":
			return nil
		}
		out = append(out, p)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// syntheticX64 is a small, complete 64-bit Windows dump made with the builder: the
// truth for the builder-based tests is what is written here.
func syntheticX64() *minidumptest.Builder {
	guid := minidump.GUID{0x9f, 0xd7, 0x5c, 0xc2, 0x2f, 0x21, 0x5c, 0x33, 0x4c, 0x4c, 0x44, 0x20, 0x50, 0x44, 0x42, 0x2e}
	stack := bytes.Repeat([]byte{0xcc}, 0x40)
	copy(stack, "stack of 4242")
	b := minidumptest.New().
		SystemInfo(minidumptest.Windows10x64()).
		MiscInfo(2, 4711, 0x5efff000).
		SystemMemoryInfo(0x1000, 0x10000, 0x10000, 0x7ffffffeffff).
		Module(minidumptest.Module{Base: 0x7ff6a0000000, Size: 0x25000, Name: `C:\Program Files\Seed\seed.exe`,
			Checksum: 0x2a1b3, Time: 0x5f000100, Version: [4]uint16{1, 2, 3, 4},
			CodeView: minidumptest.RSDS(guid, 3, `D:\build\seed.pdb`)}).
		Module(minidumptest.Module{Base: 0x7ffb10000000, Size: 0x1f8000, Name: `C:\Windows\SYSTEM32\ntdll.dll`,
			Version: [4]uint16{10, 0, 19041, 1}}).
		Thread(minidumptest.Thread{ID: 4242, TEB: 0x3f6d5a3000, StackStart: 0x3f6d8ffc0, Stack: stack, Context: make([]byte, 0x4d0)}).
		Thread(minidumptest.Thread{ID: 17, TEB: 0x3f6d5a5000, StackStart: 0x3f6e0ffe0, Stack: make([]byte, 0x20)}).
		Region(
			minidump.MemoryInfo{BaseAddress: 0, RegionSize: 0x7ff6a0000000, State: minidump.MemFree, Protect: minidump.PageNoAccess},
			minidump.MemoryInfo{BaseAddress: 0x7ff6a0000000, AllocationBase: 0x7ff6a0000000, AllocationProtect: minidump.PageExecuteWriteCopy,
				RegionSize: 0x25000, State: minidump.MemCommit, Protect: minidump.PageReadOnly, Type: minidump.MemImage}).
		Memory(0x7ff6a0000000, []byte("MZ\x90\x00\x03\x00\x00\x00 synthetic image header")).
		Memory(0x3f6d8ffc0, stack). // writers put stacks in the MemoryList too
		Exception(4242, minidump.ExceptionAccessViolation, 0x7ff6a0001234, 1, 0x10)
	b.Flags = minidump.DumpWithFullMemoryInfo | minidump.DumpWithThreadInfo
	return b
}

// writeDump writes data to a file in a fresh temporary directory.
func writeDump(t testing.TB, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestExitCodesAndMessages(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.dmp")
	data := syntheticX64().Bytes()
	if err := os.WriteFile(good, data, 0o644); err != nil {
		t.Fatal(err)
	}
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	empty := write("empty.dmp", nil)
	text := write("notes.txt", []byte("hello, this is not a dump\n"))
	kernel := write("memory.dmp", append([]byte("PAGEDU64"), make([]byte, 4088)...))
	short := write("short.dmp", data[:20])
	noDir := write("nodir.dmp", data[:40])
	// Cut inside the data of the last stream: the dump still opens, with warnings.
	cut := write("cut.dmp", data[:len(data)-8])
	missing := filepath.Join(dir, "absent.dmp")

	tests := []struct {
		name       string
		args       []string
		code       int
		stderr     string // regexp the stderr must match
		wantStdout bool
	}{
		{"no arguments", nil, 2, `Usage: dumpmap COMMAND`, false},
		{"main help", []string{"--help"}, 0, `^$`, true},
		{"main help short", []string{"-h"}, 0, `^$`, true},
		{"help word", []string{"help"}, 0, `^$`, true},
		{"help command", []string{"help", "read"}, 0, `^$`, true},
		{"help unknown", []string{"help", "nope"}, 2, `dumpmap: unknown command "nope"`, false},
		{"command help", []string{"info", "--help"}, 0, `^$`, true},
		{"command -h", []string{"modules", "-h"}, 0, `^$`, true},
		{"version", []string{"--version"}, 0, `^$`, true},
		{"unknown command", []string{"inf", good}, 2, `dumpmap: unknown command "inf" \(did you mean info\?\)`, false},
		{"flag before command", []string{"--json", "info", good}, 2, `unknown flag --json before the command`, false},
		{"unknown flag", []string{"info", "--bogus", good}, 2, `dumpmap info: unknown flag: --bogus\nUsage: dumpmap info \[flags\] FILE`, false},
		{"unknown shorthand", []string{"modules", "-z", good}, 2, `unknown shorthand flag: 'z'`, false},
		{"missing FILE", []string{"info"}, 2, `dumpmap info: missing FILE`, false},
		{"extra argument", []string{"streams", good, "extra"}, 2, `dumpmap streams: unexpected argument "extra"`, false},
		{"missing ADDR", []string{"read", good}, 2, `dumpmap read: missing ADDR`, false},
		{"bad ADDR", []string{"read", good, "0xzz"}, 2, `dumpmap read: bad ADDR: "0xzz" is not a hex number`, false},
		{"bad ADDR number", []string{"read", good, "12q"}, 2, `dumpmap read: bad ADDR`, false},
		{"unknown module ADDR", []string{"read", good, "kernel32+0x10"}, 2, `no module named "kernel32"`, false},
		{"bad LEN", []string{"read", good, "0x7ff6a0000000", "lots"}, 2, `dumpmap read: bad LEN`, false},
		{"zero LEN", []string{"read", good, "0x7ff6a0000000", "0"}, 2, `dumpmap read: bad LEN`, false},
		{"huge LEN", []string{"read", good, "0x7ff6a0000000", "1G"}, 2, `not between 1 byte and 64 MiB`, false},
		{"wrapping read", []string{"read", good, "0xfffffffffffffff0", "0x20"}, 2, `wraps past the end`, false},
		{"bad cols", []string{"read", "--cols", "0", good, "0x7ff6a0000000"}, 2, `--cols must be 1-256`, false},
		{"missing file", []string{"info", missing}, 1, `^dumpmap: ` + regexp.QuoteMeta(missing) + `: no such file or directory\n$`, false},
		{"directory", []string{"modules", dir}, 1, `^dumpmap: ` + regexp.QuoteMeta(dir) + `: not a minidump: looks like a directory\n$`, false},
		{"empty file", []string{"info", empty}, 1, `: not a minidump: looks like an empty file\n$`, false},
		{"text file", []string{"threads", text}, 1, `: not a minidump: looks like a text file \(starts with "hello, this is not a dump"\)\n$`, false},
		{"kernel dump", []string{"info", kernel}, 1, `: not a minidump: looks like a 64-bit Windows kernel dump \(PAGEDU64\)\n$`, false},
		{"shorter than header", []string{"streams", short}, 1, `: header at offset 0x0: file is 20 bytes, shorter than the 32-byte header\n$`, false},
		{"no directory", []string{"info", noDir}, 1, `: stream directory at offset 0x20: no stream directory entry fits in the file`, false},
		{"truncated dump opens with warnings", []string{"modules", cut}, 0, `^(dumpmap: ` + regexp.QuoteMeta(cut) + `: warning: [^\n]+\n)+$`, true},
		{"nothing captured", []string{"read", good, "0x1000", "16"}, 1, `0x0000000000001000-0x0000000000001010 \(16 bytes\) was not captured in the dump \(nearest captured ranges: `, false},
		{"partly captured", []string{"read", good, "0x7ff6a0000010", "32"}, 0, `warning: \d+ of 32 bytes were not captured`, true},
		{"success", []string{"info", good}, 0, `^$`, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out, errOut, code := runCLI(tc.args...)
			if code != tc.code {
				t.Errorf("exit %d, want %d; stderr:\n%s", code, tc.code, errOut)
			}
			if !regexp.MustCompile(tc.stderr).MatchString(errOut) {
				t.Errorf("stderr does not match %q:\n%s", tc.stderr, errOut)
			}
			if tc.wantStdout != (out != "") {
				t.Errorf("stdout empty = %v, want %v:\n%s", out == "", !tc.wantStdout, out)
			}
			if strings.Contains(errOut, "internal error") {
				t.Errorf("panic:\n%s", errOut)
			}
			// Errors and warnings begin with "dumpmap".
			if tc.code != 0 && tc.args != nil && !strings.HasPrefix(errOut, "dumpmap") {
				t.Errorf("stderr not prefixed with dumpmap: %q", errOut)
			}
		})
	}
}

// TestJSONIsOneObject runs every command with --json on a synthetic and a few corpus
// dumps: stdout must be exactly one JSON object, addresses "0x..." lower-case hex
// strings and sizes integers.
func TestJSONIsOneObject(t *testing.T) {
	files := []string{writeDump(t, "synthetic.dmp", syntheticX64().Bytes())}
	if c := corpusDirOrEmpty(t); c != "" {
		for _, f := range []string{"breakpad/minidump2.dmp", "breakpad/tiny-exe-with-cet-xsave.dmp",
			"rizin-testbins/crash-0a4b90615b8dd830e86ef1c4e5e80ea9", "breakpad/linux_inline.dmp"} {
			files = append(files, filepath.Join(c, f))
		}
	}
	for _, f := range files {
		for _, c := range sortedCommands() {
			args := []string{c.name, "--json", f}
			switch c.name {
			case "explain":
				args = append(args, "--size", "64K")
			case "read":
				args = append(args, "0x7ff6a0000000")
				if !strings.Contains(f, "synthetic") {
					args = args[:3]
					args = append(args, firstCaptured(t, f))
				}
			case "symbols":
				args = append(args, "*!*")
			}
			t.Run(c.name+"/"+filepath.Base(f), func(t *testing.T) {
				out, errOut, code := runCLI(args...)
				if code != 0 {
					t.Fatalf("exit %d: %s", code, errOut)
				}
				checkOneJSONObject(t, out)
			})
		}
		// --unloaded and --long variants.
		for _, args := range [][]string{{"modules", "--json", "--unloaded", f}, {"threads", "--json", "-l", f}} {
			out, errOut, code := runCLI(args...)
			if code != 0 {
				t.Fatalf("%v: exit %d: %s", args, code, errOut)
			}
			checkOneJSONObject(t, out)
		}
	}
}

func corpusDirOrEmpty(t *testing.T) string {
	dir := filepath.Join(repoRoot(t), "..", "shared", "corpus")
	if v := os.Getenv("DUMPMAP_CORPUS"); v != "" {
		dir = v
	}
	if _, err := os.Stat(filepath.Join(dir, "CATALOG.md")); err != nil {
		return ""
	}
	abs, _ := filepath.Abs(dir)
	return abs
}

// firstCaptured returns the start of the first captured memory range of a dump, as
// an ADDR argument.
func firstCaptured(t *testing.T, path string) string {
	f, err := minidump.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	m, _ := f.Memory()
	if len(m.Ranges()) == 0 {
		t.Fatalf("%s has no memory", path)
	}
	return render.Hex(m.Ranges()[0].Start).String()
}

// Keys whose values are addresses (hex strings) and keys whose values are sizes or
// counts (integers), wherever they appear.
var (
	addressKeys = map[string]bool{"base": true, "end": true, "start": true, "address": true, "teb": true,
		"start_address": true, "access_address": true, "min_user_address": true, "max_user_address": true}
	sizeKeys = map[string]bool{"size": true, "available": true, "missing": true, "length": true, "captured": true,
		"memory_bytes": true, "missing_bytes": true, "offset": true}
	hexRe = regexp.MustCompile(`^0x[0-9a-f]+$`)
)

func checkOneJSONObject(t *testing.T, out string) {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(out))
	dec.UseNumber()
	var v map[string]any
	if err := dec.Decode(&v); err != nil {
		t.Fatalf("stdout is not a JSON object: %v\n%s", err, out)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		t.Fatalf("stdout holds more than one JSON value:\n%s", out)
	}
	if _, ok := v["warnings"].([]any); !ok {
		t.Errorf("no warnings array")
	}
	var walk func(path string, x any)
	walk = func(path string, x any) {
		switch x := x.(type) {
		case map[string]any:
			for k, y := range x {
				switch {
				case addressKeys[k]:
					if _, isObj := y.(map[string]any); isObj {
						break
					}
					s, ok := y.(string)
					if !ok || !hexRe.MatchString(s) {
						t.Errorf("%s.%s = %v: want a 0x... lower-case hex string", path, k, y)
					}
				case sizeKeys[k]:
					if _, ok := y.(json.Number); !ok {
						t.Errorf("%s.%s = %v: want an integer", path, k, y)
					}
				}
				walk(path+"."+k, y)
			}
		case []any:
			for _, y := range x {
				walk(path+"[]", y)
			}
		case string:
			if strings.HasPrefix(x, "0x") && !hexRe.MatchString(x) && !strings.Contains(x, " ") {
				t.Errorf("%s = %q: hex must be lower case", path, x)
			}
		}
	}
	walk("", v)
}

// TestNoPanicOnCorpus runs every command, in text and JSON, on every file of the
// corpus, malformed ones included: the exit status is 0 or 1 and nothing panics.
func TestNoPanicOnCorpus(t *testing.T) {
	files := corpusDumps(t)
	for _, f := range files {
		for _, c := range sortedCommands() {
			for _, js := range []bool{false, true} {
				args := []string{c.name, f}
				switch c.name {
				case "read":
					args = append(args, "0x10000", "64")
				case "symbols":
					args = append(args, "*!*")
				case "explain":
					args = append(args, "--size", "64K")
				}
				if js {
					args = append(args, "--json")
				}
				out, errOut, code := runCLI(args...)
				if strings.Contains(errOut, "internal error") {
					t.Errorf("%v: panic:\n%s", args, errOut)
				}
				if code != 0 && code != 1 {
					t.Errorf("%v: exit %d: %s", args, code, errOut)
				}
				if code != 0 && out != "" {
					t.Errorf("%v: exit %d with output on stdout", args, code)
				}
				if js && code == 0 {
					var v map[string]any
					if err := json.Unmarshal([]byte(out), &v); err != nil {
						t.Errorf("%v: bad JSON: %v", args, err)
					}
				}
			}
		}
	}
}

func TestEveryCommandHasHelp(t *testing.T) {
	for _, c := range sortedCommands() {
		if c.summary == "" || c.help() == "" || !strings.Contains(c.help(), "Examples:") {
			t.Errorf("%s: summary and help with examples are required", c.name)
		}
		out, _, code := runCLI("help", c.name)
		if code != 0 || !strings.Contains(out, "Usage: dumpmap "+c.name) || !strings.Contains(out, "--json") {
			t.Errorf("help %s:\n%s", c.name, out)
		}
	}
	out, _, _ := runCLI("--help")
	for _, c := range sortedCommands() {
		if !strings.Contains(out, "  "+c.name+" ") {
			t.Errorf("--help does not list %s", c.name)
		}
	}
}

// TestHostileNamesAreEscaped checks that control characters in names from a dump
// (a terminal escape sequence in a module name) never reach the terminal raw, and
// stay exact in JSON.
func TestHostileNamesAreEscaped(t *testing.T) {
	name := "C:\\evil\\\x1b]0;pwned\x07\x1b[2Jx.dll"
	p := writeDump(t, "evil.dmp", minidumptest.New().SystemInfo(minidumptest.Windows10x64()).
		Module(minidumptest.Module{Base: 0x10000000, Size: 0x1000, Name: name}).
		Exception(1, minidump.ExceptionAccessViolation, 0x10000010).Bytes())
	for _, args := range [][]string{{"modules", p}, {"modules", "-l", p}, {"info", p}, {"memory", p}} {
		out, errOut, _ := runCLI(args...)
		if strings.ContainsAny(out+errOut, "\x1b\x07") {
			t.Errorf("%v: raw control characters in the output:\n%q", args, out)
		}
	}
	out, _, _ := runCLI("modules", p)
	if !strings.Contains(out, `\x1b]0;pwned\x07\x1b[2Jx.dll`) {
		t.Errorf("escaped name missing:\n%s", out)
	}
	var got struct {
		Modules []render.Module `json:"modules"`
	}
	runJSON(t, &got, "modules", "--json", p)
	if len(got.Modules) != 1 || got.Modules[0].Name != name {
		t.Errorf("JSON name = %+v", got.Modules)
	}
}

// TestSyntheticTruth checks the JSON of the synthetic dump against what the builder
// was told to write (syntheticX64), field by field: for builder dumps, that is the
// independent truth behind the goldens.
func TestSyntheticTruth(t *testing.T) {
	p := writeDump(t, "synthetic.dmp", syntheticX64().Bytes())

	var mods struct {
		Modules []render.Module `json:"modules"`
	}
	runJSON(t, &mods, "modules", "--json", p)
	if len(mods.Modules) != 2 {
		t.Fatalf("modules: %+v", mods.Modules)
	}
	m := mods.Modules[0]
	if m.Base != 0x7ff6a0000000 || m.End != 0x7ff6a0025000 || m.Size != 0x25000 || m.Name != `C:\Program Files\Seed\seed.exe` ||
		m.FileName != "seed.exe" || m.Checksum != 0x2a1b3 || m.Timestamp != 0x5f000100 || m.FileVersion != "1.2.3.4" ||
		m.PDBName != "seed.pdb" || m.PDBGUID != "{C25CD79F-212F-335C-4C4C-44205044422E}" || m.PDBAge == nil || *m.PDBAge != 3 ||
		m.DebugID != "C25CD79F212F335C4C4C44205044422E3" || m.CodeView == nil || m.CodeView.PDBPath != `D:\build\seed.pdb` {
		t.Errorf("module 0 = %+v, codeview %+v", m, m.CodeView)
	}
	if n := mods.Modules[1]; n.FileName != "ntdll.dll" || n.FileVersion != "10.0.19041.1" || n.CodeView != nil {
		t.Errorf("module 1 = %+v", n)
	}

	var th struct {
		Threads []render.Thread `json:"threads"`
	}
	runJSON(t, &th, "threads", "--json", p)
	if len(th.Threads) != 2 || th.Threads[0].ID != 4242 || th.Threads[0].TEB != 0x3f6d5a3000 ||
		th.Threads[0].Stack.Start != 0x3f6d8ffc0 || th.Threads[0].Stack.Size != 0x40 || th.Threads[0].Context.Size != 0x4d0 ||
		!th.Threads[0].ExceptionThread || th.Threads[1].ID != 17 || th.Threads[1].ExceptionThread {
		t.Errorf("threads = %+v", th.Threads)
	}

	var rd render.Read
	runJSON(t, &rd, "read", "--json", p, "0x3f6d8ffc0", "13")
	if rd.Data != enchexString("stack of 4242") || rd.Captured != 13 || rd.Missing != 0 {
		t.Errorf("read stack = %+v", rd)
	}
	runJSON(t, &rd, "read", "--json", p, "seed", "2")
	if rd.Data != "4d5a" || rd.Address != 0x7ff6a0000000 {
		t.Errorf("read seed = %+v", rd)
	}

	var info render.Info
	runJSON(t, &info, "info", "--json", p)
	x := info.Exception
	if x == nil || x.ThreadID != 4242 || x.Code != 0xc0000005 || x.Where != "seed.exe+0x1234" || x.Access != "write" ||
		x.AccessAddress == nil || *x.AccessAddress != 0x10 {
		t.Errorf("exception = %+v", x)
	}
	if info.Process == nil || info.Process.ID != 4711 || info.System == nil || info.System.Arch != "amd64" ||
		info.System.MaxUserAddress == nil || *info.System.MaxUserAddress != 0x7ffffffeffff || info.Counts.Regions != 2 {
		t.Errorf("info = %+v %+v %+v", info.Process, info.System, info.Counts)
	}

	var st render.Streams
	runJSON(t, &st, "streams", "--json", p)
	var types []string
	for _, s := range st.Streams {
		types = append(types, s.Type)
	}
	if got := strings.Join(types, ","); got != "SystemInfo,MiscInfo,SystemMemoryInfo,ModuleList,ThreadList,MemoryInfoList,MemoryList,Exception" {
		t.Errorf("streams = %s", got)
	}
}

func enchexString(s string) string { return hex.EncodeToString([]byte(s)) }
