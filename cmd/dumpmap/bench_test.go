package main

import (
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/dumpmap/dumpmap/minidump"
	"github.com/dumpmap/dumpmap/minidump/minidumptest"
)

// peerInput returns the path of one of ../shared/peers/build-inputs.sh's inputs, or
// skips the benchmark when it was not built.
func peerInput(b *testing.B, name string) string {
	home, _ := os.UserHomeDir()
	p := filepath.Join(home, ".cache", "minidump-peers", "inputs", name)
	if _, err := os.Stat(p); err != nil {
		b.Skipf("%s not built: run ../shared/peers/build-inputs.sh", name)
	}
	return p
}

// benchCLI runs the command in-process (output discarded) and reports the time per
// region and the bytes allocated per run.
func benchCLI(b *testing.B, regions int, args ...string) {
	b.ReportAllocs()
	var ms0, ms1 runtime.MemStats
	runtime.ReadMemStats(&ms0)
	for b.Loop() {
		if code := run(args, io.Discard, io.Discard); code != 0 {
			b.Fatalf("%v: exit status %d", args, code)
		}
	}
	runtime.ReadMemStats(&ms1)
	if regions > 0 {
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(regions), "ns/region")
	}
	b.ReportMetric(float64(ms1.TotalAlloc-ms0.TotalAlloc)/float64(b.N)/1e6, "MB-alloc/op")
}

// BenchmarkCommandsLarge200k runs each command the performance issue times side by
// side against obj2yaml on large-200k.dmp (200,000 regions, 2,000 modules).
func BenchmarkCommandsLarge200k(b *testing.B) {
	p := peerInput(b, "large-200k.dmp")
	out := filepath.Join(b.TempDir(), "r.html")
	for _, c := range []struct {
		name string
		args []string
	}{
		{"summary", []string{"summary", p}},
		{"regions", []string{"regions", p}},
		{"regions-json", []string{"regions", "--json", p}},
		{"frag", []string{"frag", p}},
		{"explain", []string{"explain", "--size", "50K", p}},
		{"report", []string{"report", "--force", "-o", out, p}},
	} {
		b.Run(c.name, func(b *testing.B) { benchCLI(b, 200_000, c.args...) })
	}
}

// manyRangesFile writes the many-range dump (minidumptest.ManyRanges, 62,148 small
// captured ranges, no MemoryInfoList, or with one) once per process.
func manyRangesFile(b *testing.B, memInfo bool) string {
	name := "many-62k.dmp"
	if memInfo {
		name = "many-62k-mi.dmp"
	}
	p := filepath.Join(os.TempDir(), "dumpmap-bench-"+name)
	if _, err := os.Stat(p); err != nil {
		if err := minidumptest.ManyRanges(minidumptest.ManyRangesSpec{Ranges: 62148, MemoryInfo: memInfo}).WriteFile(p); err != nil {
			b.Fatal(err)
		}
	}
	return p
}

// BenchmarkCommandsManyRanges runs every command on a MiniDumpNormal-like dump
// holding 62,148 small captured ranges (the issue: every command faster than
// obj2yaml on the same file and under 64 MB).
func BenchmarkCommandsManyRanges(b *testing.B) {
	for _, mi := range []bool{false, true} {
		p := manyRangesFile(b, mi)
		out := filepath.Join(b.TempDir(), "r.html")
		name := "normal"
		if mi {
			name = "meminfo"
		}
		for _, c := range [][]string{
			{"info"}, {"summary"}, {"regions"}, {"regions", "--json"}, {"frag"}, {"explain", "--size", "50K"},
			{"report", "--force", "-o", out}, {"stack"}, {"heaps"}, {"modules"}, {"threads"}, {"memory"}, {"streams"}, {"triage"},
		} {
			b.Run(name+"/"+strings.Join(c, "-"), func(b *testing.B) { benchCLI(b, 0, append(c, p)...) })
		}
	}
}

// BenchmarkMemoryManyRanges lists the 62,148 captured ranges, as text and JSON.
func BenchmarkMemoryManyRanges(b *testing.B) {
	p := manyRangesFile(b, false)
	b.Run("text", func(b *testing.B) { benchCLI(b, 0, "memory", p) })
	b.Run("json", func(b *testing.B) { benchCLI(b, 0, "memory", "--json", p) })
}

// countWriter counts what is written to it.
type countWriter struct{ n int64 }

func (w *countWriter) Write(p []byte) (int, error) { w.n += int64(len(p)); return len(p), nil }

// BenchmarkSummaryRegions1M runs summary and regions --json on a dump of 1,000,000
// regions (alternating one-page commits and their 60 KB unusable tails, written to
// a temporary file once). The issue: summary under 100 ms and 100 MB; regions
// --json streams with flat memory, so MB-alloc/op stays the map's size while the
// output (output-MB) is several times larger.
func BenchmarkSummaryRegions1M(b *testing.B) {
	p := filepath.Join(os.TempDir(), "dumpmap-bench-1m.dmp")
	if _, err := os.Stat(p); err != nil {
		rs := make([]minidump.MemoryInfo, 0, 1_000_002)
		rs = append(rs, minidump.MemoryInfo{RegionSize: 0x10000, State: minidump.MemFree, Protect: minidump.PageNoAccess})
		a := uint64(0x10000)
		for len(rs) < 1_000_000 {
			rs = append(rs, minidump.MemoryInfo{BaseAddress: a, AllocationBase: a, RegionSize: 0x1000, State: minidump.MemCommit,
				Protect: minidump.PageReadWrite, AllocationProtect: minidump.PageReadWrite, Type: minidump.MemPrivate},
				minidump.MemoryInfo{BaseAddress: a + 0x1000, RegionSize: 0xf000, State: minidump.MemFree, Protect: minidump.PageNoAccess})
			a += 0x10000
		}
		rs = append(rs, minidump.MemoryInfo{BaseAddress: a, RegionSize: 0x7fffffff0000 - a, State: minidump.MemFree, Protect: minidump.PageNoAccess})
		if err := minidumptest.New().SystemInfo(minidumptest.Windows10x64()).Region(rs...).WriteFile(p); err != nil {
			b.Fatal(err)
		}
	}
	b.Run("summary", func(b *testing.B) { benchCLI(b, 1_000_000, "summary", p) })
	b.Run("regions-json", func(b *testing.B) {
		var out countWriter
		var ms0, ms1 runtime.MemStats
		runtime.ReadMemStats(&ms0)
		for b.Loop() {
			out.n = 0
			if code := run([]string{"regions", "--json", p}, &out, io.Discard); code != 0 {
				b.Fatalf("exit status %d", code)
			}
		}
		runtime.ReadMemStats(&ms1)
		b.ReportMetric(float64(ms1.TotalAlloc-ms0.TotalAlloc)/float64(b.N)/1e6, "MB-alloc/op")
		b.ReportMetric(float64(out.n)/1e6, "output-MB")
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/1e6, "ms/op")
	})
}
