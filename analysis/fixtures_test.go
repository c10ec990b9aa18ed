package analysis_test

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/dumpmap/dumpmap/analysis/process"

	"github.com/dumpmap/dumpmap/analysis"
	"github.com/dumpmap/dumpmap/analysis/symstore"
	"github.com/dumpmap/dumpmap/minidump"
	"github.com/ulikunitz/xz"
)

// The fixture lab (testdata/fixtures, docs/fixtures.md) ran real Windows programs
// under Wine and recorded, right before each dump, the target's own VirtualQuery walk,
// system information, heaps and a table of allocation probes. These tests check the
// reader, the region map and the verdicts against that truth.

type hexU64 uint64

func (h *hexU64) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	if s == "" {
		*h = 0
		return nil
	}
	v, err := strconv.ParseUint(strings.TrimPrefix(s, "0x"), 16, 64)
	*h = hexU64(v)
	return err
}

type truthRegion struct {
	Base              hexU64 `json:"base"`
	AllocationBase    hexU64 `json:"allocation_base"`
	AllocationProtect uint32 `json:"allocation_protect"`
	Size              uint64 `json:"size"`
	State             uint32 `json:"state"`
	Protect           uint32 `json:"protect"`
	Type              uint32 `json:"type"`
}

type truthProbe struct {
	Label               string `json:"label"`
	Size                uint64 `json:"size"`
	VirtualAlloc        bool   `json:"virtualalloc"`
	VirtualAllocBelow2G bool   `json:"virtualalloc_below_2g"`
	HeapAlloc           bool   `json:"heapalloc_process_heap"`
	Malloc              bool   `json:"malloc"`
}

type truth struct {
	Scenario          string `json:"scenario"`
	Dump              string `json:"dump"`
	CommittedAs       string `json:"committed_as"`
	FullMemory        bool   `json:"full_memory"`
	PointerSize       int    `json:"pointer_size"`
	ConfinedBelow     hexU64 `json:"confined_below"`
	AddressSpaceLimit string `json:"address_space_limit"`
	SystemInfo        struct {
		PageSize              uint64 `json:"page_size"`
		AllocationGranularity uint64 `json:"allocation_granularity"`
		MinApp                hexU64 `json:"minimum_application_address"`
		MaxApp                hexU64 `json:"maximum_application_address"`
		NumberOfProcessors    int    `json:"number_of_processors"`
		ProcessorArchitecture int    `json:"processor_architecture"`
	} `json:"system_info"`
	Modules []struct {
		Base hexU64 `json:"base"`
		Size uint32 `json:"size"`
		Name string `json:"name"`
	} `json:"modules"`
	Threads []struct {
		ID        uint32 `json:"id"`
		TEB       hexU64 `json:"teb"`
		StackBase hexU64 `json:"stack_base"`
	} `json:"threads"`
	ProcessHeap   hexU64        `json:"process_heap"`
	CRTHeap       hexU64        `json:"crt_heap"`
	Regions       []truthRegion `json:"regions"`
	Unallocatable []struct {
		Base hexU64 `json:"base"`
		Size uint64 `json:"size"`
	} `json:"free_but_unallocatable_below_4g"`
	Probes []truthProbe `json:"probes"`
}

type fixture struct {
	name  string
	truth *truth
	dump  string // path of the (decompressed) dump
}

var (
	fixturesOnce sync.Once
	fixturesAll  []fixture
	fixturesErr  error
	fixturesTmp  string
)

func fixtureDirAbs(t testing.TB) string {
	d, err := filepath.Abs(fixtureDir(t))
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func fixtureDir(t testing.TB) string {
	dir := filepath.Join("..", "testdata", "fixtures", "dumps")
	if _, err := os.Stat(dir); err != nil {
		t.Skip("fixture dumps not found:", err)
	}
	return dir
}

// openMaybeXZ returns a reader for name or, when only name.xz exists, its contents:
// through the xz command when there is one (ten times faster than the pure-Go
// decoder on the 30-50 MB full-memory dumps), else with github.com/ulikunitz/xz.
func openMaybeXZ(name string) (io.ReadCloser, error) {
	if f, err := os.Open(name); err == nil {
		return f, nil
	}
	if _, err := os.Stat(name + ".xz"); err != nil {
		return nil, err
	}
	if path, err := exec.LookPath("xz"); err == nil {
		cmd := exec.Command(path, "-dc", name+".xz")
		out, err := cmd.StdoutPipe()
		if err == nil && cmd.Start() == nil {
			return &cmdReader{out, cmd}, nil
		}
	}
	f, err := os.Open(name + ".xz")
	if err != nil {
		return nil, err
	}
	r, err := xz.NewReader(f)
	if err != nil {
		f.Close()
		return nil, err
	}
	return struct {
		io.Reader
		io.Closer
	}{r, f}, nil
}

// loadFixtures reads every truth file and decompresses the dumps that need it, once
// per test binary.
func loadFixtures(t *testing.T) []fixture {
	t.Helper()
	dir := fixtureDir(t)
	fixturesOnce.Do(func() {
		tmp, err := os.MkdirTemp("", "dumpmap-fixtures-")
		if err != nil {
			fixturesErr = err
			return
		}
		fixturesTmp = tmp
		names, _ := filepath.Glob(filepath.Join(dir, "*.json*"))
		sort.Strings(names)
		for _, n := range names {
			base := strings.TrimSuffix(strings.TrimSuffix(filepath.Base(n), ".xz"), ".json")
			if strings.HasPrefix(base, "wine-facts") {
				continue
			}
			rc, err := openMaybeXZ(filepath.Join(dir, base+".json"))
			if err != nil {
				fixturesErr = err
				return
			}
			var tr truth
			err = json.NewDecoder(rc).Decode(&tr)
			rc.Close()
			if err != nil {
				fixturesErr = fmt.Errorf("%s: %v", n, err)
				return
			}
			dumpPath := filepath.Join(dir, base+".dmp")
			if _, err := os.Stat(dumpPath); err != nil {
				// A full-memory dump: decompress it once.
				rc, err := openMaybeXZ(dumpPath)
				if err != nil {
					fixturesErr = err
					return
				}
				dumpPath = filepath.Join(tmp, base+".dmp")
				out, err := os.Create(dumpPath)
				if err == nil {
					_, err = io.Copy(out, rc)
					out.Close()
				}
				rc.Close()
				if err != nil {
					fixturesErr = err
					return
				}
			}
			fixturesAll = append(fixturesAll, fixture{name: base, truth: &tr, dump: dumpPath})
		}
	})
	if fixturesErr != nil {
		t.Fatal(fixturesErr)
	}
	if len(fixturesAll) < 9 {
		t.Fatalf("only %d fixtures found", len(fixturesAll))
	}
	return fixturesAll
}

// cmdReader reads a command's output and waits for it on Close.
type cmdReader struct {
	io.ReadCloser
	cmd *exec.Cmd
}

func (c *cmdReader) Close() error {
	c.ReadCloser.Close()
	return c.cmd.Wait()
}

func TestMain(m *testing.M) {
	code := m.Run()
	if fixturesTmp != "" {
		os.RemoveAll(fixturesTmp)
	}
	os.Exit(code)
}

func (fx fixture) open(t *testing.T) *minidump.File {
	t.Helper()
	f, err := minidump.Open(fx.dump)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

// TestFixtureReader: the parsed dump agrees with what the target recorded (issue 3).
func TestFixtureReader(t *testing.T) {
	for _, fx := range loadFixtures(t) {
		t.Run(fx.name, func(t *testing.T) {
			tr := fx.truth
			f := fx.open(t)
			si, err := f.SystemInfo()
			if err != nil {
				t.Fatal(err)
			}
			if int(si.Arch) != tr.SystemInfo.ProcessorArchitecture || int(si.NumberOfProcessors) != tr.SystemInfo.NumberOfProcessors {
				t.Errorf("SystemInfo arch %d cpus %d, truth %d %d", si.Arch, si.NumberOfProcessors, tr.SystemInfo.ProcessorArchitecture, tr.SystemInfo.NumberOfProcessors)
			}
			mods, err := f.Modules()
			if err != nil {
				t.Fatal(err)
			}
			byBase := map[uint64]minidump.Module{}
			for _, m := range mods {
				byBase[m.Base] = m
			}
			for _, tm := range tr.Modules {
				m, ok := byBase[uint64(tm.Base)]
				if !ok {
					t.Errorf("module %s at %#x missing from the dump", tm.Name, uint64(tm.Base))
					continue
				}
				if m.Size != tm.Size || !strings.EqualFold(m.Name, tm.Name) {
					t.Errorf("module at %#x: dump %q %#x, truth %q %#x", uint64(tm.Base), m.Name, m.Size, tm.Name, tm.Size)
				}
			}
			if len(mods) != len(tr.Modules) {
				t.Errorf("%d modules in the dump, %d in the truth", len(mods), len(tr.Modules))
			}
			threads, err := f.Threads()
			if err != nil {
				t.Fatal(err)
			}
			tebs := map[uint32]uint64{}
			for _, th := range threads {
				tebs[th.ID] = th.TEB
			}
			for _, tt := range tr.Threads {
				if teb, ok := tebs[tt.ID]; !ok || teb != uint64(tt.TEB) {
					t.Errorf("thread %d: TEB %#x in the dump, %#x in the truth (present %v)", tt.ID, teb, uint64(tt.TEB), ok)
				}
			}
			if !f.HasStream(minidump.StreamMemoryInfoList) {
				if len(tr.Regions) == 0 || !strings.HasSuffix(fx.name, "-raw") {
					t.Errorf("no MemoryInfoList")
				}
				return
			}
			list, err := f.MemoryInfo()
			if err != nil {
				t.Fatal(err)
			}
			if len(list) != len(tr.Regions) {
				t.Fatalf("%d MemoryInfoList entries, %d truth regions", len(list), len(tr.Regions))
			}
			for i, e := range list {
				w := tr.Regions[i]
				got := truthRegion{hexU64(e.BaseAddress), hexU64(e.AllocationBase), uint32(e.AllocationProtect), e.RegionSize, uint32(e.State), uint32(e.Protect), uint32(e.Type)}
				if got != w {
					t.Fatalf("entry %d: dump %+v, truth %+v", i, got, w)
				}
			}
		})
	}
}

// truthFree merges the truth walk's free rows into runs within [0, end).
func truthFree(rs []truthRegion, end uint64) [][2]uint64 {
	var runs [][2]uint64
	for _, r := range rs {
		if r.State != uint32(minidump.MemFree) {
			continue
		}
		lo, hi := uint64(r.Base), min(uint64(r.Base)+r.Size, end)
		if lo >= hi {
			continue
		}
		if n := len(runs); n > 0 && runs[n-1][1] == lo {
			runs[n-1][1] = hi
			continue
		}
		runs = append(runs, [2]uint64{lo, hi})
	}
	return runs
}

// TestFixtureMap: the region map equals the truth walk, and the largest free and
// largest usable free blocks equal what the truth gives by the rule of
// docs/windows-memory.md, computed here independently (issue 4).
func TestFixtureMap(t *testing.T) {
	for _, fx := range loadFixtures(t) {
		if len(fx.truth.Regions) == 0 {
			continue
		}
		t.Run(fx.name, func(t *testing.T) {
			tr := fx.truth
			f := fx.open(t)
			m, err := analysis.NewMap(process.New(f, process.Options{}), analysis.Options{})
			if err != nil {
				t.Fatal(err)
			}
			if strings.HasSuffix(fx.name, "-raw") {
				if !m.Partial {
					t.Error("a dump without MemoryInfoList gave a complete map")
				}
				return
			}
			maxApp := uint64(tr.SystemInfo.MaxApp)
			if m.Space.MaxAddress != maxApp || m.Space.MinAddress != uint64(tr.SystemInfo.MinApp) {
				t.Errorf("space %#x-%#x, truth %#x-%#x (%s)", m.Space.MinAddress, m.Space.MaxAddress, uint64(tr.SystemInfo.MinApp), maxApp, m.Space.LimitsFrom)
			}
			end := maxApp + 1
			// Busy regions: one map region per truth row, field for field.
			for _, w := range tr.Regions {
				if w.State == uint32(minidump.MemFree) || uint64(w.Base) >= end {
					continue
				}
				r := m.Region(uint64(w.Base))
				if r == nil || r.Base != uint64(w.Base) || r.Size != w.Size || uint32(r.State) != w.State || uint32(r.Type) != w.Type ||
					uint32(r.Protect) != w.Protect || r.AllocationBase != uint64(w.AllocationBase) || uint32(r.AllocationProtect) != w.AllocationProtect {
					t.Fatalf("truth %+v, map %+v", w, r)
				}
			}
			// Free runs: the same runs, and the same largest and largest usable blocks.
			runs := truthFree(tr.Regions, end)
			got := m.FreeRuns()
			if len(got) != len(runs) {
				t.Fatalf("%d free runs, truth %d", len(got), len(runs))
			}
			g := tr.SystemInfo.AllocationGranularity
			var largest, usable [2]uint64
			var unusable uint64
			for i, r := range runs {
				if got[i].Base != r[0] || got[i].End() != r[1] {
					t.Fatalf("run %d: %#x-%#x, truth %#x-%#x", i, got[i].Base, got[i].End(), r[0], r[1])
				}
				if r[1]-r[0] > largest[1]-largest[0] {
					largest = r
				}
				lo := max((r[0]+g-1)/g*g, uint64(tr.SystemInfo.MinApp))
				hi := r[1] / g * g
				if hi > lo && hi-lo > usable[1]-usable[0] {
					usable = [2]uint64{lo, hi}
				}
				if hi > lo {
					unusable += (r[1] - r[0]) - (hi - lo)
				} else {
					unusable += r[1] - r[0]
				}
			}
			st := m.FreeStats()
			if st.Largest.Base != largest[0] || st.Largest.End() != largest[1] {
				t.Errorf("largest free %#x-%#x, truth %#x-%#x", st.Largest.Base, st.Largest.End(), largest[0], largest[1])
			}
			if st.LargestUsable.UsableBase != usable[0] || st.LargestUsable.UsableBase+st.LargestUsable.UsableSize != usable[1] {
				t.Errorf("largest usable %#x+%#x, truth %#x-%#x", st.LargestUsable.UsableBase, st.LargestUsable.UsableSize, usable[0], usable[1])
			}
			if st.Unusable != unusable {
				t.Errorf("unusable %d, truth %d", st.Unusable, unusable)
			}
			// Stacks agree with the thread list; images with the module list.
			for _, th := range tr.Threads {
				if r := m.Region(uint64(th.StackBase) - 1); r == nil || r.Usage != analysis.UsageStack || r.ThreadID != th.ID {
					t.Errorf("stack top of thread %d: %+v", th.ID, r)
				}
			}
			for _, md := range tr.Modules {
				if r := m.Region(uint64(md.Base)); r == nil || r.Usage != analysis.UsageImage || !strings.EqualFold(r.Detail(), md.Name) {
					t.Errorf("module %s: %+v", md.Name, r)
				}
			}
		})
	}
}

// TestFixtureProbes: every verdict agrees with what the allocation really did in the
// live process (issue 5). Wine's free-looking but unallocatable granules, which the
// truth lists, are passed as known holes. Depends verdicts are allowed only for the
// heap paths and are counted.
func TestFixtureProbes(t *testing.T) {
	type tally struct{ agree, depends, total int }
	counts := map[string]*tally{}
	for _, fx := range loadFixtures(t) {
		if len(fx.truth.Probes) == 0 || strings.HasSuffix(fx.name, "-raw") {
			continue
		}
		t.Run(fx.name, func(t *testing.T) {
			tr := fx.truth
			f := fx.open(t)
			var holes []analysis.AddrRange
			for _, u := range tr.Unallocatable {
				holes = append(holes, analysis.AddrRange{Start: uint64(u.Base), End: uint64(u.Base) + u.Size})
			}
			// The fixtures' own directory is the symbol and image path: crtheap.pdb
			// and crtheap.exe lie beside the dumps.
			sp, err := symstore.Parse(fixtureDirAbs(t))
			if err != nil {
				t.Fatal(err)
			}
			p := process.New(f, process.Options{SymbolPath: sp, ImagePath: []string{fixtureDirAbs(t)}})
			defer p.Close()
			m, err := analysis.NewMap(p, analysis.Options{Unavailable: holes})
			if err != nil {
				t.Fatal(err)
			}
			// The seed process capped its own address space at what it used (RLIMIT_AS):
			// it is a 2 GB process, analysed below 2 GB on every path.
			limit := uint64(0)
			if tr.AddressSpaceLimit != "" {
				limit = uint64(tr.ConfinedBelow)
			}
			check := func(column string, via analysis.Via, below uint64, want bool, size uint64, heapOK bool) {
				x := m.Explain(analysis.Request{Size: size, Via: via, Below: below})
				c := counts[column]
				if c == nil {
					c = &tally{}
					counts[column] = c
				}
				c.total++
				switch {
				case x.Verdict == analysis.Depends && heapOK:
					c.depends++
					t.Logf("%s %s depends (the process saw %v): %s", column, fmtSize(size), want, x.Condition)
				case (x.Verdict == analysis.Succeed) == want && x.Verdict != analysis.Depends:
					c.agree++
				default:
					t.Errorf("%s %s (%d bytes): verdict %s, the process saw %v\n  %s", column, fmtSize(size), size, x.Verdict, want, strings.Join(x.Reasons, "\n  "))
				}
			}
			for _, p := range tr.Probes {
				check("virtualalloc", analysis.ViaVirtualAlloc, limit, p.VirtualAlloc, p.Size, false)
				check("virtualalloc below 2G", analysis.ViaVirtualAlloc, 0x80000000, p.VirtualAllocBelow2G, p.Size, false)
				check("heap", analysis.ViaHeap, limit, p.HeapAlloc, p.Size, true)
				check("malloc", analysis.ViaMalloc, limit, p.Malloc, p.Size, true)
			}
		})
	}
	for col, c := range counts {
		t.Logf("%-22s %3d probes: %3d agree, %3d depend on a fact the dump lacks", col, c.total, c.agree, c.depends)
	}
}

func fmtSize(n uint64) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%dM", n>>20)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%dK", n>>10)
	}
	return fmt.Sprint(n)
}
