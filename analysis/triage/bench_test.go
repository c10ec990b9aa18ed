package triage

import (
	"bytes"
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/dumpmap/dumpmap/minidump"
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
