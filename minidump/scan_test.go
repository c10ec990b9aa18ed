package minidump_test

import (
	"bytes"
	"errors"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"sync"
	"testing"

	"github.com/dumpmap/dumpmap/minidump"
	mdt "github.com/dumpmap/dumpmap/minidump/minidumptest"
)

// scanAll collects what ScanMemoryInfo passes, batch by batch.
func scanAll(f *minidump.File) ([]minidump.MemoryInfo, int, error) {
	var all []minidump.MemoryInfo
	n, err := f.ScanMemoryInfo(func(b []minidump.MemoryInfo) bool {
		all = append(all, b...)
		return true
	})
	return all, n, err
}

// checkScanAgrees: ScanMemoryInfo, which reads the stream in chunks, gives exactly
// the entries MemoryInfo decodes with one read, and the same damage.
func checkScanAgrees(t *testing.T, name string, f *minidump.File) int {
	t.Helper()
	want, werr := f.MemoryInfo()
	got, n, gerr := scanAll(f)
	if n != len(got) || !reflect.DeepEqual(got, want) && !(len(got) == 0 && len(want) == 0) {
		t.Errorf("%s: ScanMemoryInfo gave %d entries (n %d), MemoryInfo %d", name, len(got), n, len(want))
	}
	if (werr == nil) != (gerr == nil) || errors.Is(werr, minidump.ErrNoStream) != errors.Is(gerr, minidump.ErrNoStream) {
		t.Errorf("%s: ScanMemoryInfo error %v, MemoryInfo error %v", name, gerr, werr)
	}
	checkErrKinds(t, name, gerr, false)
	return len(got)
}

func TestScanMemoryInfoAgrees(t *testing.T) {
	regions := func(n int) []minidump.MemoryInfo {
		rs := make([]minidump.MemoryInfo, n)
		for i := range rs {
			rs[i] = minidump.MemoryInfo{BaseAddress: uint64(i) << 12, AllocationBase: uint64(i) << 16, RegionSize: 0x1000,
				State: minidump.MemState(i), Protect: minidump.Protect(i * 3), Type: minidump.MemType(i * 5), AllocationProtect: 4}
		}
		return rs
	}
	for _, tc := range []struct {
		n, hs, es int
	}{{0, 16, 48}, {1, 16, 48}, {4095, 16, 48}, {4096, 16, 48}, {4097, 16, 48}, {10000, 24, 56}, {9000, 100, 64}} {
		b := mdt.New().Region(regions(tc.n)...)
		b.RegionHeaderSize, b.RegionEntrySize = tc.hs, tc.es
		data := b.Bytes()
		name := filepath.Join("synthetic", string(rune('0'+tc.n%10)))
		checkScanAgrees(t, name, parse(t, data))
		// Cut at several places inside the list: the same entries and an error.
		s := parse(t, data).Stream(minidump.StreamMemoryInfoList)
		for _, cut := range []int64{s.Offset + 3, s.Offset + 16, s.Offset + 17, s.Offset + s.Size/2, s.Offset + s.Size - 1} {
			if cut > s.Offset && cut < int64(len(data)) {
				checkScanAgrees(t, name+"-cut", parse(t, data[:cut]))
			}
		}
		// A count larger than the stream.
		if tc.n > 0 {
			d := bytes.Clone(data)
			patch64(d, s.Offset+8, 1<<50)
			checkScanAgrees(t, name+"-count", parse(t, d))
		}
	}
	// Stopping early.
	f := parse(t, mdt.New().Region(regions(10000)...).Bytes())
	calls, first := 0, 0
	n, err := f.ScanMemoryInfo(func(b []minidump.MemoryInfo) bool { calls++; first = len(b); return false })
	if calls != 1 || n != first || n >= 10000 || err != nil {
		t.Errorf("stop after one batch: %d calls, n %d (a batch of %d of 10,000), %v", calls, n, first, err)
	}
	// No stream.
	if _, err := parse(t, mdt.New().BreakpadInfo(0, 0, 0).Bytes()).ScanMemoryInfo(func([]minidump.MemoryInfo) bool { return true }); !errors.Is(err, minidump.ErrNoStream) {
		t.Errorf("no stream: %v", err)
	}
	// Every corpus dump and the 200,000-region input.
	total := 0
	if sharedDir() != "" {
		root, rels := corpusDumps(t)
		for _, rel := range rels {
			if f, err := minidump.Open(filepath.Join(root, rel)); err == nil {
				total += checkScanAgrees(t, rel, f)
				f.Close()
			}
		}
		if total < 4000 {
			t.Errorf("only %d corpus regions compared", total)
		}
	}
	if home := os.Getenv("HOME"); home != "" {
		p := filepath.Join(home, ".cache", "minidump-peers", "inputs", "large-200k.dmp")
		if f, err := minidump.Open(p); err == nil {
			if n := checkScanAgrees(t, "large-200k", f); n != 200000 {
				t.Errorf("large-200k: %d regions", n)
			}
			f.Close()
		}
	}
}

// TestReadCache compares reads through the block cache Open uses with reads of the
// file itself: random offsets and lengths, block edges, the end of the file, past it,
// and from several goroutines at once.
func TestReadCache(t *testing.T) {
	data := make([]byte, 300_000) // not a multiple of the 64 KiB block
	for i := range data {
		data[i] = byte(i*7 + i>>8)
	}
	direct := bytes.NewReader(data)
	cache := minidump.NewReadCache(direct, int64(len(data)))
	check := func(rng *rand.Rand, off int64, n int) {
		want := make([]byte, n)
		wn, werr := direct.ReadAt(want, off)
		got := make([]byte, n)
		gn, gerr := cache.ReadAt(got, off)
		// (An empty read may or may not report EOF; os.File's does not.)
		if gn != wn || !bytes.Equal(got[:gn], want[:wn]) || n > 0 && (gerr == nil) != (werr == nil) {
			t.Errorf("ReadAt(%d bytes at %d): cache %d, %v; file %d, %v", n, off, gn, gerr, wn, werr)
		}
		if gerr != nil && gn < n && !errors.Is(gerr, io.EOF) && !errors.Is(gerr, io.ErrUnexpectedEOF) {
			t.Errorf("ReadAt(%d at %d): %v", n, off, gerr)
		}
	}
	edges := []int64{0, 1, 65535, 65536, 65537, 131071, 196608, 299_999, 300_000, 300_001, 1 << 40}
	for _, off := range edges {
		for _, n := range []int{0, 1, 2, 8, 100, 16383, 16384, 16385, 70000} {
			check(nil, off, n)
			if off >= 4 {
				check(nil, off-4, n)
			}
		}
	}
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(g), 1))
			for range 5000 {
				off := rng.Int64N(int64(len(data)) + 100)
				n := rng.IntN(20000)
				if rng.IntN(10) == 0 {
					n = rng.IntN(40)
				}
				check(rng, off, n)
			}
		}()
	}
	wg.Wait()
}
