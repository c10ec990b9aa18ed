package stack

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/dumpmap/dumpmap/minidump"
)

// loadCorpus reads every corpus dump with a thread list into memory.
func loadCorpus(b *testing.B) map[string][]byte {
	b.Helper()
	root := filepath.Join(sharedRoot(b), "corpus")
	out := map[string][]byte{}
	for _, rel := range corpusDumps(b) {
		data, err := os.ReadFile(filepath.Join(root, rel))
		if err != nil {
			b.Fatal(err)
		}
		out[rel] = data
	}
	return out
}

// BenchmarkWalkCorpus walks every thread of every corpus dump (opening each dump,
// reading its module, memory and thread lists, walking): one iteration is the
// whole corpus. Metrics: dumps/s, threads/s and frames/s.
func BenchmarkWalkCorpus(b *testing.B) {
	dumps := loadCorpus(b)
	threads, frames := 0, 0
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		threads, frames = 0, 0
		for _, data := range dumps {
			f, err := minidump.New(bytes.NewReader(data), int64(len(data)))
			if err != nil {
				b.Fatal(err)
			}
			d, err := NewDump(f, Options{})
			if err != nil {
				continue
			}
			r := d.WalkAll()
			threads += len(r.Threads)
			for _, t := range r.Threads {
				frames += len(t.Frames)
			}
		}
	}
	s := b.Elapsed().Seconds()
	b.ReportMetric(float64(len(dumps)*b.N)/s, "dumps/s")
	b.ReportMetric(float64(threads*b.N)/s, "threads/s")
	b.ReportMetric(float64(frames*b.N)/s, "frames/s")
	b.ReportMetric(float64(frames), "frames/corpus")
}

// BenchmarkWalkCrashed walks only the crashing thread of each corpus dump that has
// one, as batch triage does: the dumps/s metric is the triage rate.
func BenchmarkWalkCrashed(b *testing.B) {
	dumps := loadCorpus(b)
	n := 0
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		n = 0
		for _, data := range dumps {
			f, err := minidump.New(bytes.NewReader(data), int64(len(data)))
			if err != nil {
				b.Fatal(err)
			}
			d, err := NewDump(f, Options{})
			if err != nil {
				continue
			}
			if _, err := d.WalkCrashed(); err == nil {
				n++
			}
		}
	}
	b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "dumps/s")
	b.ReportMetric(float64(n), "crashed-dumps")
}
