package render

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/dumpmap/dumpmap/analysis/process"
	"github.com/dumpmap/dumpmap/analysis/stack"
	"github.com/dumpmap/dumpmap/minidump"
	"github.com/dumpmap/dumpmap/minidump/minidumptest"
)

// The oracle: rust-minidump's own insta snapshots of minidump-stackwalk
// (minidump-stackwalk/tests/snapshots in rust-minidump 98a5141b8eef, in the shared
// corpus with the dumps they were made from). Each test runs our writer on the
// same dump and compares the two documents field by field; every difference must
// be one the test names, with the reason (docs/stacks.md, "minidump-stackwalk
// JSON").

// rustMinidumpDir returns ../shared/corpus/rust-minidump, found by walking up
// from the package directory, or skips t.
func rustMinidumpDir(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Skip(err)
	}
	for {
		p := filepath.Join(dir, "shared", "corpus", "rust-minidump")
		if st, err := os.Stat(filepath.Join(p, "snapshots")); err == nil && st.IsDir() {
			return p
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Skip("shared corpus (../shared/corpus/rust-minidump) not found; skipping")
		}
		dir = parent
	}
}

// snapshot returns the text of an insta snapshot after its "---" header.
func snapshot(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(rustMinidumpDir(t), "snapshots", name))
	if err != nil {
		t.Fatal(err)
	}
	parts := strings.SplitN(string(b), "\n---\n", 2)
	if len(parts) != 2 || !strings.HasPrefix(parts[0], "---\n") {
		t.Fatalf("%s: no insta header", name)
	}
	return parts[1]
}

// stackwalkOf runs the writer on a dump: compact and pretty output.
func stackwalkOf(t *testing.T, f *minidump.File) (compact, pretty []byte) {
	t.Helper()
	p := process.New(f, process.Options{})
	t.Cleanup(func() { p.Close() })
	d, err := stack.ForProcess(context.Background(), p, stack.Options{})
	if err != nil {
		t.Fatal(err)
	}
	sw, err := NewStackwalk(context.Background(), p, d)
	if err != nil {
		t.Fatal(err)
	}
	var c, pr bytes.Buffer
	if err := sw.WriteJSON(&c); err != nil {
		t.Fatal(err)
	}
	if err := sw.WritePretty(&pr); err != nil {
		t.Fatal(err)
	}
	return c.Bytes(), pr.Bytes()
}

func stackwalkFile(t *testing.T, name string) (compact, pretty []byte) {
	t.Helper()
	f, err := minidump.Open(filepath.Join(rustMinidumpDir(t), name))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return stackwalkOf(t, f)
}

func decodeJSON(t *testing.T, what string, b []byte) any {
	t.Helper()
	var v any
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	if err := dec.Decode(&v); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	return v
}

// jsonDiff lists the differences between two decoded JSON documents, each as
// "path: want W, got G", paths like threads[0].frames[1].trust.
func jsonDiff(p string, want, got any, out *[]string) {
	show := func(v any) string { b, _ := json.Marshal(v); return string(b) }
	switch w := want.(type) {
	case map[string]any:
		g, ok := got.(map[string]any)
		if !ok {
			*out = append(*out, fmt.Sprintf("%s: want %s, got %s", p, show(want), show(got)))
			return
		}
		keys := map[string]bool{}
		for k := range w {
			keys[k] = true
		}
		for k := range g {
			keys[k] = true
		}
		for _, k := range slices.Sorted(func(yield func(string) bool) {
			for k := range keys {
				if !yield(k) {
					return
				}
			}
		}) {
			q := k
			if p != "" {
				q = p + "." + k
			}
			wv, wok := w[k]
			gv, gok := g[k]
			switch {
			case !wok:
				*out = append(*out, fmt.Sprintf("%s: not in rust-minidump's, got %s", q, show(gv)))
			case !gok:
				*out = append(*out, fmt.Sprintf("%s: missing, want %s", q, show(wv)))
			default:
				jsonDiff(q, wv, gv, out)
			}
		}
	case []any:
		g, ok := got.([]any)
		if !ok {
			*out = append(*out, fmt.Sprintf("%s: want %s, got %s", p, show(want), show(got)))
			return
		}
		if len(w) != len(g) {
			*out = append(*out, fmt.Sprintf("%s: want %d elements, got %d", p, len(w), len(g)))
		}
		for i := range min(len(w), len(g)) {
			jsonDiff(fmt.Sprintf("%s[%d]", p, i), w[i], g[i], out)
		}
	default:
		if show(want) != show(got) {
			*out = append(*out, fmt.Sprintf("%s: want %s, got %s", p, show(want), show(got)))
		}
	}
}

// allowed is a difference a test expects: a path pattern (path.Match syntax,
// with [*] for any index), optionally text the difference must contain (such as
// `want "cfi", got "frame_pointer"`), and why ours differs.
type allowed struct{ pattern, contains, why string }

// checkDiffs fails t for every difference no allowed pattern covers, and logs
// the covered ones.
func checkDiffs(t *testing.T, diffs []string, allow []allowed) {
	t.Helper()
	expected := 0
	defer func() { t.Logf("%d of %d differences expected", expected, len(diffs)) }()
	for _, d := range diffs {
		p, _, _ := strings.Cut(d, ":")
		why := ""
		for _, a := range allow {
			if ok, _ := path.Match(idxWild(a.pattern), idxWild(p)); ok && strings.Contains(d, a.contains) {
				why = a.why
				break
			}
		}
		if why == "" {
			t.Errorf("difference: %s", d)
		} else {
			expected++
			t.Logf("expected difference (%s): %s", why, d)
		}
	}
}

// idxWild replaces every [N] index in a path by a NUL, which the patterns'
// [*] become, so that path.Match sees no brackets.
func idxWild(p string) string {
	var b strings.Builder
	for i := 0; i < len(p); i++ {
		if p[i] == '[' {
			if j := strings.IndexByte(p[i:], ']'); j > 0 {
				b.WriteByte(0)
				i += j
				continue
			}
		}
		b.WriteByte(p[i])
	}
	return b.String()
}

// TestStackwalkTestDmp: test.dmp (Breakpad's minidump2.dmp, Windows XP x86,
// an access violation writing 0x45) against rust-minidump's json-pretty and
// json snapshots: the same document, byte for byte.
func TestStackwalkTestDmp(t *testing.T) {
	compact, pretty := stackwalkFile(t, "test.dmp")
	var diffs []string
	jsonDiff("", decodeJSON(t, "snapshot", []byte(snapshot(t, "test_minidump_stackwalk__json-pretty.snap"))), decodeJSON(t, "ours", pretty), &diffs)
	checkDiffs(t, diffs, nil)
	for _, c := range []struct {
		snap string
		ours []byte
	}{{"test_minidump_stackwalk__json-pretty.snap", pretty}, {"test_minidump_stackwalk__json.snap", compact}} {
		want := strings.TrimRight(snapshot(t, c.snap), "\n")
		if got := strings.TrimSuffix(string(c.ours), "\n"); got != want {
			i := 0
			for i < len(got) && i < len(want) && got[i] == want[i] {
				i++
			}
			t.Errorf("%s: bytes differ at %d: ours %q, rust-minidump %q", c.snap, i, got[max(0, i-40):min(len(got), i+40)], want[max(0, i-40):min(len(want), i+40)])
		}
	}
}

// noDisassembly are the crash_info fields rust-minidump fills from its
// disassembly of the crashing instruction (and the bit-flip heuristics built on
// it), which dumpmap leaves null.
var noDisassembly = []allowed{
	{"crash_info.instruction", "got null", "rust-minidump disassembles the crashing instruction; dumpmap does not"},
	{"crash_info.memory_accesses", "got null", "from rust-minidump's disassembly of the crashing instruction"},
	{"crash_info.possible_bit_flips", "got null", "rust-minidump's bit-flip heuristics use its disassembly's access size and registers"},
}

// TestStackwalkLinux: linux-mini.dmp (Breakpad, Linux amd64, SIGSEGV writing
// 0x45; the snapshot was made without symbols) against rust-minidump's
// linux_json_pretty snapshot. Everything matches (lsb_release, soft_errors,
// linux_memory_map_count, the pid from /proc/self/status, the OS version from
// uname) but for the disassembly fields and three scanned frames: rust-minidump's
// scan (like Breakpad's) accepts crash+0x1dc0 three times, a function pointer on
// the stack that no call instruction precedes; ours requires the call and leaves
// them out (docs/stacks.md, "Where we differ from Breakpad", 4). The snapshot's
// frames are compared with those three taken out.
func TestStackwalkLinux(t *testing.T) {
	_, pretty := stackwalkFile(t, "linux-mini.dmp")
	want := decodeJSON(t, "snapshot", []byte(snapshot(t, "test_minidump_stackwalk__linux_json_pretty.snap"))).(map[string]any)
	removed := 0
	drop := func(th map[string]any) {
		var kept []any
		for _, f := range th["frames"].([]any) {
			fr := f.(map[string]any)
			if fr["offset"] == "0x0000000000401dbf" && fr["trust"] == "scan" {
				removed++
				continue
			}
			fr["frame"] = json.Number(fmt.Sprint(len(kept)))
			kept = append(kept, fr)
		}
		th["frames"] = kept
		th["frame_count"] = json.Number(fmt.Sprint(len(kept)))
	}
	for _, th := range want["threads"].([]any) {
		drop(th.(map[string]any))
	}
	drop(want["crashing_thread"].(map[string]any))
	if removed != 6 {
		t.Fatalf("took %d frames at crash+0x1dc0 out of the snapshot, want 3 per copy of the thread", removed)
	}
	var diffs []string
	jsonDiff("", want, decodeJSON(t, "ours", pretty), &diffs)
	checkDiffs(t, diffs, noDisassembly)
}

// TestStackwalkMacOS: pipeline-inlines-macos-segv.dmp (Crashpad-style macOS
// amd64 dump, EXC_BAD_ACCESS / KERN_INVALID_ADDRESS, 11 threads, 47 modules)
// against the macos_inlines_json_pretty snapshot, which rust-minidump made with
// crash-client.sym: the symbol file is not in the shared corpus, so names, source
// lines, inline frames and the symbol statistics differ, and where rust-minidump
// unwound with the file's STACK CFI ("cfi") we follow the frame pointers
// ("frame_pointer") to the very same frames. Everything else matches: every
// frame's address, module and offset, the registers, thread names, modules'
// code and debug ids and versions, the OS version with its build.
func TestStackwalkMacOS(t *testing.T) {
	_, pretty := stackwalkFile(t, "pipeline-inlines-macos-segv.dmp")
	var diffs []string
	jsonDiff("", decodeJSON(t, "snapshot", []byte(snapshot(t, "test_minidump_stackwalk__macos_inlines_json_pretty.snap"))), decodeJSON(t, "ours", pretty), &diffs)
	const noSym = "from crash-client.sym, which the corpus does not have"
	allow := append(slices.Clone(noDisassembly),
		allowed{"*frames[*].function", "got null", noSym},
		allowed{"*frames[*].function_offset", "got null", noSym},
		allowed{"*frames[*].file", "got null", noSym},
		allowed{"*frames[*].line", "got null", noSym},
		allowed{"*frames[*].inlines", "got null", noSym},
		allowed{"*frames[*].missing_symbols", "want false, got true", noSym},
		allowed{"*frames[*].trust", `want "cfi", got "frame_pointer"`, "rust-minidump used the symbol file's STACK CFI; without it the RBP chain gives the same frames"},
		allowed{"modules[*].loaded_symbols", "want true, got false", noSym},
		allowed{"modules[*].missing_symbols", "want true, got false", "rust-minidump ran with a symbol path and looked for every module a frame hit"},
	)
	checkDiffs(t, diffs, allow)
}

// TestStackwalkSymbolsSnapshot: test.dmp against the json-pretty-symbols
// snapshot, made with test_app.sym (not in the shared corpus): every field that
// does not come from the symbol file matches.
func TestStackwalkSymbolsSnapshot(t *testing.T) {
	_, pretty := stackwalkFile(t, "test.dmp")
	var diffs []string
	jsonDiff("", decodeJSON(t, "snapshot", []byte(snapshot(t, "test_minidump_stackwalk__json-pretty-symbols.snap"))), decodeJSON(t, "ours", pretty), &diffs)
	const noSym = "from test_app.sym, which the corpus does not have"
	checkDiffs(t, diffs, []allowed{
		{"*frames[*].function", "got null", noSym},
		{"*frames[*].function_offset", "got null", noSym},
		{"*frames[*].file", "got null", noSym},
		{"*frames[*].line", "got null", noSym},
		{"*frames[*].missing_symbols", "want false, got true", noSym},
		{"*frames[*].trust", `want "cfi", got "frame_pointer"`, "rust-minidump used test_app.sym's STACK WIN; without it the EBP chain gives the same frames"},
		{"modules[*].loaded_symbols", "want true, got false", noSym},
		{"modules[*].missing_symbols", "want true, got false", "rust-minidump ran with a symbol path and looked for every module a frame hit"},
	})
}

// unloadedDump builds the dump of rust-minidump's test_unloaded
// (minidump-stackwalk/tests/test-minidump-stackwalk.rs, unloaded_minidump() on
// minimal_minidump(), with minidump-synth's defaults): one x86 thread 0x1234
// stopped at 0xf00800, in no module, with a zeroed stack at 0x1000; a SystemInfo
// of zeros but processor level 6 and one processor; eight unloaded modules, some
// repeated, some holding 0xf00800.
func unloadedDump() *minidumptest.Builder {
	stackMem := make([]byte, 0x1000)
	b := minidumptest.New()
	b.Thread(minidumptest.Thread{ID: 0x1234, StackStart: 0x1000, Stack: stackMem,
		Context: minidumptest.Context(minidump.ArchX86, map[string]uint64{"eip": 0xf00800, "esp": 0x1010})})
	b.SystemInfo(minidumptest.SystemInfo{Arch: minidump.ArchX86, Platform: 0, ProcessorLevel: 6, NumberOfProcessors: 1})
	b.Memory(0x1000, stackMem)
	for _, u := range []struct {
		base uint64
		size uint32
		name string
	}{
		{0xa003a0, 0x1000, "unused.dll"}, {0xf00000, 0x1000, "many.dll"}, {0xaf00220, 0x2000, "solo.dll"},
		{0xf00100, 0x1000, "many.dll"}, {0xf003a0, 0x1000, "many.dll"}, {0xf00220, 0x2000, "solo.dll"},
		{0xaf00220, 0x2000, "solo.dll"}, {0xf00000, 0x1000, "many.dll"},
	} {
		b.UnloadedModule(minidumptest.UnloadedModule{Base: u.base, Size: u.size, Checksum: 0x34571371, Time: 0xb1054d2a, Name: u.name})
	}
	return b
}

// TestStackwalkUnloaded: the frame in no loaded module lists the unloaded
// modules that held its address, by name, offsets sorted and without repeats;
// unloaded_modules lists every entry with its full name; an unknown OS and an
// x86 CPU without a vendor read as rust-minidump writes them
// (json-pretty-unloaded snapshot, byte for byte).
func TestStackwalkUnloaded(t *testing.T) {
	data := unloadedDump().Bytes()
	f, err := minidump.New(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	_, pretty := stackwalkOf(t, f)
	snap := snapshot(t, "test_minidump_stackwalk__json-pretty-unloaded.snap")
	var diffs []string
	jsonDiff("", decodeJSON(t, "snapshot", []byte(snap)), decodeJSON(t, "ours", pretty), &diffs)
	checkDiffs(t, diffs, nil)
	if got, want := strings.TrimSuffix(string(pretty), "\n"), strings.TrimRight(snap, "\n"); got != want {
		t.Errorf("bytes differ from the snapshot:\n%s", got)
	}
}

// TestStackwalkBreakpadCrash compares crash_info and process_uptime with Breakpad's
// minidump_stackwalk (the program rust-minidump's was ported from) on every corpus
// dump both read: the crash address and uptime must be the same; the crash reason
// the same up to the ways the two name things differently, each listed here.
func TestStackwalkBreakpadCrash(t *testing.T) {
	corpus := filepath.Dir(rustMinidumpDir(t))
	home := os.Getenv("PEERS_HOME")
	if home == "" {
		h, _ := os.UserHomeDir()
		home = filepath.Join(h, ".cache", "minidump-peers")
	}
	if _, err := os.Stat(filepath.Join(home, "node", "node_modules", "minidump", "bin", "linux-x64", "minidump_stackwalk")); err != nil {
		t.Skipf("Breakpad's minidump_stackwalk is not installed (%v)", err)
	}
	script := filepath.Join(filepath.Dir(corpus), "peers", "run-peer.sh")
	var dumps []string
	filepath.WalkDir(corpus, func(p string, de os.DirEntry, err error) error {
		if err == nil && !de.IsDir() && (strings.HasSuffix(p, ".dmp") || strings.HasSuffix(p, ".mdmp")) {
			dumps = append(dumps, p)
		}
		return nil
	})
	var mu sync.Mutex
	compared := 0
	t.Run("dumps", func(t *testing.T) {
		for _, p := range dumps {
			rel, _ := filepath.Rel(corpus, p)
			t.Run(rel, func(t *testing.T) {
				t.Parallel()
				compareBreakpadCrash(t, script, p, rel, func() { mu.Lock(); compared++; mu.Unlock() })
			})
		}
	})
	t.Logf("%d crash reasons compared with Breakpad's", compared)
	if compared < 40 {
		t.Errorf("only %d dumps compared", compared)
	}
}

// compareBreakpadCrash compares one dump's crash_info and uptime with Breakpad's.
func compareBreakpadCrash(t *testing.T, script, p, rel string, count func()) {
	out, err := exec.Command(script, "breakpad-stackwalk", p).Output()
	if err != nil && len(out) == 0 {
		return
	}
	bp := map[string]string{}
	for _, line := range strings.Split(string(out), "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok && (k == "Crash reason" || k == "Crash address" || k == "Process uptime") {
			bp[k] = strings.TrimSpace(v)
		}
	}
	f, err := minidump.Open(p)
	if err != nil {
		return
	}
	ours, err := stackwalkDoc(f)
	f.Close()
	if err != nil {
		return
	}
	ci := ours["crash_info"].(map[string]any)
	if r, ok := bp["Crash reason"]; ok {
		count()
		if why := sameReason(r, fmt.Sprint(ci["type"])); why == "" {
			t.Errorf("%s: crash reason %q, Breakpad %q", rel, ci["type"], r)
		} else if why != "same" {
			t.Logf("%s: %q for Breakpad's %q: %s", rel, ci["type"], r, why)
		}
		var a, b uint64
		fmt.Sscanf(bp["Crash address"], "0x%x", &b)
		fmt.Sscanf(fmt.Sprint(ci["address"]), "0x%x", &a)
		if a != b {
			t.Errorf("%s: crash address %v, Breakpad %s", rel, ci["address"], bp["Crash address"])
		}
	}
	if u, ok := bp["Process uptime"]; ok {
		want := "<nil>"
		if s, ok := strings.CutSuffix(u, " seconds"); ok {
			want = s
		}
		if got := fmt.Sprint(ours["process_uptime"]); got != want {
			t.Errorf("%s: process_uptime %s, Breakpad %q", rel, got, u)
		}
	}
}

// stackwalkDoc is our document for f, decoded.
func stackwalkDoc(f *minidump.File) (map[string]any, error) {
	p := process.New(f, process.Options{})
	defer p.Close()
	d, err := stack.ForProcess(context.Background(), p, stack.Options{})
	if err != nil {
		return nil, err
	}
	sw, err := NewStackwalk(context.Background(), p, d)
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	sw.WriteJSON(&b)
	var v map[string]any
	dec := json.NewDecoder(&b)
	dec.UseNumber()
	return v, dec.Decode(&v)
}

// sameReason says why our crash reason stands for Breakpad's ("same" when
// equal), or "" when it does not.
func sameReason(bp, ours string) string {
	switch {
	case bp == ours:
		return "same"
	case strings.Contains(bp, " /") && !strings.Contains(bp, " / ") && strings.Replace(bp, " /", " / ", 1) == ours:
		return "Breakpad writes no space after the slash"
	case strings.HasPrefix(bp, "SIG") && strings.HasSuffix(bp, "0x00000000") && ours == strings.TrimSpace(bp[:strings.Index(bp, "/")]):
		return "rust-minidump leaves out si_code 0 (SI_USER)"
	}
	if strings.HasPrefix(bp, "0x") && ours == "unknown "+bp {
		return "rust-minidump prefixes an unknown code with \"unknown\""
	}
	if strings.HasSuffix(ours, " / "+bp) {
		return "rust-minidump names the exception before the detail Breakpad gives alone"
	}
	var code, flags uint32
	if n, _ := fmt.Sscanf(bp, "0x%x / 0x%x", &code, &flags); n == 2 && ours == swNTStatusName(code) {
		return "Breakpad does not name this NTSTATUS; ntstatus.h does"
	}
	if bp == "Uncaught NSException" && ours == "unknown 0x43506e78 / 0x00000000" {
		return "Breakpad names Crashpad's 'CPnx' code (an uncaught NSException); rust-minidump's Mac table lacks it"
	}
	return ""
}
