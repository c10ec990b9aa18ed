package minidump

import (
	"os"
	"path/filepath"
	"testing"
)

// BenchmarkDecodeMemoryInfo decodes the peers' 200,000-entry MemoryInfoList
// from the file's mapping in batches, as ScanMemoryInfo does: the per-entry
// cost of the decode alone.
func BenchmarkDecodeMemoryInfo(b *testing.B) {
	data := largeMemoryInfo(b)
	n := len(data) / memoryInfoSize
	batch := make([]MemoryInfo, 1024)
	var sink uint64
	for b.Loop() {
		for i := 0; i < n; i += 1024 {
			k := min(1024, n-i)
			decodeMemoryInfo(batch[:k], data[i*memoryInfoSize:], memoryInfoSize)
			sink += batch[k-1].RegionSize
		}
	}
	_ = sink
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(n), "ns/entry")
}

// BenchmarkDecodeMemoryInfoCached decodes one batch of 1,024 entries over and
// over, in the cache: the decode's own cost, apart from reading the file.
func BenchmarkDecodeMemoryInfoCached(b *testing.B) {
	data := largeMemoryInfo(b)[:1024*memoryInfoSize]
	batch := make([]MemoryInfo, 1024)
	var sink uint64
	for b.Loop() {
		for range 200 {
			decodeMemoryInfo(batch, data, memoryInfoSize)
			sink += batch[1023].RegionSize
		}
	}
	_ = sink
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(200*1024), "ns/entry")
}

// largeMemoryInfo returns the entries of the peers' 200,000-entry MemoryInfoList
// where they lie in the file's mapping (closed when b ends), or skips b.
func largeMemoryInfo(b *testing.B) []byte {
	home, _ := os.UserHomeDir()
	f, err := Open(filepath.Join(home, ".cache", "minidump-peers", "inputs", "large-200k.dmp"))
	if err != nil || f.mapped == nil {
		b.Skip("large-200k.dmp not built or not mapped")
	}
	b.Cleanup(func() { f.Close() })
	s := f.Stream(StreamMemoryInfoList)
	data, _ := f.mapped.bytes(s.Offset+16, int(s.Available-16))
	return data
}
