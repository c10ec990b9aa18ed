package analysis_test

import (
	"bytes"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/dumpmap/dumpmap/analysis/process"

	"github.com/dumpmap/dumpmap/analysis"
	"github.com/dumpmap/dumpmap/minidump"
	"github.com/dumpmap/dumpmap/minidump/minidumptest"
)

// fragmented returns n regions of a 64-bit process: alternating one-page commits and
// their unusable 60 KB tails, the worst case for the map (every free region splits).
func fragmented(n int) []minidump.MemoryInfo {
	rs := make([]minidump.MemoryInfo, 0, n+2)
	rs = append(rs, free(0, 0x10000))
	a := uint64(0x10000)
	for len(rs) < n {
		rs = append(rs, private(a, 4*K, a, minidump.MemCommit, minidump.PageReadWrite), free(a+4*K, 60*K))
		a += 64 * K
	}
	rs = append(rs, free(a, 0x7ffffffeffff+1-a))
	return rs
}

func benchMap(b *testing.B, data []byte, regions int) {
	b.ReportAllocs()
	var ms, ms0 runtime.MemStats
	runtime.ReadMemStats(&ms0)
	for b.Loop() {
		f, err := minidump.New(bytes.NewReader(data), int64(len(data)))
		if err != nil {
			b.Fatal(err)
		}
		m, err := analysis.NewMap(process.New(f, process.Options{}), analysis.Options{})
		if err != nil {
			b.Fatal(err)
		}
		_ = m.Summary()
	}
	runtime.ReadMemStats(&ms)
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(regions), "ns/region")
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/1e6, "ms/map")
	// What a run allocates is what the command's process holds at its peak: it
	// collects only at its memory limit (internal/gctune), raised for a dump this
	// size above what the map needs.
	b.ReportMetric(float64(ms.TotalAlloc-ms0.TotalAlloc)/float64(b.N)/1e6, "MB-alloc/map")
}

// BenchmarkMapSummary1M: the target is a 1,000,000-region map in under
// 100 ms and 100 MB (the first issue's was 1 s and 300 MB).
func BenchmarkMapSummary1M(b *testing.B) {
	data := minidumptest.New().SystemInfo(minidumptest.Windows10x64()).Region(fragmented(1_000_000)...).Bytes()
	benchMap(b, data, 1_000_000)
}

// BenchmarkMapSummaryLarge200k runs on the peers' 200,000-region dump
// (../shared/peers/build-inputs.sh), for the side-by-side comparison.
func BenchmarkMapSummaryLarge200k(b *testing.B) {
	home, _ := os.UserHomeDir()
	p := filepath.Join(home, ".cache", "minidump-peers", "inputs", "large-200k.dmp")
	data, err := os.ReadFile(p)
	if err != nil {
		b.Skip("large-200k.dmp not built: run ../shared/peers/build-inputs.sh")
	}
	benchMap(b, data, 200_000)
}
