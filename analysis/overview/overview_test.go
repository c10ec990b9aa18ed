package overview_test

import (
	"bytes"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/dumpmap/dumpmap/analysis/process"

	"github.com/dumpmap/dumpmap/analysis/overview"
	"github.com/dumpmap/dumpmap/minidump"
	"github.com/dumpmap/dumpmap/minidump/minidumptest"
)

func open(t testing.TB, b *minidumptest.Builder) *minidump.File {
	t.Helper()
	data := b.Bytes()
	f, err := minidump.New(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func ids(o *overview.Overview) string {
	var s []string
	for _, f := range o.Findings {
		s = append(s, f.ID)
	}
	return strings.Join(s, ",")
}

func TestFindings(t *testing.T) {
	win := minidumptest.Windows10x64()
	exe := minidumptest.Module{Base: 0x140000000, Size: 0x10000, Name: `C:\app\app.exe`}
	tests := []struct {
		name string
		b    *minidumptest.Builder
		want string // finding IDs in order
	}{
		{"minimal windows dump",
			minidumptest.New().SystemInfo(win).Module(exe).Memory(0x1000, []byte("x")).Exception(1, minidump.ExceptionAccessViolation, 0x140001000),
			"no-memory-info,no-full-memory,no-system-memory-info,no-vm-counters,no-unloaded-modules"},
		{"full memory with region map",
			minidumptest.New().SystemInfo(win).Module(exe).
				Region(minidump.MemoryInfo{BaseAddress: 0, RegionSize: 0x10000, State: minidump.MemFree}).
				Memory64(0x140000000, []byte("MZ")).
				SystemMemoryInfo(0x1000, 0x10000, 0x10000, 0x7ffffffeffff).
				Stream(minidump.StreamProcessVMCounters, vmCounters()).
				Stream(minidump.StreamUnloadedModuleList, unloadedList()).
				Exception(1, minidump.ExceptionNoMemory, 0x140001000),
			"out-of-memory"},
		{"hang dump", minidumptest.New().SystemInfo(win).Module(exe).Region().Memory64(0x1000, []byte("x")).
			SystemMemoryInfo(0x1000, 0x10000, 0x10000, 0x7ffffffeffff).Stream(minidump.StreamProcessVMCounters, vmCounters()).
			Stream(minidump.StreamUnloadedModuleList, unloadedList()),
			"no-exception"},
		{"linux", minidumptest.New().SystemInfo(minidumptest.SystemInfo{Arch: minidump.ArchAMD64, Platform: minidump.PlatformLinux}).
			Module(minidumptest.Module{Base: 0x400000, Size: 0x1000, Name: "/usr/bin/app"}).
			Stream(minidump.StreamLinuxMaps, []byte("00400000-00401000 r-xp 00000000 08:01 1 /usr/bin/app\n")).
			Exception(1, 11, 0x400010),
			"not-windows,linux-maps"},
		{"no system info", minidumptest.New().Memory(0x1000, []byte("x")),
			"no-system-info,no-modules,no-memory-info,no-exception"},
		{"wow64 64-bit dump", minidumptest.New().SystemInfo(win).Module(exe).
			Module(minidumptest.Module{Base: 0x77000000, Size: 0x1000, Name: `C:\Windows\System32\wow64cpu.dll`}).
			Region().Memory64(0x1000, []byte("x")).SystemMemoryInfo(0x1000, 0x10000, 0x10000, 0x7ffffffeffff).
			Stream(minidump.StreamProcessVMCounters, vmCounters()).Stream(minidump.StreamUnloadedModuleList, unloadedList()).
			Exception(1, minidump.ExceptionBreakpoint, 0x77000010),
			"wow64"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			o := overview.Of(process.New(open(t, tc.b), process.Options{}))
			if got := ids(o); got != tc.want {
				t.Errorf("findings %s, want %s\n%+v", got, tc.want, o.Findings)
			}
			for _, f := range o.Findings {
				if !o.Has(f.ID) || f.Text == "" || (f.Level != "info" && f.Level != "limit" && f.Level != "damage") {
					t.Errorf("bad finding %+v", f)
				}
			}
		})
	}
}

func vmCounters() []byte {
	b := make([]byte, 80)
	b[0] = 1 // revision 1
	b[72] = 0x10
	return b
}

// unloadedList is an UnloadedModuleList stream with no entries.
func unloadedList() []byte {
	b := make([]byte, 12)
	b[0], b[4] = 12, 24
	return b
}

func TestExceptionWhereAndSignature(t *testing.T) {
	b := minidumptest.New().SystemInfo(minidumptest.Windows7x86()).
		Module(minidumptest.Module{Base: 0x400000, Size: 0x2d000, Name: `c:\test_app.exe`}).
		Module(minidumptest.Module{Base: 0x7c900000, Size: 0xb0000, Name: `C:\WINDOWS\system32\ntdll.dll`}).
		Exception(3060, minidump.ExceptionAccessViolation, 0x40429e, 1, 0x45)
	o := overview.Of(process.New(open(t, b), process.Options{}))
	x := o.Exception
	if x == nil {
		t.Fatal("no exception")
	}
	if x.Where != "test_app.exe+0x429e" || x.Module != "test_app.exe" || x.ModuleOffset == nil || *x.ModuleOffset != 0x429e {
		t.Errorf("where = %q module %q offset %v", x.Where, x.Module, x.ModuleOffset)
	}
	if x.Access != "write" || x.AccessAddress == nil || *x.AccessAddress != 0x45 {
		t.Errorf("access = %q %v", x.Access, x.AccessAddress)
	}
	if x.Signature != "EXCEPTION_ACCESS_VIOLATION test_app.exe+0x429e" {
		t.Errorf("signature = %q", x.Signature)
	}
	if o.MainModule == nil || o.MainModule.Name != "test_app.exe" || o.MainModule.Base != 0x400000 {
		t.Errorf("main module = %+v", o.MainModule)
	}
	if o.System.WOW64 {
		t.Errorf("not WOW64: %s", o.System.WOW64Reason)
	}
	// An address outside every module is named by its value.
	b = minidumptest.New().SystemInfo(minidumptest.Windows7x86()).Exception(1, minidump.ExceptionAccessViolation, 0x1234, 0, 0x1234)
	if x := overview.Of(process.New(open(t, b), process.Options{})).Exception; x.Where != "" || x.Signature != "EXCEPTION_ACCESS_VIOLATION 0x1234" {
		t.Errorf("outside modules: where %q signature %q", x.Where, x.Signature)
	}
}

func TestHexJSON(t *testing.T) {
	type T struct {
		A overview.Hex  `json:"a"`
		B *overview.Hex `json:"b,omitempty"`
	}
	b, err := json.Marshal(T{A: 0x7FFE0000})
	if err != nil || string(b) != `{"a":"0x7ffe0000"}` {
		t.Fatalf("%s %v", b, err)
	}
	var v T
	if err := json.Unmarshal([]byte(`{"a":"0xdeadBEEF","b":42}`), &v); err != nil || v.A != 0xdeadbeef || v.B == nil || *v.B != 42 {
		t.Errorf("%+v %v", v, err)
	}
	if err := json.Unmarshal([]byte(`{"a":"zz"}`), &v); err == nil {
		t.Error("bad hex accepted")
	}
}

// corpus returns ../shared/corpus, or skips.
func corpus(t testing.TB) string {
	dir := filepath.Join("..", "..", "..", "shared", "corpus")
	if v := os.Getenv("DUMPMAP_CORPUS"); v != "" {
		dir = v
	}
	if _, err := os.Stat(filepath.Join(dir, "CATALOG.md")); err != nil {
		t.Skip("corpus not found")
	}
	return dir
}

// TestCountsAgreeWithDecoders checks that the header-only counts equal the number of
// entries the minidump package's decoders return, on every corpus dump.
func TestCountsAgreeWithDecoders(t *testing.T) {
	dir := corpus(t)
	n := 0
	filepath.WalkDir(dir, func(p string, de os.DirEntry, err error) error {
		if err != nil || de.IsDir() {
			return nil
		}
		f, err := minidump.Open(p)
		if err != nil {
			return nil
		}
		defer f.Close()
		n++
		o := overview.Of(process.New(f, process.Options{}))
		regions, _ := f.MemoryInfo()
		threads, _ := f.Threads()
		handles, _ := f.Handles()
		mods, _ := f.Modules()
		if o.Counts.Regions != len(regions) || o.Counts.Threads != len(threads) || o.Counts.Handles != len(handles) || o.Counts.Modules != len(mods) {
			t.Errorf("%s: counts %+v; decoders: %d regions, %d threads, %d handles, %d modules", p, o.Counts, len(regions), len(threads), len(handles), len(mods))
		}
		return nil
	})
	if n < 50 {
		t.Errorf("only %d dumps opened", n)
	}
}

// countingReader counts the bytes read through it.
type countingReader struct {
	r io.ReaderAt
	n atomic.Int64
}

func (c *countingReader) ReadAt(p []byte, off int64) (int, error) {
	n, err := c.r.ReadAt(p, off)
	c.n.Add(int64(n))
	return n, err
}

// TestOfReadsLittle checks that the overview of a 1 GiB full-memory dump with 20,000
// regions reads well under 1 MB: it must not decode the MemoryInfoList or touch the
// memory. The dump is made by ../shared/peers/build-inputs.sh.
func TestOfReadsLittle(t *testing.T) {
	home := os.Getenv("PEERS_HOME")
	if home == "" {
		h, _ := os.UserHomeDir()
		home = filepath.Join(h, ".cache", "minidump-peers")
	}
	p := filepath.Join(home, "inputs", "full-1g.dmp")
	fh, err := os.Open(p)
	if err != nil {
		t.Skipf("%v (run ../shared/peers/build-inputs.sh)", err)
	}
	defer fh.Close()
	st, _ := fh.Stat()
	cr := &countingReader{r: fh}
	f, err := minidump.New(cr, st.Size())
	if err != nil {
		t.Fatal(err)
	}
	o := overview.Of(process.New(f, process.Options{}))
	if o.Counts.Regions == 0 || !o.Capture.FullMemory {
		t.Fatalf("unexpected overview: %+v", o.Counts)
	}
	if got := cr.n.Load(); got > 1<<20 {
		t.Errorf("read %d bytes of a %d-byte dump, want < 1 MiB", got, st.Size())
	} else {
		t.Logf("read %d bytes of a %d-byte dump", got, st.Size())
	}
}

func BenchmarkOf(b *testing.B) {
	data := minidumptest.New().SystemInfo(minidumptest.Windows10x64()).
		Module(minidumptest.Module{Base: 0x140000000, Size: 0x10000, Name: `C:\app\app.exe`}).
		Memory(0x1000, []byte("x")).Exception(1, minidump.ExceptionAccessViolation, 0x140001000).Bytes()
	for b.Loop() {
		f, err := minidump.New(bytes.NewReader(data), int64(len(data)))
		if err != nil {
			b.Fatal(err)
		}
		overview.Of(process.New(f, process.Options{}))
	}
}
