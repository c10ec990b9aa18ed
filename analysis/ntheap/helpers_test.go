package ntheap

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"sync"
	"testing"

	"github.com/dumpmap/dumpmap/analysis/internal/sharedtest"
	"github.com/dumpmap/dumpmap/minidump"
	"github.com/dumpmap/dumpmap/minidump/minidumptest"
)

// corpusFile returns the path of a file of ../shared/corpus, or skips.
func corpusFile(t testing.TB, rel string) string {
	t.Helper()
	p, ok := corpusPath(rel)
	if !ok {
		t.Skip("shared corpus file not found:", rel)
	}
	return p
}

// corpusPath finds a corpus file by walking up to ../shared (sharedtest.Find
// returns shared/corpus/symbols).
func corpusPath(rel string) (string, bool) {
	sym, ok := sharedtest.Find()
	if !ok {
		return "", false
	}
	p := filepath.Join(filepath.Dir(sym), rel)
	if _, err := os.Stat(p); err != nil {
		return "", false
	}
	return p, true
}

type dump struct {
	f       *minidump.File
	mem     *minidump.Memory
	version OSVersion
	ptr     int
	tebs    []uint64
}

func openDump(t testing.TB, path string) *dump {
	t.Helper()
	f, err := minidump.Open(path)
	if err != nil {
		t.Fatalf("open %s: %v", path, err)
	}
	t.Cleanup(func() { f.Close() })
	mem, _ := f.Memory() // damaged lists still give the intact ranges
	if mem == nil {
		t.Fatalf("%s: no memory", path)
	}
	si, err := f.SystemInfo()
	if err != nil {
		t.Fatalf("%s: system info: %v", path, err)
	}
	d := &dump{f: f, mem: mem, version: OSVersion{si.MajorVersion, si.MinorVersion, si.BuildNumber}, ptr: si.Arch.PointerSize()}
	thr, _ := f.Threads()
	for _, th := range thr {
		d.tebs = append(d.tebs, th.TEB)
	}
	return d
}

func (d *dump) open(t testing.TB, addr uint64, ptr int) *Heap {
	t.Helper()
	h, err := Open(d.mem, addr, Options{Version: d.version, PointerSize: ptr})
	if err != nil {
		t.Fatalf("Open(%#x): %v", addr, err)
	}
	return h
}

// fakeMem is sparse memory for synthetic heaps: only the bytes written exist;
// reading anything else fails like an uncaptured range.
type fakeMem struct {
	pages map[uint64][]byte
}

func newFakeMem() *fakeMem { return &fakeMem{pages: map[uint64][]byte{}} }

var errMissing = errors.New("not captured")

func (m *fakeMem) page(va uint64, create bool) []byte {
	p := m.pages[va&^0xfff]
	if p == nil && create {
		p = make([]byte, 0x1000)
		m.pages[va&^0xfff] = p
	}
	return p
}

func (m *fakeMem) ReadAt(p []byte, va uint64) (int, error) {
	for i := 0; i < len(p); {
		a := va + uint64(i)
		pg := m.page(a, false)
		if pg == nil {
			clear(p[i:])
			return i, errMissing
		}
		n := copy(p[i:], pg[a&0xfff:])
		i += n
	}
	return len(p), nil
}

func (m *fakeMem) write(va uint64, b []byte) {
	for i := 0; i < len(b); {
		a := va + uint64(i)
		n := copy(m.page(a, true)[a&0xfff:], b[i:])
		i += n
	}
}

// commit makes [va, va+n) exist (zeroed).
func (m *fakeMem) commit(va, n uint64) {
	for a := va &^ 0xfff; a < va+n; a += 0x1000 {
		m.page(a, true)
	}
}

func (m *fakeMem) drop(va, n uint64) {
	for a := va &^ 0xfff; a < va+n; a += 0x1000 {
		delete(m.pages, a)
	}
}

func (m *fakeMem) u8(va uint64, v uint8)   { m.write(va, []byte{v}) }
func (m *fakeMem) u16(va uint64, v uint16) { m.write(va, binary.LittleEndian.AppendUint16(nil, v)) }
func (m *fakeMem) u32(va uint64, v uint32) { m.write(va, binary.LittleEndian.AppendUint32(nil, v)) }
func (m *fakeMem) u64(va uint64, v uint64) { m.write(va, binary.LittleEndian.AppendUint64(nil, v)) }
func (m *fakeMem) ptr(va uint64, v uint64, size int) {
	if size == 4 {
		m.u32(va, uint32(v))
	} else {
		m.u64(va, v)
	}
}

// Fixture dumps of the lab (testdata/fixtures, docs/fixtures.md), decompressed
// once per test binary into a temporary folder.
type fixtureTruth struct {
	Dump        string `json:"dump"`
	PointerSize int    `json:"pointer_size"`
	PEB         string `json:"peb"`
	ProcessHeap string `json:"process_heap"`
	Heaps       []struct {
		Handle      string `json:"handle"`
		Flags       uint32 `json:"flags"`
		ProcessHeap bool   `json:"process_heap"`
		Walk        struct {
			Complete          bool   `json:"complete"`
			Regions           int    `json:"regions"`
			BusyBlocks        int    `json:"busy_blocks"`
			BusyBytes         uint64 `json:"busy_bytes"`
			FreeBlocks        int    `json:"free_blocks"`
			FreeBytes         uint64 `json:"free_bytes"`
			UncommittedRanges int    `json:"uncommitted_ranges"`
			UncommittedBytes  uint64 `json:"uncommitted_bytes"`
			CommittedBytes    uint64 `json:"committed_bytes"`
			RegionBytes       uint64 `json:"region_bytes"`
			LargestFreeBlock  uint64 `json:"largest_free_block"`
		} `json:"walk"`
	} `json:"heaps"`
}

func hexAddr(t testing.TB, s string) uint64 {
	v, err := strconv.ParseUint(s, 0, 64)
	if err != nil {
		t.Fatalf("bad address %q", s)
	}
	return v
}

type fixture struct {
	name  string
	path  string // the decompressed dump
	truth fixtureTruth
}

var (
	fixturesOnce sync.Once
	fixturesList []fixture
	fixturesErr  error
)

func fixtureDir(t testing.TB) string {
	dir := filepath.Join("..", "..", "testdata", "fixtures", "dumps")
	if _, err := os.Stat(dir); err != nil {
		t.Skip("fixture dumps not found:", err)
	}
	return dir
}

// fullFixtures returns the full-memory fixture dumps with their truth.
func fullFixtures(t testing.TB) []fixture {
	t.Helper()
	dir := fixtureDir(t)
	fixturesOnce.Do(func() {
		names, _ := filepath.Glob(filepath.Join(dir, "*-full.dmp.xz"))
		sort.Strings(names)
		for _, n := range names {
			base := filepath.Base(n)
			name := base[:len(base)-len("-full.dmp.xz")]
			var truth fixtureTruth
			b, err := os.ReadFile(filepath.Join(dir, name+"-full.json"))
			if err != nil {
				fixturesErr = err
				return
			}
			if err := json.Unmarshal(b, &truth); err != nil {
				fixturesErr = fmt.Errorf("%s: %v", name, err)
				return
			}
			fixturesList = append(fixturesList, fixture{name, minidumptest.UnpackXZ(t, n), truth})
		}
	})
	if fixturesErr != nil {
		t.Fatal(fixturesErr)
	}
	if len(fixturesList) == 0 {
		t.Skip("no full-memory fixture dumps")
	}
	return fixturesList
}
