package minidump_test

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"sync"
	"testing"

	"github.com/dumpmap/dumpmap/minidump"
	"github.com/dumpmap/dumpmap/minidump/internal/raw"
	mdt "github.com/dumpmap/dumpmap/minidump/minidumptest"
)

// regionsDump is a dump holding only a MemoryInfoList of n regions.
func regionsDump(n int) []byte {
	rs := make([]minidump.MemoryInfo, n)
	for i := range rs {
		base := uint64(i) << 16
		rs[i] = minidump.MemoryInfo{BaseAddress: base, AllocationBase: base, AllocationProtect: minidump.PageReadWrite,
			RegionSize: 0x10000, State: minidump.MemCommit, Protect: minidump.PageReadWrite, Type: minidump.MemPrivate}
	}
	return mdt.New().Region(rs...).Bytes()
}

var (
	millionOnce sync.Once
	million     []byte
)

func millionRegions() []byte {
	millionOnce.Do(func() { million = regionsDump(1_000_000) })
	return million
}

// BenchmarkMemoryInfo measures MemoryInfo(): one ReadAt of the stream, the slice
// allocation and the hand decoder, per entry.
func BenchmarkMemoryInfo(b *testing.B) {
	b.Run("synthetic-1M", func(b *testing.B) {
		data := millionRegions()
		f := parse(b, data)
		benchMemoryInfo(b, f, 1_000_000)
	})
	b.Run("large-200k.dmp", func(b *testing.B) {
		f, err := minidump.Open(peerInput(b, "large-200k.dmp"))
		if err != nil {
			b.Fatal(err)
		}
		defer f.Close()
		benchMemoryInfo(b, f, 200_000)
	})
}

// BenchmarkScanMemoryInfo measures ScanMemoryInfo: the list read in chunks of 4096
// entries and decoded into a reused batch, as the analysis consumes it.
func BenchmarkScanMemoryInfo(b *testing.B) {
	run := func(b *testing.B, f *minidump.File, want int) {
		b.SetBytes(int64(want) * 48)
		b.ReportAllocs()
		for b.Loop() {
			var base uint64
			n, err := f.ScanMemoryInfo(func(batch []minidump.MemoryInfo) bool {
				for i := range batch {
					base += batch[i].BaseAddress
				}
				return true
			})
			if err != nil || n != want {
				b.Fatalf("%d regions, %v", n, err)
			}
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(want), "ns/entry")
	}
	b.Run("synthetic-1M", func(b *testing.B) { run(b, parse(b, millionRegions()), 1_000_000) })
	b.Run("large-200k.dmp", func(b *testing.B) {
		f, err := minidump.Open(peerInput(b, "large-200k.dmp"))
		if err != nil {
			b.Fatal(err)
		}
		defer f.Close()
		run(b, f, 200_000)
	})
}

func benchMemoryInfo(b *testing.B, f *minidump.File, want int) {
	b.SetBytes(int64(want) * 48)
	b.ReportAllocs()
	for b.Loop() {
		rs, err := f.MemoryInfo()
		if err != nil || len(rs) != want {
			b.Fatalf("%d regions, %v", len(rs), err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(want), "ns/entry")
}

// BenchmarkMemoryInfoDecode measures the decoding alone, hand-written against the
// generated accessors, on the 1,000,000-entry stream already in memory.
func BenchmarkMemoryInfoDecode(b *testing.B) {
	data := millionRegions()
	s := parse(b, data).Stream(minidump.StreamMemoryInfoList)
	stream := data[s.Offset : s.Offset+s.Size]
	const n = 1_000_000
	b.Run("hand", func(b *testing.B) {
		out := make([]minidump.MemoryInfo, n)
		for b.Loop() {
			minidump.DecodeMemoryInfo(out, stream[16:], 48)
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/n, "ns/entry")
	})
	b.Run("generated", func(b *testing.B) {
		out := make([]minidump.MemoryInfo, n)
		r := bytes.NewReader(stream)
		p := raw.NewProfile()
		for b.Loop() {
			hdr := p.MINIDUMP_MEMORY_INFO_LIST(r, 0)
			hs, es := int64(hdr.SizeOfHeader()), int64(hdr.SizeOfEntry())
			for i := range out {
				e := p.MINIDUMP_MEMORY_INFO(r, hs+int64(i)*es)
				out[i] = minidump.MemoryInfo{BaseAddress: e.BaseAddress(), AllocationBase: e.AllocationBase(),
					AllocationProtect: minidump.Protect(e.AllocationProtect()), RegionSize: e.RegionSize(),
					State: minidump.MemState(e.State()), Protect: minidump.Protect(e.Protect()), Type: minidump.MemType(e.Type())}
			}
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/n, "ns/entry")
	})
}

// BenchmarkModules decodes a list of 2,000 modules, each with a name and an RSDS record.
func BenchmarkModules(b *testing.B) {
	bld := mdt.New()
	for i := range 2000 {
		bld.Module(mdt.Module{Base: uint64(i+1) << 24, Size: 0x10000, Name: fmt.Sprintf(`C:\Windows\System32\mod%05d.dll`, i),
			Version: [4]uint16{10, 0, 19041, uint16(i)}, CodeView: mdt.RSDS(guidA, 1, fmt.Sprintf("mod%05d.pdb", i))})
	}
	f := parse(b, bld.Bytes())
	b.ReportAllocs()
	for b.Loop() {
		mods, err := f.Modules()
		if err != nil || len(mods) != 2000 {
			b.Fatal(len(mods), err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/2000, "ns/module")
}

// infoSet is what `dumpmap info` needs: the directory, SystemInfo, Modules, Threads,
// Exception, MiscInfo and the Memory64List.
func infoSet(tb testing.TB, r io.ReaderAt, size int64) {
	f, err := minidump.New(r, size)
	if err != nil {
		tb.Fatal(err)
	}
	for _, s := range f.Streams {
		_ = s.Type.String()
	}
	if _, err := f.SystemInfo(); err != nil {
		tb.Fatal(err)
	}
	if _, err := f.Modules(); err != nil {
		tb.Fatal(err)
	}
	if _, err := f.Threads(); err != nil {
		tb.Fatal(err)
	}
	if f.HasStream(minidump.StreamException) {
		if _, err := f.Exception(); err != nil {
			tb.Fatal(err)
		}
	}
	if _, err := f.MiscInfo(); err != nil {
		tb.Fatal(err)
	}
	if _, err := f.Memory64List(); err != nil {
		tb.Fatal(err)
	}
}

// BenchmarkOpenFull1G opens the 1 GiB full-memory dump and reads what `dumpmap info`
// needs, counting the bytes read: O(directory + those streams), not O(file). "direct"
// reads the file as given; "cached" goes through the 64 KiB block cache that Open puts
// in front of a file: what the operating system is really asked for.
func BenchmarkOpenFull1G(b *testing.B) {
	fh, err := os.Open(peerInput(b, "full-1g.dmp"))
	if err != nil {
		b.Fatal(err)
	}
	defer fh.Close()
	st, _ := fh.Stat()
	for _, cached := range []bool{false, true} {
		name := "direct"
		if cached {
			name = "cached"
		}
		b.Run(name, func(b *testing.B) {
			cr := &countingReader{r: fh}
			var r io.ReaderAt = cr
			b.ReportAllocs()
			for b.Loop() {
				if cached {
					r = minidump.NewReadCache(cr, st.Size())
				}
				infoSet(b, r, st.Size())
			}
			b.ReportMetric(float64(cr.n.Load())/float64(b.N), "bytes-read/op")
			b.ReportMetric(float64(cr.calls.Load())/float64(b.N), "reads/op")
		})
	}
}

// TestOpenFull1GReadsLittle: the same, as a test with the bound (under 1 MB).
func TestOpenFull1GReadsLittle(t *testing.T) {
	fh, err := os.Open(peerInput(t, "full-1g.dmp"))
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	st, _ := fh.Stat()
	for _, cached := range []bool{false, true} {
		cr := &countingReader{r: fh}
		var r io.ReaderAt = cr
		if cached { // as Open reads it
			r = minidump.NewReadCache(cr, st.Size())
		}
		infoSet(t, &countingReader{r: r}, st.Size())
		if n := cr.n.Load(); n >= 1<<20 {
			t.Errorf("cached=%v: read %d bytes of a %d-byte dump, want under 1 MiB", cached, n, st.Size())
		}
		t.Logf("cached=%v: read %d bytes in %d reads of a %d-byte dump", cached, cr.n.Load(), cr.calls.Load(), st.Size())
	}
}
