package stack

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// rustSnapshot reads the JSON of an insta snapshot of rust-minidump's
// minidump-stackwalk (the part after the second "---" line).
func rustSnapshot(t *testing.T, name string) map[string]any {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(sharedRoot(t), "corpus", "rust-minidump", "snapshots", name))
	if err != nil {
		t.Skip(err)
	}
	parts := strings.SplitN(string(b), "\n---\n", 2)
	if len(parts) != 2 {
		t.Fatalf("%s: no snapshot header", name)
	}
	var v map[string]any
	if err := json.Unmarshal([]byte(parts[1]), &v); err != nil {
		t.Fatal(err)
	}
	return v
}

func hexField(t *testing.T, m map[string]any, k string) (uint64, bool) {
	s, ok := m[k].(string)
	if !ok {
		return 0, false
	}
	v, err := strconv.ParseUint(strings.TrimPrefix(s, "0x"), 16, 64)
	if err != nil {
		t.Fatalf("%s = %q", k, s)
	}
	return v, true
}

// TestRustMinidumpSnapshot compares our walk of test.dmp (Breakpad's
// minidump2.dmp, x86 Windows) with rust-minidump's recorded output: every frame's
// trust, instruction address and module offset. rust-minidump reports a caller
// frame at the byte before its return address ("offset"), we at the return
// address itself (as Breakpad's -m output does), hence the -1.
func TestRustMinidumpSnapshot(t *testing.T) {
	snap := rustSnapshot(t, "test_minidump_stackwalk__json-pretty.snap")
	_, res := walkDump(t, filepath.Join(sharedRoot(t), "corpus", "rust-minidump", "test.dmp"), Options{})
	threads, _ := snap["threads"].([]any)
	compared := 0
	for _, ti := range threads {
		th := ti.(map[string]any)
		id := uint32(th["thread_id"].(float64))
		frames, _ := th["frames"].([]any)
		if len(frames) == 0 {
			continue // rust-minidump does not walk the thread that wrote the dump
		}
		var ours *Thread
		for i := range res.Threads {
			if res.Threads[i].ID == id {
				ours = &res.Threads[i]
			}
		}
		if ours == nil {
			t.Fatalf("thread %d not walked", id)
		}
		if len(ours.Frames) != len(frames) {
			t.Errorf("thread %d: %d frames, rust-minidump %d", id, len(ours.Frames), len(frames))
		}
		for i, fi := range frames {
			if i >= len(ours.Frames) {
				break
			}
			f := fi.(map[string]any)
			o := ours.Frames[i]
			off, _ := hexField(t, f, "offset")
			modOff, _ := hexField(t, f, "module_offset")
			adj := uint64(0)
			if i > 0 {
				adj = 1
			}
			if f["trust"] != o.Trust.String() || o.IP-adj != off || o.ModuleOffset-adj != modOff || f["module"] != o.Module {
				t.Errorf("thread %d frame %d: %s %#x %s+%#x, rust-minidump %v %#x %v+%#x", id, i, o.Trust, o.IP-adj, o.Module, o.ModuleOffset-adj, f["trust"], off, f["module"], modOff)
			}
			compared++
		}
	}
	if compared < 4 {
		t.Errorf("compared %d frames", compared)
	}
}
