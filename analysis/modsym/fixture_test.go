package modsym_test

import (
	"context"
	"encoding/json"
	"github.com/dumpmap/dumpmap/analysis/modsym"
	"github.com/dumpmap/dumpmap/analysis/process"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/dumpmap/dumpmap/analysis"
	"github.com/dumpmap/dumpmap/minidump"
)

// fixtures is the fixture lab's folder of dumps, truth files, crtheap.exe and
// crtheap.pdb (testdata/fixtures/dumps, made under Wine by regen.sh).
const fixtures = "../../testdata/fixtures/dumps"

// crtTruth is what the crtheap fixture recorded about itself before the dump.
type crtTruth struct {
	ProcessHeap      string `json:"process_heap"`
	CRTHeap          string `json:"crt_heap"`
	CRTSymbolAddress string `json:"crt_heap_symbol_address"`
	MsvcrtHeapHandle string `json:"msvcrt_get_heap_handle"`
	FullMemory       bool   `json:"full_memory"`
}

func hexValue(t *testing.T, s string) uint64 {
	t.Helper()
	v, err := strconv.ParseUint(strings.TrimPrefix(s, "0x"), 16, 64)
	if err != nil {
		t.Fatalf("truth value %q: %v", s, err)
	}
	return v
}

// openFixture opens a fixture dump, unpacking a .xz one with xz(1) into a
// temporary folder, and reads its truth file.
func openFixture(t *testing.T, name, truthName string) (*minidump.File, crtTruth) {
	t.Helper()
	path := filepath.Join(fixtures, name)
	if _, err := os.Stat(path); err != nil {
		t.Skipf("fixture %s not there: %v", name, err)
	}
	if strings.HasSuffix(name, ".xz") {
		xz, err := exec.LookPath("xz")
		if err != nil {
			t.Skip("xz not installed")
		}
		out := filepath.Join(t.TempDir(), strings.TrimSuffix(name, ".xz"))
		fh, err := os.Create(out)
		if err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(xz, "-dc", path)
		cmd.Stdout = fh
		if err := cmd.Run(); err != nil {
			t.Fatalf("xz: %v", err)
		}
		fh.Close()
		path = out
	}
	f, err := minidump.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	b, err := os.ReadFile(filepath.Join(fixtures, truthName))
	if err != nil {
		t.Fatal(err)
	}
	var truth crtTruth
	if err := json.Unmarshal(b, &truth); err != nil {
		t.Fatal(err)
	}
	return f, truth
}

// TestFixtureCRTHeap: the fixture lab's crtheap program (clang + lld, a real
// PDB, run under Wine) keeps its heap in the global _crtheap. With the PDB on
// the symbol path, the symbol lookup finds the global at the address the
// program recorded, and the heap identification reads the same handle from
// the full-memory dump.
func TestFixtureCRTHeap(t *testing.T) {
	f, truth := openFixture(t, "crtheap-full.dmp.xz", "crtheap-full.json")
	p := process.New(f, options(t, fixtures)) // a flat folder holding crtheap.pdb
	defer p.Close()
	m, err := analysis.NewMap(p, analysis.Options{})
	if err != nil {
		t.Fatal(err)
	}

	res := lookup(t, p, "crtheap!_crtheap")
	if len(res.Symbols) != 1 || res.Symbols[0].Address != hexValue(t, truth.CRTSymbolAddress) || res.Symbols[0].Source != modsym.SourcePDBGlobal {
		t.Fatalf("crtheap!_crtheap: %v, want %s (modules %+v)", res.Symbols, truth.CRTSymbolAddress, res.Modules)
	}

	hs := m.Heaps
	t.Logf("CRT %#x (%s)\n\t%s", hs.CRT, hs.CRTHow, strings.Join(hs.Tried(), "\n\t"))
	if hs.CRT != hexValue(t, truth.CRTHeap) || !strings.HasPrefix(hs.CRTHow, "PDB: crtheap.exe!_crtheap at "+truth.CRTSymbolAddress) {
		t.Errorf("CRT heap %#x (%s), truth %s at %s", hs.CRT, hs.CRTHow, truth.CRTHeap, truth.CRTSymbolAddress)
	}
	if hs.Process != hexValue(t, truth.ProcessHeap) {
		t.Errorf("process heap %#x, truth %s", hs.Process, truth.ProcessHeap)
	}
	wantTried(t, hs, "imports: crtheap.exe imports no malloc (read from its image in dump memory)")
	if h := hs.Get(hs.CRT); h == nil || h.Growable == nil || !*h.Growable || len(h.Segments) != 1 {
		t.Errorf("CRT heap %+v", h)
	}

	// Wine's msvcrt.dll exports _get_heap_handle: decoding its code from the
	// dump gives the heap the program recorded by calling it.
	var msvcrt *process.Module
	for _, mod := range p.Modules() {
		if strings.EqualFold(mod.FileName, "msvcrt.dll") {
			msvcrt = mod
		}
	}
	if msvcrt == nil {
		t.Fatal("no msvcrt.dll")
	}
	crt := process.CRT{Kind: process.CRTSystem, CodeCandidates: []*process.Module{msvcrt}}
	got := modsym.IdentifyCRTHeap(context.Background(), p, crt, m.CheckHeap)
	if got.Handle != hexValue(t, truth.MsvcrtHeapHandle) || got.Method != process.MethodGetHandle {
		t.Errorf("msvcrt.dll _get_heap_handle: %#x (%s; %v), truth %s", got.Handle, got.How, got.Attempts, truth.MsvcrtHeapHandle)
	}
	t.Logf("msvcrt.dll: %v", got.Attempts)
}

// TestFixtureCRTHeapNoMemory: the same process dumped without full memory:
// the PDB still names the global, but its value was not captured, and the
// trail says so; the image comes from the image path.
func TestFixtureCRTHeapNoMemory(t *testing.T) {
	f, truth := openFixture(t, "crtheap.dmp", "crtheap.json")
	p := process.New(f, options(t, fixtures, fixtures))
	defer p.Close()
	m, err := analysis.NewMap(p, analysis.Options{})
	if err != nil {
		t.Fatal(err)
	}
	hs := m.Heaps
	if hs.CRT != 0 {
		t.Errorf("CRT heap %#x from a dump without the global's memory", hs.CRT)
	}
	wantTried(t, hs, "imports: crtheap.exe imports no malloc (read from "+filepath.Join(fixtures, "crtheap.exe")+")",
		"PDB: crtheap.exe!_crtheap at "+truth.CRTSymbolAddress+": not captured in the dump")
}
