package modsym_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"testing"

	"github.com/dumpmap/dumpmap/analysis/ntheap"
	"github.com/dumpmap/dumpmap/analysis/process"

	"github.com/dumpmap/dumpmap/analysis/pdb"
	"github.com/dumpmap/dumpmap/analysis/pe"
	"github.com/dumpmap/dumpmap/analysis/symstore"
	"github.com/dumpmap/dumpmap/minidump"
	"github.com/dumpmap/dumpmap/minidump/minidumptest"
)

const lld = "../testdata/lld"

func readFixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(lld, name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// mapAt lays a PE file out as the loader maps it at base (relocated).
func mapAt(t testing.TB, file []byte, base uint64) []byte {
	t.Helper()
	img, err := minidumptest.MapImage(file, base)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

// module is a module of a synthetic dump.
type module struct {
	name    string // path in the module list
	fixture string // lld fixture file whose image the module is ("": none)
	base    uint64
	size    uint32 // without a fixture
	capture bool   // the image is in dump memory
	// globals are pointer values written into the captured image at RVAs.
	globals map[uint32]uint64
	// pdbName overrides the CodeView record's PDB path.
	pdbName string
	noCV    bool
}

// heapHeader is a captured heap header.
type heapHeader struct {
	handle uint64
	sig    uint32
	flags  uint32
}

// scenario describes a synthetic Windows dump.
type scenario struct {
	x64         bool
	mods        []module
	processHeap uint64
	otherHeaps  []uint64 // more PEB.ProcessHeaps entries
	headers     []heapHeader
	regions     []minidump.MemoryInfo // MemoryInfoList rows (none: no stream)
	extra       map[uint64][]byte     // more captured memory
}

const (
	teb32, peb32Addr = 0x7ffde000, 0x7ffdf000
	teb64, peb64Addr = 0x7ff5ffde000, 0x7ff5ffdf000
)

func (s scenario) ptr() int {
	if s.x64 {
		return 8
	}
	return 4
}

func putPtr(b []byte, ptr int, v uint64) {
	if ptr == 8 {
		binary.LittleEndian.PutUint64(b, v)
	} else {
		binary.LittleEndian.PutUint32(b, uint32(v))
	}
}

// build writes the dump and opens it.
func (s scenario) build(t testing.TB) *minidump.File {
	t.Helper()
	b := minidumptest.New()
	ptr := s.ptr()
	if s.x64 {
		b.SystemInfo(minidumptest.Windows10x64())
	} else {
		b.SystemInfo(minidumptest.Windows7x86())
	}
	for _, m := range s.mods {
		mm := minidumptest.Module{Base: m.base, Size: m.size, Name: m.name}
		if m.fixture != "" {
			file := readFixture(t, m.fixture)
			f, err := pe.New(bytes.NewReader(file), int64(len(file)))
			if err != nil {
				t.Fatal(err)
			}
			mm.Size, mm.Time = f.SizeOfImage, f.TimeDateStamp
			cv, err := f.CodeView()
			if err != nil {
				t.Fatal(err)
			}
			name := cv.PDBPath
			if m.pdbName != "" {
				name = m.pdbName
			}
			if !m.noCV {
				mm.CodeView = minidumptest.RSDS(cv.GUID, cv.Age, name)
			}
			if m.capture {
				img := mapAt(t, file, m.base)
				for rva, v := range m.globals {
					putPtr(img[rva:], ptr, v)
				}
				b.Memory(m.base, img)
			}
		} else if m.pdbName != "" && !m.noCV {
			mm.CodeView = minidumptest.RSDS(minidump.GUID{1, 2, 3}, 1, m.pdbName)
		}
		b.Module(mm)
	}
	if s.processHeap != 0 {
		teb, peb := uint64(teb32), uint64(peb32Addr)
		if s.x64 {
			teb, peb = teb64, peb64Addr
		}
		b.ProcessHeaps(s.x64, 1, teb, peb, append([]uint64{s.processHeap}, s.otherHeaps...)...)
	}
	for _, h := range s.headers {
		b.Memory(h.handle, h.bytes(s.x64))
	}
	for va, data := range s.extra {
		b.Memory(va, data)
	}
	if len(s.regions) > 0 {
		b.Region(s.regions...)
	}
	data := b.Bytes()
	f, err := minidump.New(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// private returns a committed private region.
func private(base, size uint64) minidump.MemoryInfo {
	return minidump.MemoryInfo{BaseAddress: base, AllocationBase: base, RegionSize: size, State: minidump.MemCommit,
		Type: minidump.MemPrivate, Protect: 0x04, AllocationProtect: 0x04}
}

// storeWith returns a symbol store folder holding the named lld PDBs in
// symbol-store layout.
func storeWith(t testing.TB, pdbs ...string) string {
	t.Helper()
	dir := t.TempDir()
	for _, name := range pdbs {
		b := readFixture(t, name)
		p, err := pdbKey(b)
		if err != nil {
			t.Fatal(err)
		}
		d := filepath.Join(dir, name, p)
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(d, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func pdbKey(b []byte) (string, error) {
	f, err := pdb.New(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		return "", err
	}
	return symstore.Key(f.GUID, f.Age), nil
}

// noNetwork is an HTTP client that fails the test if it is used.
func noNetwork(t testing.TB) *http.Client {
	return &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
		t.Errorf("unexpected HTTP request: %s", r.URL)
		return nil, errors.New("no network in tests")
	})}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// options returns Options with the symbol path sym (Windows syntax, "" for
// none), image folders, a temporary cache and no network.
func options(t testing.TB, sym string, images ...string) process.Options {
	t.Helper()
	p, err := symstore.Parse(sym)
	if err != nil {
		t.Fatal(err)
	}
	return process.Options{SymbolPath: p, ImagePath: images, Store: symstore.Options{Cache: t.TempDir(), Client: noNetwork(t)}}
}

func pdbOpen(t testing.TB, name string) (*pdb.File, error) {
	b := readFixture(t, name)
	return pdb.New(bytes.NewReader(b), int64(len(b)))
}

// bytes returns the heap header: for an NT heap the fields by which package
// ntheap recognises one (the segment signature, _HEAP.Signature at the layout's
// offset, the first segment's Heap pointing back, the flags), at the offsets of
// the scenario's Windows version (Windows 10 x64, Windows 7 x86); for any other
// signature only the signature and the flags where an NT heap keeps them.
func (h heapHeader) bytes(x64 bool) []byte {
	v, ptr := ntheap.OSVersion{Major: 6, Minor: 1, Build: 7601}, 4
	if x64 {
		v, ptr = ntheap.OSVersion{Major: 10, Build: 19041}, 8
	}
	l, _ := ntheap.LayoutFor(v, ptr)
	hb := make([]byte, max(0x100, l.Heap.Size))
	binary.LittleEndian.PutUint32(hb[2*ptr:], h.sig)
	binary.LittleEndian.PutUint32(hb[l.Heap.Flags:], h.flags)
	if h.sig == sigNTSegment {
		binary.LittleEndian.PutUint32(hb[l.Heap.Signature:], ntheap.HeapSignature)
		if ptr == 8 {
			binary.LittleEndian.PutUint64(hb[l.Segment.Heap:], h.handle)
		} else {
			binary.LittleEndian.PutUint32(hb[l.Segment.Heap:], uint32(h.handle))
		}
	}
	return hb
}
