package crash

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dumpmap/dumpmap/analysis/process"

	"github.com/dumpmap/dumpmap/analysis/pdb"
	"github.com/dumpmap/dumpmap/analysis/pe"
	"github.com/dumpmap/dumpmap/minidump"
	"github.com/dumpmap/dumpmap/minidump/minidumptest"
)

func addLines(f *testing.F, path string) {
	fh, err := os.Open(path)
	if err != nil {
		f.Fatal(err)
	}
	defer fh.Close()
	sc := bufio.NewScanner(fh)
	for sc.Scan() {
		f.Add(sc.Text())
	}
}

func checkTypeName(t *testing.T, in string, got TypeName) {
	if got.Decorated != in {
		t.Fatalf("Decorated %q for input %q", got.Decorated, in)
	}
	if got.Demangled {
		if got.Name == "" || len(got.Name) > maxRenderedName || got.Why != "" {
			t.Fatalf("%q: demangled to %q (why %q)", in, got.Name, got.Why)
		}
	} else if got.Name != in || got.Why == "" {
		t.Fatalf("%q: not demangled but name %q, why %q", in, got.Name, got.Why)
	}
}

// FuzzDemangleMSVC: any input demangles or comes back raw with a reason, within
// the bounds. Seeds: the oracle names.
func FuzzDemangleMSVC(f *testing.F) {
	addLines(f, "testdata/msvc-names.txt")
	f.Fuzz(func(t *testing.T, s string) { checkTypeName(t, s, DemangleMSVC(s)) })
}

// FuzzDemangleItanium: as FuzzDemangleMSVC for Itanium type names.
func FuzzDemangleItanium(f *testing.F) {
	addLines(f, "testdata/itanium-names.txt")
	f.Fuzz(func(t *testing.T, s string) { checkTypeName(t, s, DemangleItanium(s)) })
}

// fuzzBase is where FuzzDecode's memory blob lies, as one module.
const fuzzBase = 0x10000

var fuzzCodes = []uint32{CodeMSVCThrow, CodeGCCThrow, CodeNoMemory, CodeInvalidParameter, CodeAccessViolation,
	CodeStackBufferOverrun, CodeChromiumOOM, CodeGCCUnwind}

// fuzzInput turns bytes into a Decode input: [0] code index, [1] pointer size,
// [2] parameter count, [3] bit 0: also give the blob as the module's image (mapped
// layout), bit 1: a Linux dump; then the parameters (8 bytes each); the rest is
// memory at fuzzBase.
func fuzzInput(data []byte) (Input, bool) {
	if len(data) < 4 {
		return Input{}, false
	}
	code := fuzzCodes[int(data[0])%len(fuzzCodes)]
	ptr := []int{0, 4, 8}[int(data[1])%3]
	np := int(data[2]) % 16
	flags := data[3]
	data = data[4:]
	if len(data) < 8*np {
		return Input{}, false
	}
	params := make([]uint64, np)
	for i := range params {
		params[i] = binary.LittleEndian.Uint64(data[8*i:])
	}
	blob := data[8*np:]
	in := Input{
		Exception: &minidump.Exception{Code: minidump.ExceptionCode(code), Address: fuzzBase, Parameters: params},
		Platform:  minidump.PlatformWindows, PointerSize: ptr,
		Memory:  (&fakeMem{}).add(fuzzBase, blob),
		Modules: []minidump.Module{{Base: fuzzBase, Size: uint32(len(blob)), Name: "m.dll"}},
	}
	if flags&2 != 0 {
		in.Platform = minidump.PlatformLinux
	}
	if flags&1 != 0 {
		if img, err := pe.NewMapped(bytes.NewReader(blob), int64(len(blob))); err == nil {
			in.Memory = &fakeMem{}
			in.Image = func(*minidump.Module) (*pe.File, error) { return img, nil }
		}
	}
	return in, true
}

func fuzzSeed(code uint32, ptr int, flags byte, params []uint64, blob []byte) []byte {
	idx := 0
	for i, c := range fuzzCodes {
		if c == code {
			idx = i
		}
	}
	b := []byte{byte(idx), map[int]byte{0: 0, 4: 1, 8: 2}[ptr], byte(len(params)), flags}
	for _, p := range params {
		b = binary.LittleEndian.AppendUint64(b, p)
	}
	return append(b, blob...)
}

// flatten copies a fakeMem's blocks into one blob starting at base.
func flatten(m *fakeMem, base uint64, size int) []byte {
	blob := make([]byte, size)
	for _, b := range m.blocks {
		if b.va >= base && b.va-base < uint64(size) {
			copy(blob[b.va-base:], b.data)
		}
	}
	return blob
}

// FuzzDecode decodes arbitrary exception records over arbitrary memory (and
// image) bytes. Seeds: the synthetic MSVC (x86, x64) and MinGW layouts, and the
// real ThrowInfo tables of the corpus image CrashWithException.exe. The mapped
// image makes 36 KB inputs, which the fuzzer minimises for up to a minute each
// by default: run it with -fuzzminimizetime 5s.
func FuzzDecode(f *testing.F) {
	for _, ptr := range []int{4, 8} {
		m := newMSVC(ptr, fuzzBase, tBadAlloc, tException).object(fuzzBase+0x8000, "bad allocation")
		p := []uint64{ehMagic1, m.obj, m.ti}
		if ptr == 8 {
			p = append(p, fuzzBase)
		}
		f.Add(fuzzSeed(CodeMSVCThrow, ptr, 0, p, flatten(m.mem, fuzzBase, 0x8200)))
	}
	g := &gccFixture{mem: &fakeMem{}, ue: fuzzBase + 0x100}
	g.l = layout{g.mem}
	g.l.ptrs(g.ue, 8, gxxPrimary)
	g.l.ptrs(g.ue-80, 8, fuzzBase+0x200)
	g.l.ptrs(fuzzBase+0x200, 8, 0, fuzzBase+0x300)
	g.l.str(fuzzBase+0x300, "St12length_error")
	g.l.ptrs(g.ue+64, 8, 0, fuzzBase+0x400)
	g.l.str(fuzzBase+0x400, "vector::_M_realloc_insert")
	f.Add(fuzzSeed(CodeGCCThrow, 8, 0, []uint64{g.ue}, flatten(g.mem, fuzzBase, 0x500)))
	f.Add(fuzzSeed(CodeNoMemory, 8, 0, []uint64{0x10010}, nil))
	f.Add(fuzzSeed(CodeAccessViolation, 4, 0, []uint64{1, 0x45}, nil))
	if tis, mapped := crashWithExceptionSeed(); mapped != nil {
		for _, rva := range tis {
			p := []uint64{ehMagic3, fuzzBase + 0x100, fuzzBase + uint64(rva), fuzzBase}
			f.Add(fuzzSeed(CodeMSVCThrow, 8, 0, p, mapped))
			f.Add(fuzzSeed(CodeMSVCThrow, 8, 1, p, mapped))
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		in, ok := fuzzInput(data)
		if !ok {
			return
		}
		c := Decode(in)
		if len(c.Evidence) < 2 || c.Evidence[0].Kind != EvidenceCode || c.Evidence[len(c.Evidence)-1].Kind != EvidenceVerdict {
			t.Fatalf("evidence %v", kinds(c))
		}
		if (c.OOM || c.Refused) && c.Verdict == "" {
			t.Fatal("a verdict without its reason")
		}
		if c.Summary() == "" {
			t.Fatal("empty summary")
		}
		if _, err := json.Marshal(c); err != nil {
			t.Fatal(err)
		}
	})
}

// crashWithExceptionSeed maps the corpus image at fuzzBase and returns the RVAs
// of its ThrowInfos (from its PDB), or nothing when the corpus is absent.
func crashWithExceptionSeed() ([]uint32, []byte) {
	d, err := os.Getwd()
	if err != nil {
		return nil, nil
	}
	var root string
	for ; ; d = filepath.Dir(d) {
		if st, err := os.Stat(filepath.Join(d, "shared", "corpus", "symbols")); err == nil && st.IsDir() {
			root = filepath.Join(d, "shared", "corpus", "symbols")
			break
		}
		if filepath.Dir(d) == d {
			return nil, nil
		}
	}
	raw, err := os.ReadFile(filepath.Join(root, "images", "CrashWithException.exe"))
	if err != nil {
		return nil, nil
	}
	mapped, err := minidumptest.MapImage(raw, fuzzBase)
	if err != nil {
		return nil, nil
	}
	paths, _ := filepath.Glob(filepath.Join(root, "store", "CrashWithException.pdb", "*", "CrashWithException.pdb"))
	if len(paths) != 1 {
		return nil, nil
	}
	pf, err := pdb.Open(paths[0])
	if err != nil {
		return nil, nil
	}
	defer pf.Close()
	pubs, _ := pf.Publics()
	var rvas []uint32
	for _, s := range pubs {
		if s.HasRVA && strings.HasPrefix(s.Name, "_TI") {
			rvas = append(rvas, s.RVA)
		}
	}
	return rvas, mapped
}

// FuzzOf decodes the exception of arbitrary minidump bytes. Seeds: a
// synthetic C++ throw dump and the small Windows dumps of the corpus.
func FuzzOf(f *testing.F) {
	m := newMSVC(8, 0x7ff6_0000_0000, tBadAlloc, tException)
	e := m.input().Exception
	b := minidumptest.New().SystemInfo(minidumptest.Windows10x64()).
		Module(minidumptest.Module{Base: m.base, Size: fxSize, Name: `C:\x\vcruntime140.dll`}).
		Memory(m.base, flatten(m.mem, m.base, fxSize)).Exception(1, e.Code, 0, e.Parameters...)
	f.Add(b.Bytes())
	d, err := os.Getwd()
	for err == nil {
		c := filepath.Join(d, "shared", "corpus")
		if st, e := os.Stat(c); e == nil && st.IsDir() {
			for _, rel := range []string{"breakpad/tiny-exe-fastfail.dmp", "rust-minidump/invalid-parameter.dmp", "breakpad/minidump2.dmp"} {
				if raw, e := os.ReadFile(filepath.Join(c, rel)); e == nil {
					f.Add(raw)
				}
			}
			break
		}
		if filepath.Dir(d) == d {
			break
		}
		d = filepath.Dir(d)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		md, err := minidump.New(bytes.NewReader(data), int64(len(data)))
		if err != nil {
			return
		}
		if c, _ := Of(process.New(md, process.Options{})); c != nil {
			_ = c.Summary()
		}
	})
}

// FuzzAnalyze runs the whole crash analysis (exception, the crashing thread's
// walk, the failed-request search with its argument recovery and container
// reads) on damaged dumps: it must end with a result, never a panic. The seeds
// are the out-of-memory crash fixtures, read with their module images so that
// the code of the allocators is followed.
func FuzzAnalyze(f *testing.F) {
	for _, name := range []string{"oom-heap.dmp", "oom-cxx.dmp", "oom-vector.dmp", "oom-chromium.dmp"} {
		if raw, err := os.ReadFile(filepath.Join("../../testdata/fixtures/dumps", name)); err == nil {
			f.Add(raw)
		}
	}
	opts := process.Options{ImagePath: []string{"../../testdata/fixtures/images"}}
	f.Fuzz(func(t *testing.T, data []byte) {
		md, err := minidump.New(bytes.NewReader(data), int64(len(data)))
		if err != nil {
			return
		}
		p := process.New(md, opts)
		defer p.Close()
		a := Analyze(context.Background(), p)
		if a.Request != nil {
			if _, err := json.Marshal(a.Request); err != nil {
				t.Fatal(err)
			}
		}
	})
}
