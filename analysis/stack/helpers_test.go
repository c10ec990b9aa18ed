package stack

import (
	"bufio"
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/dumpmap/dumpmap/analysis/internal/sharedtest"
	"github.com/dumpmap/dumpmap/minidump"
)

// sharedRoot returns the shared folder (with corpus/ and peers/), or skips.
func sharedRoot(t testing.TB) string {
	t.Helper()
	d := sharedtest.Dir(t) // .../shared/corpus/symbols
	return filepath.Dir(filepath.Dir(d))
}

// corpusDumps lists the corpus files that open as minidumps with a thread list.
func corpusDumps(t testing.TB) []string {
	t.Helper()
	root := filepath.Join(sharedRoot(t), "corpus")
	var out []string
	filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		if !strings.HasSuffix(p, ".dmp") && !strings.HasPrefix(rel, "rizin-testbins/") {
			return nil
		}
		f, err := minidump.Open(p)
		if err != nil {
			return nil
		}
		defer f.Close()
		if f.HasStream(minidump.StreamThreadList) && f.HasStream(minidump.StreamSystemInfo) {
			out = append(out, rel)
		}
		return nil
	})
	sort.Strings(out)
	return out
}

// bpFrame is one frame of minidump_stackwalk's human-readable output.
type bpFrame struct {
	index  int
	module string
	offset uint64 // module offset of the return address, or the address
	regs   map[string]uint64
	trust  string // "context", "cfi", "frame_pointer", "scan", "leaf", ...
}

type bpThread struct {
	index   int
	crashed bool
	frames  []bpFrame
}

var (
	bpThreadRe = regexp.MustCompile(`^Thread (\d+)( \(crashed\))?`)
	bpFrameRe  = regexp.MustCompile(`^\s*(\d+)  (.*)$`)
	bpRegRe    = regexp.MustCompile(`(\w+) = 0x([0-9a-f]+)`)
)

var bpTrust = map[string]string{
	"given as instruction pointer in context": "context",
	"call frame info":                         "cfi",
	"call frame info with scanning":           "cfi_scan",
	"previous frame's frame pointer":          "frame_pointer",
	"stack scanning":                          "scan",
	"simulating a return from leaf function":  "leaf",
	"inline record":                           "inline",
	"recovered by external stack walker":      "prewalked",
	"unknown":                                 "unknown",
}

// parseBreakpadStackwalk reads minidump_stackwalk's human output (every thread,
// every frame with its registers and "Found by" line).
func parseBreakpadStackwalk(out string) []bpThread {
	var ts []bpThread
	var cur *bpThread
	var fr *bpFrame
	sc := bufio.NewScanner(strings.NewReader(out))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if m := bpThreadRe.FindStringSubmatch(line); m != nil {
			n, _ := strconv.Atoi(m[1])
			ts = append(ts, bpThread{index: n, crashed: m[2] != ""})
			cur, fr = &ts[len(ts)-1], nil
			continue
		}
		if cur == nil {
			continue
		}
		if strings.HasPrefix(line, "Loaded modules:") {
			cur = nil
			continue
		}
		if m := bpFrameRe.FindStringSubmatch(line); m != nil && !strings.Contains(line, " = 0x") {
			n, _ := strconv.Atoi(m[1])
			f := bpFrame{index: n, regs: map[string]uint64{}}
			loc := m[2]
			if mod, off, ok := strings.Cut(loc, " + 0x"); ok {
				f.module = mod
				f.offset, _ = strconv.ParseUint(strings.Fields(off)[0], 16, 64)
			} else if strings.HasPrefix(loc, "0x") {
				f.offset, _ = strconv.ParseUint(strings.Fields(loc)[0][2:], 16, 64)
			}
			cur.frames = append(cur.frames, f)
			fr = &cur.frames[len(cur.frames)-1]
			continue
		}
		if fr == nil {
			continue
		}
		if s, ok := strings.CutPrefix(strings.TrimSpace(line), "Found by: "); ok {
			fr.trust = bpTrust[s]
			continue
		}
		for _, m := range bpRegRe.FindAllStringSubmatch(line, -1) {
			v, _ := strconv.ParseUint(m[2], 16, 64)
			fr.regs[m[1]] = v
		}
	}
	return ts
}

// runStackwalk runs Breakpad's minidump_stackwalk on a dump, or skips when it is
// not installed.
func runStackwalk(t testing.TB, path string) string {
	t.Helper()
	script := filepath.Join(sharedRoot(t), "peers", "run-peer.sh")
	home := os.Getenv("PEERS_HOME")
	if home == "" {
		h, _ := os.UserHomeDir()
		home = filepath.Join(h, ".cache", "minidump-peers")
	}
	if _, err := os.Stat(filepath.Join(home, "node", "node_modules", "minidump", "bin", "linux-x64", "minidump_stackwalk")); err != nil {
		t.Skipf("Breakpad's minidump_stackwalk is not installed (%v)", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var out bytes.Buffer
	cmd := exec.CommandContext(ctx, script, "breakpad-stackwalk", path)
	cmd.Stdout = &out
	cmd.Run()
	return out.String()
}

// walkDump opens a dump and walks every thread.
func walkDump(t testing.TB, path string, opts Options) (*Dump, Result) {
	t.Helper()
	f, err := minidump.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	d, err := NewDump(f, opts)
	if err != nil {
		t.Fatal(err)
	}
	return d, d.WalkAll()
}
