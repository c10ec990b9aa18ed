package stack

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/dumpmap/dumpmap/analysis/pe"
	"github.com/dumpmap/dumpmap/analysis/process"
	"github.com/dumpmap/dumpmap/minidump"
	"github.com/dumpmap/dumpmap/minidump/minidumptest"
)

const fixtureDir = "../../testdata/fixtures/dumps"

// openFixture opens a fixture dump, unpacking an .xz one (minidumptest.UnpackXZ).
func openFixture(t testing.TB, name string) *minidump.File {
	t.Helper()
	path := filepath.Join(fixtureDir, name)
	if strings.HasSuffix(name, ".xz") {
		path = minidumptest.UnpackXZ(t, path)
	}
	f, err := minidump.Open(path)
	if err != nil {
		t.Skip(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

// exportSymbolizer names code by the nearest export at or below it, reading each
// module's export table from the dump's memory: a test double standing for real
// symbols, enough to name the thread-start functions every stack ends in.
type exportSymbolizer struct {
	mem   *minidump.Memory
	cache map[string][]pe.Export
}

func (s *exportSymbolizer) Symbolize(m *Module, off uint64) (Symbol, bool) {
	exps, ok := s.cache[m.Name]
	if !ok {
		f, err := pe.NewMapped(pe.MemoryReader(s.mem.ReadAt, m.Base), int64(m.Size))
		if err == nil {
			if d, err := f.Exports(); err == nil && d != nil {
				for _, e := range d.Exports {
					if e.Forwarder == "" && e.Name != "" {
						exps = append(exps, e)
					}
				}
			}
		}
		sort.Slice(exps, func(i, j int) bool { return exps[i].RVA < exps[j].RVA })
		s.cache[m.Name] = exps
	}
	i := sort.Search(len(exps), func(i int) bool { return uint64(exps[i].RVA) > off }) - 1
	if i < 0 {
		return Symbol{}, false
	}
	return Symbol{Function: exps[i].Name, Start: uint64(exps[i].RVA)}, true
}

// TestWineFullDumps walks the threads of the Wine fixtures' full-memory dumps,
// whose module images (and so their .pdata) are in the dump. Every caller frame
// must come from the unwind data, and each stack must end where a Windows thread
// starts: kernel32's BaseThreadInitThunk called from ntdll's RtlUserThreadStart.
// The main thread must show the fixture's own code on the way.
func TestWineFullDumps(t *testing.T) {
	if testing.Short() {
		t.Skip("unpacks 28 MB dumps")
	}
	for _, name := range []string{"pristine-full.dmp.xz", "crtheap-full.dmp.xz"} {
		f := openFixture(t, name)
		mem, _ := f.Memory()
		d, err := NewDump(f, Options{Symbolizer: &exportSymbolizer{mem: mem, cache: map[string][]pe.Export{}}})
		if err != nil {
			t.Fatal(err)
		}
		res := d.WalkAll()
		if len(res.Threads) == 0 {
			t.Fatalf("%s: no threads", name)
		}
		exe := strings.TrimSuffix(strings.TrimSuffix(name, "-full.dmp.xz"), ".dmp") + ".exe"
		for i, th := range res.Threads {
			var b strings.Builder
			WriteText(&b, &th, 8)
			n := len(th.Frames)
			if n < 3 {
				t.Errorf("%s thread %#x: %d frames\n%s", name, th.ID, n, b.String())
				continue
			}
			for _, fr := range th.Frames[1:] {
				if fr.Trust != TrustUnwind {
					t.Errorf("%s thread %#x frame %d found by %v\n%s", name, th.ID, fr.Index, fr.Trust, b.String())
					break
				}
			}
			last, prev := th.Frames[n-1], th.Frames[n-2]
			if !strings.EqualFold(last.Module, "ntdll.dll") || last.Function != "RtlUserThreadStart" ||
				!strings.EqualFold(prev.Module, "kernel32.dll") || prev.Function != "BaseThreadInitThunk" {
				t.Errorf("%s thread %#x does not end in the thread start:\n%s", name, th.ID, b.String())
			}
			if i == 0 {
				found := false
				for _, fr := range th.Frames {
					found = found || strings.EqualFold(fr.Module, exe)
				}
				if !found {
					t.Errorf("%s main thread never passes through %s:\n%s", name, exe, b.String())
				}
				t.Logf("%s main thread:\n%s", name, b.String())
			}
		}
	}
}

// TestWineSmallDumpWithImage walks the small crtheap.dmp (no module code or .pdata
// in it) with crtheap.exe from the fixtures as the ImageProvider's image: the
// frames in crtheap.exe must be those the full-memory dump of the same process
// gives.
func TestWineSmallDumpWithImage(t *testing.T) {
	if testing.Short() {
		t.Skip("unpacks a 27 MB dump")
	}
	full := openFixture(t, "crtheap-full.dmp.xz")
	df, err := NewDump(full, Options{})
	if err != nil {
		t.Fatal(err)
	}
	want, _ := df.WalkThread(df.Threads()[0].ID)
	prov := &fileProvider{dir: fixtureDir, asked: map[string]int{}}
	small := openFixture(t, "crtheap.dmp")
	ds, err := NewDump(small, Options{Images: prov})
	if err != nil {
		t.Fatal(err)
	}
	got, _ := ds.WalkThread(ds.Threads()[0].ID)
	n := 0
	for _, w := range want.Frames {
		if !strings.EqualFold(w.Module, "crtheap.exe") {
			continue
		}
		n++
		found := false
		for _, g := range got.Frames {
			found = found || g.IP == w.IP && g.SP == w.SP && g.Trust == TrustUnwind
		}
		if !found {
			var b strings.Builder
			WriteText(&b, &got, 8)
			t.Errorf("frame %d (%s) not found from the small dump:\n%s", w.Index, w.Location(), b.String())
		}
	}
	if n < 3 {
		t.Errorf("only %d crtheap.exe frames in the full dump's walk", n)
	}
	if prov.asked["crtheap.exe"] != 1 {
		t.Errorf("provider asked %v", prov.asked)
	}
}

// truthFrame is a frame of a fixture's in-process walk: Wine's
// RtlLookupFunctionEntry and RtlVirtualUnwind frame by frame, from the exception's
// context (testdata/fixtures/src/crashfx.c, fx_unwind).
type truthFrame struct {
	Index     int               `json:"index"`
	IP        string            `json:"ip"`
	SP        string            `json:"sp"`
	Module    string            `json:"module"`
	Registers map[string]string `json:"registers"`
}

// TestFixtureExceptionWalks compares, for every crash fixture that recorded its
// exception walk, our walk of the crashing thread with it: the same instruction
// pointers and return addresses, the same stack pointers and, where we know them,
// the same nonvolatile registers. Each dump is walked alone when it is a
// full-memory dump, and with the fixture images beside it (through an
// ImageProvider) when it is a small one.
func TestFixtureExceptionWalks(t *testing.T) {
	names, _ := filepath.Glob(filepath.Join(fixtureDir, "*.json"))
	n := 0
	for _, name := range names {
		raw, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		var truth struct {
			Dump  string `json:"dump"`
			Crash struct {
				ExceptionWalk []truthFrame `json:"exception_walk"`
			} `json:"crash"`
		}
		if json.Unmarshal(raw, &truth) != nil || len(truth.Crash.ExceptionWalk) == 0 || truth.Dump == "" {
			continue
		}
		n++
		dumpName := truth.Dump
		if _, err := os.Stat(filepath.Join(fixtureDir, dumpName)); err != nil {
			dumpName += ".xz"
		}
		t.Run(dumpName, func(t *testing.T) {
			th, _ := walkFixtureCrash(t, dumpName)
			var b strings.Builder
			WriteText(&b, &th, 8)
			for i, tf := range truth.Crash.ExceptionWalk {
				if i >= len(th.Frames) {
					t.Fatalf("%d frames, the process recorded %d:\n%s", len(th.Frames), len(truth.Crash.ExceptionWalk), b.String())
				}
				fr := th.Frames[i]
				ip, _ := strconv.ParseUint(tf.IP, 0, 64)
				sp, _ := strconv.ParseUint(tf.SP, 0, 64)
				if fr.IP != ip || fr.SP != sp {
					t.Errorf("frame %d: ip %#x sp %#x, recorded ip %#x sp %#x (%s)\n%s", i, fr.IP, fr.SP, ip, sp, tf.Module, b.String())
					return
				}
				for name, vs := range tf.Registers {
					r, ok := ArchAMD64.LookupReg(name)
					v, _ := strconv.ParseUint(vs, 0, 64)
					if got, known := fr.Regs.Get(r); ok && known && got != v {
						t.Errorf("frame %d: %s = %#x, recorded %#x", i, name, got, v)
					}
				}
			}
		})
	}
	if n == 0 {
		t.Skip("no fixture records an exception walk yet")
	}
}

// walkFixtureCrash walks the crashing thread of a crash fixture: a small dump
// with the fixture images on the image path (it captures no code), a full-memory
// dump (".xz") from what it holds. It returns the walker too, for Argument.
func walkFixtureCrash(t *testing.T, dump string) (Thread, *Walker) {
	t.Helper()
	f := openFixture(t, dump)
	var opts process.Options
	if !strings.HasSuffix(dump, ".xz") {
		opts.ImagePath = []string{"../../testdata/fixtures/images"}
	}
	p := process.New(f, opts)
	t.Cleanup(func() { p.Close() })
	d, err := ForProcess(context.Background(), p, Options{})
	if err != nil {
		t.Fatal(err)
	}
	th, err := d.WalkCrashed()
	if err != nil {
		t.Fatal(err)
	}
	return th, d.Walker
}
