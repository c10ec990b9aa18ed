package modsym_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"github.com/dumpmap/dumpmap/analysis/modsym"
	"github.com/dumpmap/dumpmap/analysis/process"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dumpmap/dumpmap/analysis"
	"github.com/dumpmap/dumpmap/minidump"
)

// Heap signatures (docs/windows-memory.md).
const (
	sigNTSegment   = 0xFFEEFFEE
	sigSegmentHeap = 0xDDEEDDEE
)

const (
	processHeap = 0x00500000
	crtHeap     = 0x00a10000
	crtBase32   = 0x6f000000 // crt-x86.dll's ImageBase is 0x10000000: the image is relocated
	crtBase64   = 0x7ffa10000000
	crtGlobal   = 0x3000 // RVA of _crtheap in crt-*.dll (.data, llvm-pdbutil: 0003:0000)
)

// oldCRTScenario is a process whose main module imports malloc from
// msvcr90.dll (crt-*.dll), with the UCRT loaded too.
func oldCRTScenario(x64 bool) scenario {
	s := scenario{
		x64:         x64,
		processHeap: processHeap,
		otherHeaps:  []uint64{crtHeap},
		headers:     []heapHeader{{processHeap, sigNTSegment, 2}, {crtHeap, sigNTSegment, 0x1002}},
	}
	arch, crtBase, appBase := "x86", uint64(crtBase32), uint64(0x400000)
	if x64 {
		arch, crtBase, appBase = "x64", crtBase64, 0x140000000
	}
	s.mods = []module{
		{name: `C:\app\app.exe`, fixture: "app-msvcr-" + arch + ".exe", base: appBase, capture: true},
		{name: `C:\Windows\System32\ucrtbase.dll`, base: crtBase + 0x1000000, size: 0x100000},
		{name: `C:\Windows\WinSxS\x86_microsoft.vc90.crt\MSVCR90.dll`, fixture: "crt-" + arch + ".dll", base: crtBase, capture: true,
			globals: map[uint32]uint64{crtGlobal: crtHeap}},
	}
	return s
}

// identify builds the process and its map, which finds the heaps.
func identify(t *testing.T, s scenario, opts process.Options) (*analysis.HeapSet, *analysis.Map) {
	t.Helper()
	p := process.New(s.build(t), opts)
	t.Cleanup(func() { p.Close() })
	m, err := analysis.NewMap(p, analysis.Options{})
	if err != nil {
		t.Fatal(err)
	}
	hs := m.Heaps
	t.Logf("CRT %#x (%s)\n\t%s", hs.CRT, hs.CRTHow, strings.Join(hs.Tried(), "\n\t"))
	return hs, m
}

func wantTried(t *testing.T, hs *analysis.HeapSet, subs ...string) {
	t.Helper()
	all := strings.Join(hs.Tried(), "\n")
	for _, s := range subs {
		if !strings.Contains(all, s) {
			t.Errorf("Tried lacks %q:\n%s", s, all)
		}
	}
}

func wantCRT(t *testing.T, hs *analysis.HeapSet, handle uint64, howPrefix string) {
	t.Helper()
	if hs.CRT != handle || !strings.HasPrefix(hs.CRTHow, howPrefix) {
		t.Fatalf("CRT heap %#x (%s), want %#x (%s...)", hs.CRT, hs.CRTHow, handle, howPrefix)
	}
	h := hs.Get(handle)
	if h == nil || !h.CRTHeap {
		t.Fatalf("heap %#x not marked as the CRT heap: %+v", handle, h)
	}
	for _, o := range hs.Heaps {
		if o.CRTHeap && o.Handle != handle {
			t.Errorf("heap %#x is marked as the CRT heap too: %v", o.Handle, o.FoundBy)
		}
	}
}

// TestCRTHeapFromPDB: the main module imports malloc from msvcr90.dll, whose
// PDB names _crtheap; its value is read from the relocated image in memory.
func TestCRTHeapFromPDB(t *testing.T) {
	for _, x64 := range []bool{false, true} {
		arch, base := "x86", uint64(crtBase32)
		if x64 {
			arch, base = "x64", crtBase64
		}
		t.Run(arch, func(t *testing.T) {
			store := storeWith(t, "crt-"+arch+".pdb")
			hs, _ := identify(t, oldCRTScenario(x64), options(t, store))
			wantCRT(t, hs, crtHeap, "PDB: MSVCR90.dll!_crtheap")
			wantTried(t, hs,
				"imports: app.exe imports malloc from msvcr90.dll (read from its image in dump memory), a CRT with a heap of its own",
				"UCRT rule: ucrtbase.dll is loaded but so are MSVCR90.dll",
				"PDB: MSVCR90.dll!_crtheap at "+hex(base+crtGlobal)+" holds 0xa10000, committed memory, with an NT heap's segment signature")
			if h := hs.Get(crtHeap); h.Growable == nil || !*h.Growable {
				t.Errorf("the CRT heap's flags 0x1002 say growable: %+v", h)
			}
			// The decoder was not needed.
			if strings.Contains(strings.Join(hs.Tried(), "\n"), string(process.MethodGetHandle)) {
				t.Errorf("_get_heap_handle tried after the PDB succeeded")
			}
		})
	}
}

func hex(v uint64) string { return fmt.Sprintf("%#x", v) }

// TestCRTHeapFromGetHeapHandle: no symbols; the exported _get_heap_handle's
// code in the dump (relocated on x86) names the global.
func TestCRTHeapFromGetHeapHandle(t *testing.T) {
	for _, x64 := range []bool{false, true} {
		arch, base := "x86", uint64(crtBase32)
		if x64 {
			arch, base = "x64", crtBase64
		}
		t.Run(arch, func(t *testing.T) {
			hs, _ := identify(t, oldCRTScenario(x64), options(t, ""))
			wantCRT(t, hs, crtHeap, "_get_heap_handle: MSVCR90.dll!_get_heap_handle returns the global at "+hex(base+crtGlobal))
			wantTried(t, hs,
				"PDB: MSVCR90.dll: no PDB: no symbol path",
				"_get_heap_handle: MSVCR90.dll: _get_heap_handle at "+hex(base+0x1000)+" (code from dump memory) returns the global at "+hex(base+crtGlobal)+", which holds 0xa10000")
		})
	}
}

// TestCRTHeapFromImageFile: the CRT's image was not captured, only its data
// page; the code comes from the image file on the image path, whose x86
// absolute address is rebased from the file's ImageBase to the module's.
func TestCRTHeapFromImageFile(t *testing.T) {
	for _, x64 := range []bool{false, true} {
		arch, base := "x86", uint64(crtBase32)
		if x64 {
			arch, base = "x64", crtBase64
		}
		t.Run(arch, func(t *testing.T) {
			s := oldCRTScenario(x64)
			s.mods[2].capture = false
			val := make([]byte, 8)
			binary.LittleEndian.PutUint64(val, crtHeap)
			s.extra = map[uint64][]byte{base + crtGlobal: val[:s.ptr()]}
			dir := t.TempDir()
			if err := os.WriteFile(filepath.Join(dir, "msvcr90.dll"), readFixture(t, "crt-"+arch+".dll"), 0o644); err != nil {
				t.Fatal(err)
			}
			hs, _ := identify(t, s, options(t, "", dir))
			wantCRT(t, hs, crtHeap, "_get_heap_handle: MSVCR90.dll!_get_heap_handle returns the global at "+hex(base+crtGlobal))
			wantTried(t, hs, "(code from "+filepath.Join(dir, "msvcr90.dll")+") returns the global at "+hex(base+crtGlobal))
		})
	}
}

// TestCRTHeapFailures: each method fails for a reason it must say.
func TestCRTHeapFailures(t *testing.T) {
	t.Run("global holds 0", func(t *testing.T) {
		s := oldCRTScenario(true)
		s.mods[2].globals = nil
		hs, _ := identify(t, s, options(t, storeWith(t, "crt-x64.pdb")))
		if hs.CRT != 0 {
			t.Errorf("CRT heap %#x from a zero global", hs.CRT)
		}
		wantTried(t, hs, "PDB: MSVCR90.dll!_crtheap at 0x7ffa10003000: holds 0: the heap was not created yet",
			"_get_heap_handle: MSVCR90.dll: _get_heap_handle at 0x7ffa10001000 (code from dump memory) returns the global at 0x7ffa10003000: holds 0")
	})
	t.Run("not a heap", func(t *testing.T) {
		s := oldCRTScenario(false)
		s.headers = s.headers[:1] // the CRT heap's header: captured with no signature
		s.extra = map[uint64][]byte{crtHeap: make([]byte, 0x100)}
		hs, _ := identify(t, s, options(t, ""))
		if hs.CRT != 0 {
			t.Errorf("CRT heap %#x without a heap signature", hs.CRT)
		}
		wantTried(t, hs, "holds 0xa10000, which is not a heap: no heap signature at 0xa10000+0x8 (0x0;")
	})
	t.Run("reserved memory", func(t *testing.T) {
		s := oldCRTScenario(false)
		r := private(crtHeap, 0x10000)
		r.State = minidump.MemReserve
		s.regions = []minidump.MemoryInfo{private(0x10000, 0x10000), r}
		hs, _ := identify(t, s, options(t, ""))
		if hs.CRT != 0 {
			t.Errorf("CRT heap %#x in reserved memory", hs.CRT)
		}
		wantTried(t, hs, "which is not a heap: the region at 0xa10000 is reserved, not committed memory")
	})
	t.Run("global not captured", func(t *testing.T) {
		s := oldCRTScenario(true)
		s.mods[2].capture = false
		hs, _ := identify(t, s, options(t, storeWith(t, "crt-x64.pdb")))
		wantTried(t, hs, "PDB: MSVCR90.dll!_crtheap at 0x7ffa10003000: not captured in the dump",
			"_get_heap_handle: MSVCR90.dll: no export table (dump memory: headers at 0x7ffa10000000 not captured; no image path; not on the symbol path")
	})
	t.Run("PDB mismatch", func(t *testing.T) {
		// The store holds fixture-x64.pdb under crt-x64.pdb's key: its GUID differs.
		store := storeWith(t, "crt-x64.pdb")
		key, _ := pdbKey(readFixture(t, "crt-x64.pdb"))
		if err := os.WriteFile(filepath.Join(store, "crt-x64.pdb", key, "crt-x64.pdb"), readFixture(t, "fixture-x64.pdb"), 0o644); err != nil {
			t.Fatal(err)
		}
		s := oldCRTScenario(true)
		hs, _ := identify(t, s, options(t, store))
		wantTried(t, hs, "PDB: MSVCR90.dll: no PDB: ", "GUID mismatch: file has {")
		wantCRT(t, hs, crtHeap, "_get_heap_handle")
	})
}

// TestCRTHeapUCRTByImports: ucrtbase.dll and msvcr90.dll are both loaded, so
// the module list cannot tell; the main module's imports name the UCRT.
func TestCRTHeapUCRTByImports(t *testing.T) {
	s := oldCRTScenario(true)
	s.mods[0].fixture = "app-ucrt-x64.exe"
	hs, _ := identify(t, s, options(t, ""))
	wantCRT(t, hs, processHeap, "UCRT rule: app.exe imports malloc from api-ms-win-crt-heap-l1-1-0.dll")
	wantTried(t, hs, "UCRT rule: ucrtbase.dll is loaded but so are MSVCR90.dll", "UCRT rule: the CRT heap is the process heap 0x500000")
	if h := hs.Get(processHeap); !h.ProcessHeap || !strings.HasPrefix(h.FoundBy[0], "PEB.ProcessHeap (64-bit PEB ") {
		t.Errorf("process heap %+v", h)
	}
}

// TestCRTHeapStatic: the UCRT is loaded (by some DLL), so the module list says
// "UCRT"; but the main module imports no malloc, so the rule is withdrawn and
// its own PDB's _crtheap names the heap.
func TestCRTHeapStatic(t *testing.T) {
	s := oldCRTScenario(true)
	s.mods = s.mods[:2]
	s.mods[0].fixture = "app-static-x64.exe"
	// _crtheap of app-static-x64.exe: llvm-pdbutil says 0003:0000, .data at 0x3000.
	s.mods[0].globals = map[uint32]uint64{0x3000: crtHeap}
	hs, _ := identify(t, s, options(t, storeWith(t, "app-static-x64.pdb")))
	wantCRT(t, hs, crtHeap, "PDB: app.exe!_crtheap at 0x140003000")
	wantTried(t, hs, "imports: app.exe imports no malloc (read from its image in dump memory)",
		"UCRT rule: withdrawn")
	if h := hs.Get(processHeap); h.CRTHeap || strings.Contains(strings.Join(h.FoundBy, ","), "UCRT") {
		t.Errorf("the process heap keeps the withdrawn UCRT rule: %+v", h)
	}

	// Without symbols nothing names the heap, and the trail says why.
	hs, _ = identify(t, s, options(t, ""))
	if hs.CRT != 0 || hs.CRTHow != "" {
		t.Errorf("CRT heap %#x (%s) without symbols", hs.CRT, hs.CRTHow)
	}
	wantTried(t, hs, "PDB: app.exe: no PDB: no symbol path", "_get_heap_handle: app.exe: does not export _get_heap_handle")
}

// TestCRTHeapUCRTModuleList: no image anywhere: the module-list rule stands
// and the trail says the imports could not confirm it.
func TestCRTHeapUCRTModuleList(t *testing.T) {
	s := oldCRTScenario(true)
	s.mods = s.mods[:2]
	s.mods[0].capture = false
	hs, _ := identify(t, s, options(t, ""))
	wantCRT(t, hs, processHeap, "UCRT rule: ucrtbase.dll allocates from the process heap")
	wantTried(t, hs, "imports: the import table of app.exe is not readable (dump memory: headers at 0x140000000 not captured; no image path)",
		"UCRT rule: applied from the module list alone")
}

func TestCheckHeap(t *testing.T) {
	img := minidump.MemoryInfo{BaseAddress: 0x400000, AllocationBase: 0x400000, RegionSize: 0x10000, State: minidump.MemCommit, Type: minidump.MemImage, Protect: 2}
	s := scenario{
		x64: true,
		headers: []heapHeader{
			{0x10000, sigNTSegment, 2},
			{0x20000, sigSegmentHeap, 0},
			{0x30000, 0x12345678, 0},
			{0x400000, sigNTSegment, 0},
		},
		regions: []minidump.MemoryInfo{private(0x10000, 0x10000), private(0x20000, 0x10000), private(0x30000, 0x10000),
			private(0x40000, 0x10000), {BaseAddress: 0x50000, RegionSize: 0x10000, State: minidump.MemFree, Protect: 1}, img},
	}
	p := process.New(s.build(t), process.Options{})
	m, err := analysis.NewMap(p, analysis.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		h    uint64
		ok   bool
		want string
	}{
		{0x10000, true, "committed private memory, with an NT heap's segment signature 0xffeeffee at +0x10"},
		{0x20000, true, "with a segment heap's signature 0xddeeddee at +0x10"},
		{0x30000, false, "no heap signature at 0x30000+0x10 (0x12345678;"},
		{0x40000, true, "committed private memory, header not captured, signature not checked"},
		{0x400000, false, "the region at 0x400000 is image memory, not private"},
		{0x50000, false, "the region at 0x50000 is free"},
		{0x60000, true, "header not captured, signature not checked"}, // a gap in the list: unknown
	} {
		why, ok := m.CheckHeap(c.h, 8)
		if ok != c.ok || !strings.Contains(why, c.want) {
			t.Errorf("CheckHeap(%#x) = %v %q, want %v %q", c.h, ok, why, c.ok, c.want)
		}
	}
}

// TestPartialMapHeapSegments: without a MemoryInfoList the map cannot show a
// heap's reservation; the heap says so instead of claiming the address space.
func TestPartialMapHeapSegments(t *testing.T) {
	hs, m := identify(t, oldCRTScenario(false), options(t, ""))
	if !m.Partial {
		t.Fatal("map not partial")
	}
	for _, h := range hs.Heaps {
		if len(h.Segments) != 0 || !strings.Contains(strings.Join(h.Notes, "\n"), "its segments are unknown") {
			t.Errorf("heap %#x: segments %+v, notes %v", h.Handle, h.Segments, h.Notes)
		}
	}
	// With the regions, the segments are laid out.
	s := oldCRTScenario(false)
	s.regions = []minidump.MemoryInfo{private(processHeap, 0x40000), private(crtHeap, 0x10000)}
	r := s.regions[0]
	r.BaseAddress, r.RegionSize, r.State = processHeap+0x40000, 0xc0000, minidump.MemReserve
	s.regions = append(s.regions, r)
	hs, _ = identify(t, s, options(t, ""))
	h := hs.Get(processHeap)
	if len(h.Segments) != 1 || h.Segments[0].Size != 0x100000 || h.Segments[0].LargestUncommitted != 0xc0000 {
		t.Errorf("process heap segments %+v", h.Segments)
	}
}

// FuzzResolver mutates synthetic dumps whose memory holds real images, a PEB
// and heap headers: identifying heaps and listing symbols never panic.
func FuzzResolver(f *testing.F) {
	for _, x64 := range []bool{false, true} {
		s := oldCRTScenario(x64)
		s.regions = []minidump.MemoryInfo{private(processHeap, 0x10000), private(crtHeap, 0x10000)}
		dump := s.build(f)
		data := make([]byte, dump.Size())
		if _, err := dump.ReaderAt().ReadAt(data, 0); err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		df, err := minidump.New(bytes.NewReader(data), int64(len(data)))
		if err != nil {
			return
		}
		p := process.New(df, process.Options{})
		defer p.Close()
		m, err := analysis.NewMap(p, analysis.Options{})
		if err != nil {
			return
		}
		if m.Heaps == nil {
			t.Fatal("nil heap set")
		}
		if _, err := modsym.Lookup(context.Background(), p, modsym.Pattern{Module: "*", Symbol: "*"}); err != nil {
			t.Fatal(err)
		}
	})
}
