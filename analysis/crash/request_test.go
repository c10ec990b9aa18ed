package crash

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/dumpmap/dumpmap/analysis/process"
	"github.com/dumpmap/dumpmap/minidump"
	"github.com/dumpmap/dumpmap/minidump/minidumptest"
)

// TestRequestFixtures finds the failed allocation of each out-of-memory crash
// fixture from the dump alone and compares it with what the process recorded
// before it crashed (scenario_data: requested_size, heap_handle, element_size,
// old_count, old_capacity, new_capacity, thrown_type, written by
// testdata/fixtures/src/crashfx.c). The path is the allocator the truth's
// allocation_path names first. The dumps are read with the fixture images on
// the image path, as a user would give them: crash.exe's function names come
// from its COFF symbols. A small dump does not hold the vector object (a global
// in crash.exe's data), so its element size must be reported unknown, with the
// reason; the full-memory dump must give it. The callstack fixture, an access
// violation, must yield no request.
func TestRequestFixtures(t *testing.T) {
	const dir = "../../testdata/fixtures/dumps"
	cases := []struct {
		name string
		path Path
		// heapUnknown: the heap is not on the stack (Chromium reports after its
		// allocator returned), though the truth records it.
		heapUnknown bool
	}{
		{"oom-cxx", PathOperatorNew, false}, // "msvcr120.dll operator new(size_t) ... throw std::bad_alloc"
		{"oom-vector", PathVector, false},   // "Loader_Add -> vector_Item_emplace_reallocate -> ... operator new"
		{"oom-heap", PathHeap, false},       // "HeapAlloc(heap, HEAP_GENERATE_EXCEPTIONS, requested_size)"
		{"oom-chromium", PathHeap, true},    // "... HeapAlloc on a heap with a maximum returns NULL -> base_TerminateBecauseOutOfMemory(size)"
		{"callstack", "", false},            // an access violation: no request
	}
	for _, c := range cases {
		raw, err := os.ReadFile(filepath.Join(dir, c.name+".json"))
		if err != nil {
			t.Skip(err)
		}
		var truth struct {
			Scenario map[string]any `json:"scenario_data"`
		}
		if err := json.Unmarshal(raw, &truth); err != nil {
			t.Fatal(err)
		}
		num := func(key string) (uint64, bool) {
			switch v := truth.Scenario[key].(type) {
			case float64:
				return uint64(v), true
			case string:
				n, err := strconv.ParseUint(v, 0, 64)
				return n, err == nil
			}
			return 0, false
		}
		for _, dump := range []string{c.name + ".dmp", c.name + "-full.dmp.xz"} {
			t.Run(dump, func(t *testing.T) {
				path := filepath.Join(dir, dump)
				opts := process.Options{ImagePath: []string{"../../testdata/fixtures/images"}}
				full := strings.HasSuffix(dump, ".xz")
				if full {
					if testing.Short() {
						t.Skip("unpacks a full-memory dump")
					}
					path = minidumptest.UnpackXZ(t, path)
				}
				f, err := minidump.Open(path)
				if err != nil {
					t.Fatal(err)
				}
				defer f.Close()
				p := process.New(f, opts)
				defer p.Close()
				a := Analyze(context.Background(), p)
				r := a.Request
				if c.path == "" {
					if r != nil {
						t.Fatalf("a request in a crash that is not an allocation failure: %+v", r)
					}
					if len(a.Looked) == 0 {
						t.Error("no word on what was looked for")
					}
					return
				}
				if r == nil {
					t.Fatalf("no request found; looked for %v (stack: %v)", a.Looked, a.StackErr)
				}
				b, _ := json.MarshalIndent(r, "", "  ")
				t.Logf("%s", b)
				if r.Path != c.path {
					t.Errorf("path %q, want %q", r.Path, c.path)
				}
				if want, _ := num("requested_size"); r.Size != want {
					t.Errorf("size %d, the process asked for %d", r.Size, want)
				}
				if want, ok := num("heap_handle"); ok && !c.heapUnknown {
					if r.Heap == nil || uint64(*r.Heap) != want {
						t.Errorf("heap %v, the process used %#x", r.Heap, want)
					}
				}
				if c.heapUnknown && r.Heap != nil {
					t.Errorf("heap %#x claimed, though the stack no longer holds it", uint64(*r.Heap))
				}
				if _, ok := num("element_size"); ok && !full {
					found := false
					for _, u := range r.Unknown {
						found = found || u.What == "element size" && strings.Contains(u.Why, "not in the dump")
					}
					if r.ElementSize != 0 || !found {
						t.Errorf("element size %d with unknowns %v: the small dump does not hold the vector", r.ElementSize, r.Unknown)
					}
				} else {
					for key, got := range map[string]uint64{"element_size": r.ElementSize, "old_count": r.OldSize, "old_capacity": r.OldCapacity, "new_capacity": r.NewCapacity} {
						if want, ok := num(key); ok && got != want {
							t.Errorf("%s %d, the process recorded %d", key, got, want)
						}
					}
				}
				if want, ok := num("vector"); ok && (r.Container == nil || uint64(*r.Container) != want) {
					t.Errorf("vector at %v, the process's is at %#x", r.Container, want)
				}
				if want, ok := num("old_buffer"); ok && full && (r.OldBuffer == nil || uint64(*r.OldBuffer) != want) {
					t.Errorf("old buffer %v, the process's was %#x", r.OldBuffer, want)
				}
				if want, _ := truth.Scenario["thrown_type"].(string); want != "" && r.ThrownType != want {
					t.Errorf("thrown type %q, want %q", r.ThrownType, want)
				}
				if len(r.Evidence) < 2 {
					t.Errorf("evidence chain too short: %v", r.Evidence)
				}
			})
		}
	}
}

// BenchmarkAnalyze measures the whole crash analysis of an out-of-memory crash
// fixture (exception, the crashing thread's walk, the allocator's arguments
// recovered from Wine's ntdll code in the image file): what info, report and
// triage add per dump that shows an allocation failure.
func BenchmarkAnalyze(b *testing.B) {
	path := filepath.Join("../../testdata/fixtures/dumps", "oom-heap.dmp")
	opts := process.Options{ImagePath: []string{"../../testdata/fixtures/images"}}
	for b.Loop() {
		f, err := minidump.Open(path)
		if err != nil {
			b.Skip(err)
		}
		p := process.New(f, opts)
		if a := Analyze(context.Background(), p); a.Request == nil || a.Request.Size != 65536 {
			b.Fatal("no request")
		}
		p.Close()
		f.Close()
	}
	b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N), "µs/dump")
}
