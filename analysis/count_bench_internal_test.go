package analysis

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/dumpmap/dumpmap/analysis/process"
	"github.com/dumpmap/dumpmap/minidump"
)

// BenchmarkCountRegions counts the summary of the peers' 200,000-region dump
// region by region, as the layout does (countRegion): the per-region cost of
// the count, apart from the layout around it.
func BenchmarkCountRegions(b *testing.B) {
	home, _ := os.UserHomeDir()
	f, err := minidump.Open(filepath.Join(home, ".cache", "minidump-peers", "inputs", "large-200k.dmp"))
	if err != nil {
		b.Skip("large-200k.dmp not built: run ../shared/peers/build-inputs.sh")
	}
	defer f.Close()
	m, err := NewMap(process.New(f, process.Options{}), Options{})
	if err != nil {
		b.Fatal(err)
	}
	// The layout counts regions it has just written, in the cache: count a
	// stretch of 4,096 (256 KB) over and over.
	rs := m.Regions[len(m.Regions)/2:][:4096]
	b.ResetTimer()
	for b.Loop() {
		a := newSummaryAcc()
		for range 50 {
			for i := range rs {
				a.countRegion(&rs[i])
			}
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(50*len(rs)), "ns/region")
}
