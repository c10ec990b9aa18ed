package triage

import (
	"bytes"
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"testing"

	"github.com/dumpmap/dumpmap/internal/gctune"
	"github.com/dumpmap/dumpmap/minidump"
	"github.com/dumpmap/dumpmap/minidump/minidumptest"
)

// benchDumps returns the corpus's minidumps of 20-400 KB (the size of the dumps
// crash pipelines collect), or synthetic ones when the corpus is absent.
func benchDumps(b *testing.B) [][]byte {
	var out [][]byte
	if c := sharedCorpus(); c != "" {
		filepath.WalkDir(c, func(p string, d fs.DirEntry, err error) error {
			if err != nil || !d.Type().IsRegular() {
				return nil
			}
			if fi, err := d.Info(); err != nil || fi.Size() < 20<<10 || fi.Size() > 400<<10 {
				return nil
			}
			data, err := os.ReadFile(p)
			if err == nil && bytes.HasPrefix(data, []byte("MDMP")) {
				out = append(out, data)
			}
			return nil
		})
	}
	if len(out) == 0 {
		for i := range 40 {
			d := synth(uint64(i+1)*M, minidump.ExceptionAccessViolation, uint64(i), uint32(i))
			out = append(out, append(d, make([]byte, (i%10)*30<<10)...))
		}
	}
	return out
}

// BenchmarkTriage runs triage over a folder of copies of the corpus's dumps with
// a warm page cache, one worker per core, and reports dumps per second (the issue
// asks for at least 1,000 on 2 cores) and the bytes allocated per dump.
func BenchmarkTriage(b *testing.B) {
	dumps := benchDumps(b)
	dir := b.TempDir()
	const copies = 10
	var total int64
	for c := range copies {
		sub := filepath.Join(dir, fmt.Sprintf("copy%02d", c))
		os.MkdirAll(sub, 0o755)
		for i, d := range dumps {
			if err := os.WriteFile(filepath.Join(sub, fmt.Sprintf("%03d.dmp", i)), d, 0o644); err != nil {
				b.Fatal(err)
			}
			total += int64(len(d))
		}
	}
	n := int64(len(dumps) * copies)
	b.Logf("%d dumps, %.1f MB, average %d KB, GOMAXPROCS %d", n, float64(total)/1e6, total/n>>10, runtime.GOMAXPROCS(0))
	b.ReportAllocs()
	b.SetBytes(total)
	var ms0, ms1 runtime.MemStats
	runtime.ReadMemStats(&ms0)
	cpu0 := cpuTime()
	var records int64
	for b.Loop() {
		st, err := Run(context.Background(), []string{dir}, Options{}, func(*Record) error { return nil })
		if err != nil || st.Errors > 0 {
			b.Fatalf("%v, %+v", err, st)
		}
		records += st.Records
	}
	cpu := cpuTime() - cpu0
	runtime.ReadMemStats(&ms1)
	b.ReportMetric(float64(records)/b.Elapsed().Seconds(), "dumps/s")
	// On a shared machine the wall clock says how busy the neighbours are; the CPU
	// time the process used says what the run costs: dumps/s on an idle machine is
	// about GOMAXPROCS times dumps/cpu-s.
	b.ReportMetric(float64(records)/cpu.Seconds(), "dumps/cpu-s")
	b.ReportMetric(float64(ms1.TotalAlloc-ms0.TotalAlloc)/float64(records), "B/dump")
	b.ReportMetric(float64(ms1.HeapSys)/(1<<20), "heap-MiB")
}

// BenchmarkTriagePacked is BenchmarkTriage over the same dumps packed the way
// customers send them: each copy of the set once as .dmp.gz files, once as
// .dmp.zst files and once as one zip archive. It measures the unpacking path
// (pooled decompressors, in-memory members, hashing while unpacking).
func BenchmarkTriagePacked(b *testing.B) {
	dumps := benchDumps(b)
	dir := b.TempDir()
	const copies = 3
	var total int64
	for c := range copies {
		sub := filepath.Join(dir, fmt.Sprintf("copy%02d", c))
		os.MkdirAll(sub, 0o755)
		var ms []member
		for i, d := range dumps {
			name := fmt.Sprintf("%03d.dmp", i)
			if err := os.WriteFile(filepath.Join(sub, name+".gz"), gz(b, d), 0o644); err != nil {
				b.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(sub, name+".zst"), zst(b, d), 0o644); err != nil {
				b.Fatal(err)
			}
			ms = append(ms, member{name: name, data: d})
			total += 3 * int64(len(d))
		}
		if err := os.WriteFile(filepath.Join(sub, "all.zip"), zipOf(b, ms...), 0o644); err != nil {
			b.Fatal(err)
		}
	}
	n := int64(3 * len(dumps) * copies)
	b.Logf("%d dumps, %.1f MB unpacked, GOMAXPROCS %d", n, float64(total)/1e6, runtime.GOMAXPROCS(0))
	b.ReportAllocs()
	b.SetBytes(total)
	var ms0, ms1 runtime.MemStats
	runtime.ReadMemStats(&ms0)
	cpu0 := cpuTime()
	var records int64
	for b.Loop() {
		st, err := Run(context.Background(), []string{dir}, Options{}, func(*Record) error { return nil })
		if err != nil || st.Errors > 0 || st.Records != n {
			b.Fatalf("%v, %+v", err, st)
		}
		records += st.Records
	}
	cpu := cpuTime() - cpu0
	runtime.ReadMemStats(&ms1)
	b.ReportMetric(float64(records)/b.Elapsed().Seconds(), "dumps/s")
	b.ReportMetric(float64(records)/cpu.Seconds(), "dumps/cpu-s")
	b.ReportMetric(float64(ms1.TotalAlloc-ms0.TotalAlloc)/float64(records), "B/dump")
	b.ReportMetric(float64(ms1.HeapSys)/(1<<20), "heap-MiB")
}

// BenchmarkTriageManyRanges runs triage over a folder like a crash collection that
// includes MiniDumpNormal dumps with tens of thousands of small captured ranges: ten
// copies of the corpus's minidumps (every size), the crash fixtures, and 48 dumps
// of 60,000-70,000 ranges (minidumptest.ManyRanges, half of them with a
// MemoryInfoList), over 1,100 files. The issue asks for at least 1,000 dumps/s on 2
// cores and a peak under 64 MB: heap-MiB is the most the heap held (sampled after
// each record), which with the command's collection policy (internal/gctune) and
// the binary is what the process's RSS holds.
func BenchmarkTriageManyRanges(b *testing.B) {
	dir := b.TempDir()
	var total int64
	write := func(name string, data []byte) {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			b.Fatal(err)
		}
		total += int64(len(data))
	}
	n := 0
	if c := sharedCorpus(); c != "" {
		var corpus [][]byte
		filepath.WalkDir(c, func(p string, d fs.DirEntry, err error) error {
			if err == nil && d.Type().IsRegular() && (filepath.Ext(p) == ".dmp" || filepath.Ext(p) == ".mdmp") {
				if data, err := os.ReadFile(p); err == nil {
					corpus = append(corpus, data)
				}
			}
			return nil
		})
		for c := range 10 {
			for i, d := range corpus {
				write(fmt.Sprintf("c%02d-%03d.dmp", c, i), d)
				n++
			}
		}
	}
	fixtures, _ := filepath.Glob(filepath.Join("..", "..", "testdata", "fixtures", "dumps", "*.dmp"))
	for c := range 5 {
		for i, p := range fixtures {
			if data, err := os.ReadFile(p); err == nil {
				write(fmt.Sprintf("f%d-%02d.dmp", c, i), data)
				n++
			}
		}
	}
	for i := range 8 {
		data := minidumptest.ManyRanges(minidumptest.ManyRangesSpec{Ranges: 60000 + 1500*i, MemoryInfo: i%2 == 1, Seed: uint64(i + 1)}).Bytes()
		for c := range 6 {
			write(fmt.Sprintf("m%d-%d.dmp", c, i), data)
			n++
		}
	}
	b.Logf("%d dumps, %.1f MB, GOMAXPROCS %d", n, float64(total)/1e6, runtime.GOMAXPROCS(0))
	// Collect as the command does (internal/gctune: only at the memory limit).
	defer debug.SetGCPercent(debug.SetGCPercent(-1))
	defer debug.SetMemoryLimit(debug.SetMemoryLimit(gctune.Base))
	runtime.GC()
	b.ReportAllocs()
	b.SetBytes(total)
	var peak uint64
	var ms runtime.MemStats
	cpu0 := cpuTime()
	var records int64
	for b.Loop() {
		k := 0
		st, err := Run(context.Background(), []string{dir}, Options{}, func(*Record) error {
			if k++; k%64 == 0 {
				runtime.ReadMemStats(&ms)
				peak = max(peak, ms.HeapInuse)
			}
			return nil
		})
		// The corpus holds a damaged file and one that is not a dump: records
		// with their errors.
		if err != nil || st.Records != int64(n) {
			b.Fatalf("%v, %+v", err, st)
		}
		records += st.Records
	}
	cpu := cpuTime() - cpu0
	b.ReportMetric(float64(records)/b.Elapsed().Seconds(), "dumps/s")
	b.ReportMetric(float64(records)/cpu.Seconds(), "dumps/cpu-s")
	b.ReportMetric(float64(peak)/(1<<20), "heap-MiB")
}
