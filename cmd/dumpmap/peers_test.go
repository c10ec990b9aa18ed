package main

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/dumpmap/dumpmap/analysis/render"
	"github.com/dumpmap/dumpmap/minidump"
)

// The tests in this file check the CLI's JSON against an independent parser:
// Breakpad's minidump_dump, run through ../shared/peers/run-peer.sh when the peers are
// installed (~/.cache/minidump-peers), and the oracle output stored in the corpus
// (breakpad/minidump2.dump.out) otherwise. Since TestGolden pins the same commands'
// output, the goldens are checked against Breakpad too.

// bpBlock is one record of minidump_dump's output: a title line ("MDRawModule",
// "MDRawThread", ...) and its "key = value" lines.
type bpBlock struct {
	kind   string
	fields map[string]string
	memory string // for a "Memory" or "Stack" block: the bytes in hex
}

func parseBreakpad(out string) []bpBlock {
	var blocks []bpBlock
	for _, line := range strings.Split(out, "\n") {
		switch {
		case line == "":
		case strings.HasPrefix(line, "  "):
			if len(blocks) == 0 {
				continue
			}
			k, v, ok := strings.Cut(strings.TrimSpace(line), "=")
			if ok {
				blocks[len(blocks)-1].fields[strings.TrimSpace(k)] = strings.TrimSpace(v)
			}
		case strings.HasPrefix(line, "0x") && len(blocks) > 0 && (blocks[len(blocks)-1].kind == "Memory" || blocks[len(blocks)-1].kind == "Stack"):
			blocks[len(blocks)-1].memory = strings.TrimPrefix(line, "0x")
		default:
			blocks = append(blocks, bpBlock{kind: strings.TrimSpace(line), fields: map[string]string{}})
		}
	}
	return blocks
}

func (b bpBlock) num(t *testing.T, key string) uint64 {
	t.Helper()
	v, ok := b.fields[key]
	if !ok {
		t.Fatalf("%s has no %s", b.kind, key)
	}
	v, _, _ = strings.Cut(v, " ")
	n, err := strconv.ParseUint(v, 0, 64)
	if err != nil {
		t.Fatalf("%s %s = %q: %v", b.kind, key, v, err)
	}
	return n
}

// str returns a quoted string field without its quotes ("" for "(null)").
func (b bpBlock) str(key string) string {
	v := b.fields[key]
	if v == "(null)" {
		return ""
	}
	if len(v) >= 2 && v[0] == '"' && v[len(v)-1] == '"' {
		return v[1 : len(v)-1]
	}
	return v
}

func blocksOf(bs []bpBlock, kind string) []bpBlock {
	var out []bpBlock
	for _, b := range bs {
		if b.kind == kind {
			out = append(out, b)
		}
	}
	return out
}

// breakpadTruth returns minidump_dump's output for a corpus file: from the peer when
// it is installed, else from the stored oracle; ok is false when neither exists.
func breakpadTruth(t *testing.T, corpus, path string) (out string, source string, ok bool) {
	peer := filepath.Join(corpus, "..", "peers", "run-peer.sh")
	home := os.Getenv("PEERS_HOME")
	if home == "" {
		if h, err := os.UserHomeDir(); err == nil {
			home = filepath.Join(h, ".cache", "minidump-peers")
		}
	}
	if _, err := os.Stat(filepath.Join(home, "node", "node_modules", "minidump")); err == nil {
		if _, err := os.Stat(peer); err == nil {
			var o bytes.Buffer
			cmd := exec.Command(peer, "breakpad-dump", path)
			cmd.Stdout = &o
			_ = cmd.Run() // exits 1 when a stream it wants is absent, after printing the rest
			if o.Len() > 0 {
				return o.String(), "minidump_dump", true
			}
		}
	}
	if strings.HasSuffix(path, filepath.Join("breakpad", "minidump2.dmp")) {
		b, err := os.ReadFile(filepath.Join(corpus, "breakpad", "minidump2.dump.out"))
		if err == nil {
			return string(b), "breakpad/minidump2.dump.out", true
		}
	}
	return "", "", false
}

// windowsDumps lists the corpus dumps of Windows processes.
func windowsDumps(t *testing.T) []string {
	var out []string
	for _, p := range corpusDumps(t) {
		f, err := minidump.Open(p)
		if err != nil {
			continue
		}
		si, err := f.SystemInfo()
		f.Close()
		if err == nil && si.Platform.IsWindows() {
			out = append(out, p)
		}
	}
	return out
}

func runJSON(t *testing.T, v any, args ...string) {
	t.Helper()
	out, errOut, code := runCLI(args...)
	if code != 0 {
		t.Fatalf("%v: exit %d: %s", args, code, errOut)
	}
	if err := json.Unmarshal([]byte(out), v); err != nil {
		t.Fatalf("%v: %v", args, err)
	}
}

// TestAgainstBreakpad compares modules, threads, the memory list (with the bytes
// `read` returns), the stream directory and the exception of every Windows dump of
// the corpus with what Breakpad's minidump_dump reads from the same file.
func TestAgainstBreakpad(t *testing.T) {
	corpus := corpusDir(t)
	files := windowsDumps(t)
	if len(files) == 0 {
		t.Fatal("no Windows dumps in the corpus")
	}
	if testing.Short() {
		t.Skip("runs an external parser on every Windows dump; skipped with -short")
	}
	var compared atomic.Int32
	t.Cleanup(func() { t.Logf("compared %d of %d Windows dumps with Breakpad", compared.Load(), len(files)) })
	for _, path := range files {
		rel, _ := filepath.Rel(corpus, path)
		t.Run(rel, func(t *testing.T) {
			t.Parallel()
			out, source, ok := breakpadTruth(t, corpus, path)
			if !ok {
				t.Skip("Breakpad's minidump_dump is not installed (../shared/peers/install.sh) and there is no stored oracle")
			}
			compared.Add(1)
			bp := parseBreakpad(out)
			t.Logf("truth: %s", source)
			compareModules(t, path, bp)
			compareThreads(t, path, bp)
			compareMemory(t, path, bp)
			compareStreams(t, path, bp)
			compareException(t, path, bp)
		})
	}
}

func compareModules(t *testing.T, path string, bp []bpBlock) {
	var got struct {
		Modules []render.Module `json:"modules"`
	}
	runJSON(t, &got, "modules", "--json", path)
	want := blocksOf(bp, "MDRawModule")
	if len(want) == 0 && len(got.Modules) > 0 {
		// minidump_dump gives up the whole list when one module's name is damaged
		// (rizin's fuzzed file); we keep the others. Nothing to compare with.
		t.Logf("Breakpad printed no module list; we read %d modules", len(got.Modules))
		return
	}
	if len(got.Modules) != len(want) {
		t.Fatalf("modules: %d, Breakpad %d", len(got.Modules), len(want))
	}
	for i, w := range want {
		g := got.Modules[i]
		if uint64(g.Base) != w.num(t, "base_of_image") || g.Size != w.num(t, "size_of_image") || g.Name != w.str("(code_file)") {
			t.Errorf("module %d: base %s size %#x name %q; Breakpad base %#x size %#x name %q", i,
				g.Base, g.Size, g.Name, w.num(t, "base_of_image"), w.num(t, "size_of_image"), w.str("(code_file)"))
		}
		if uint64(g.Checksum) != w.num(t, "checksum") || uint64(g.Timestamp) != w.num(t, "time_date_stamp") {
			t.Errorf("module %d (%s): checksum/timestamp %s/%#x, Breakpad %#x/%#x", i, g.FileName,
				g.Checksum, g.Timestamp, w.num(t, "checksum"), w.num(t, "time_date_stamp"))
		}
		if v := w.str("(version)"); v != "" && v != g.FileVersion {
			t.Errorf("module %d (%s): version %q, Breakpad %q", i, g.FileName, g.FileVersion, v)
		}
		// Breakpad writes the age in lower-case hex, we in upper case like the rest of
		// the key; symbol stores compare keys without regard to case.
		if sig, ok := w.fields["(cv_record).cv_signature"]; ok && sig == "0x53445352" {
			if g.CodeView == nil || g.CodeView.PDBPath != w.str("(cv_record).pdb_file_name") || !strings.EqualFold(g.DebugID, w.str("(debug_identifier)")) {
				t.Errorf("module %d (%s): codeview %+v debug id %q; Breakpad pdb %q id %q", i, g.FileName, g.CodeView, g.DebugID,
					w.str("(cv_record).pdb_file_name"), w.str("(debug_identifier)"))
			}
		}
	}
}

func compareThreads(t *testing.T, path string, bp []bpBlock) {
	var got struct {
		Threads []render.Thread `json:"threads"`
	}
	runJSON(t, &got, "threads", "--json", path)
	want := blocksOf(bp, "MDRawThread")
	if len(got.Threads) != len(want) {
		t.Fatalf("threads: %d, Breakpad %d", len(got.Threads), len(want))
	}
	stacks := blocksOf(bp, "Stack")
	for i, w := range want {
		g := got.Threads[i]
		if len(stacks) == len(want) && stacks[i].memory != "" && g.Stack.Size > 0 && g.Stack.Size <= 1<<20 {
			var rd render.Read
			runJSON(t, &rd, "read", "--json", path, g.Stack.Start.String(), strconv.FormatUint(g.Stack.Size, 10))
			if rd.Missing == 0 && rd.Data != stacks[i].memory {
				t.Errorf("thread %d: the stack bytes read differ from the bytes Breakpad prints", g.ID)
			}
		}
		if uint64(g.ID) != w.num(t, "thread_id") || uint64(g.TEB) != w.num(t, "teb") ||
			uint64(g.Stack.Start) != w.num(t, "stack.start_of_memory_range") || g.Stack.Size != w.num(t, "stack.memory.data_size") ||
			uint64(g.Stack.Offset) != w.num(t, "stack.memory.rva") ||
			g.Context.Size != w.num(t, "thread_context.data_size") || uint64(g.Context.Offset) != w.num(t, "thread_context.rva") {
			t.Errorf("thread %d: %+v; Breakpad %v", i, g, w.fields)
		}
	}
}

func compareMemory(t *testing.T, path string, bp []bpBlock) {
	var got struct {
		Ranges []render.Range `json:"ranges"`
	}
	runJSON(t, &got, "memory", "--json", path)
	var ours []render.Range
	for _, r := range got.Ranges {
		if r.Source == "MemoryList" {
			ours = append(ours, r)
		}
	}
	// minidump_dump prints each MemoryList descriptor followed by its bytes.
	var want []bpBlock
	var data []string
	for i, b := range bp {
		if b.kind == "MDMemoryDescriptor" {
			want = append(want, b)
			d := ""
			if i+1 < len(bp) && bp[i+1].kind == "Memory" {
				d = bp[i+1].memory
			}
			data = append(data, d)
		}
	}
	if len(want) != len(ours) {
		t.Fatalf("MemoryList ranges: %d, Breakpad %d", len(ours), len(want))
	}
	// Our list is sorted by address; Breakpad's is in file order.
	byStart := map[uint64]render.Range{}
	for _, r := range ours {
		byStart[uint64(r.Start)] = r
	}
	for i, w := range want {
		start, size := w.num(t, "start_of_memory_range"), w.num(t, "memory.data_size")
		r, ok := byStart[start]
		if !ok || r.Size != size || uint64(r.Offset) != w.num(t, "memory.rva") {
			t.Errorf("MemoryList range at %#x+%#x: ours %+v", start, size, r)
			continue
		}
		// Compare the bytes of the first ranges: enough to prove read, fast enough
		// for a dump of 1,516 ranges.
		if i >= 64 || data[i] == "" || size == 0 || size > 1<<20 || r.Missing > 0 {
			continue
		}
		var rd render.Read
		runJSON(t, &rd, "read", "--json", path, render.Hex(start).String(), strconv.FormatUint(size, 10))
		if rd.Data != data[i] {
			t.Errorf("read %#x+%#x differs from the bytes Breakpad prints", start, size)
		}
	}
}

func compareStreams(t *testing.T, path string, bp []bpBlock) {
	var got struct {
		Streams []render.Stream `json:"streams"`
	}
	runJSON(t, &got, "streams", "--json", path)
	want := blocksOf(bp, "MDRawDirectory")
	if len(got.Streams) != len(want) {
		t.Fatalf("streams: %d, Breakpad %d", len(got.Streams), len(want))
	}
	for i, w := range want {
		g := got.Streams[i]
		if uint64(g.TypeNumber) != w.num(t, "stream_type") || uint64(g.Size) != w.num(t, "location.data_size") || uint64(g.Offset) != w.num(t, "location.rva") {
			t.Errorf("stream %d: %+v; Breakpad %v", i, g, w.fields)
		}
	}
}

func compareException(t *testing.T, path string, bp []bpBlock) {
	want := blocksOf(bp, "MDException")
	var got render.Info
	runJSON(t, &got, "info", "--json", path)
	if len(want) == 0 {
		if got.Exception != nil {
			t.Errorf("exception %+v, Breakpad none", got.Exception)
		}
		return
	}
	w := want[0]
	x := got.Exception
	if x == nil {
		t.Fatalf("no exception, Breakpad %v", w.fields)
	}
	if uint64(x.ThreadID) != w.num(t, "thread_id") || uint64(x.Code) != w.num(t, "exception_record.exception_code") ||
		uint64(x.Address) != w.num(t, "exception_record.exception_address") ||
		uint64(len(x.Parameters)) != w.num(t, "exception_record.number_parameters") {
		t.Errorf("exception %+v; Breakpad %v", x, w.fields)
	}
}

// TestModulesOracle checks `modules --json` on breakpad/minidump2.dmp against the
// oracle output stored in the corpus, with or without the peers installed.
func TestModulesOracle(t *testing.T) {
	corpus := corpusDir(t)
	b, err := os.ReadFile(filepath.Join(corpus, "breakpad", "minidump2.dump.out"))
	if err != nil {
		t.Skip(err)
	}
	bp := parseBreakpad(string(b))
	path := filepath.Join(corpus, "breakpad", "minidump2.dmp")
	compareModules(t, path, bp)
	compareThreads(t, path, bp)
	compareMemory(t, path, bp)
	compareException(t, path, bp)
	if n := len(blocksOf(bp, "MDRawModule")); n != 13 {
		t.Errorf("oracle parse: %d modules, want 13", n)
	}
}
