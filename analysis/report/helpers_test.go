package report_test

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/dumpmap/dumpmap/analysis/process"

	"github.com/dumpmap/dumpmap/analysis/report"
	"github.com/dumpmap/dumpmap/minidump"
	"github.com/dumpmap/dumpmap/minidump/minidumptest"
)

const (
	K = 1 << 10
	M = 1 << 20
)

func free(base, size uint64) minidump.MemoryInfo {
	return minidump.MemoryInfo{BaseAddress: base, RegionSize: size, State: minidump.MemFree, Protect: minidump.PageNoAccess}
}

func private(base, size, allocBase uint64, state minidump.MemState, prot minidump.Protect) minidump.MemoryInfo {
	return minidump.MemoryInfo{BaseAddress: base, RegionSize: size, AllocationBase: allocBase, AllocationProtect: minidump.PageReadWrite,
		State: state, Protect: prot, Type: minidump.MemPrivate}
}

func imageRegion(base, size uint64) minidump.MemoryInfo {
	return minidump.MemoryInfo{BaseAddress: base, RegionSize: size, AllocationBase: base, AllocationProtect: minidump.PageExecuteWriteCopy,
		State: minidump.MemCommit, Protect: minidump.PageExecuteRead, Type: minidump.MemImage}
}

// seedBuilder builds the seed scenario in small: a 32-bit process (2 GB, not
// large-address-aware) whose low address space is filled with n one-page VirtualAlloc
// commits, each leaving its 60 KB unusable tail: with n = 29,000 about 1.7 GB is free,
// and not one 64 KB block of it is usable. exeName and dllName let a test give the
// modules hostile names. withOOM adds the exception.
func seedBuilder(n int, exeName, dllName string) *minidumptest.Builder {
	var rs []minidump.MemoryInfo
	rs = append(rs, free(0, 0x10000))
	a := uint64(0x10000)
	for i := 0; i < n; i++ {
		rs = append(rs, private(a, 4*K, a, minidump.MemCommit, minidump.PageReadWrite), free(a+4*K, 60*K))
		a += 64 * K
	}
	const (
		exe      = 0x75400000
		kernel32 = 0x76f00000
		ntdll    = 0x77a00000
		stack    = 0x77bb0000
		teb      = 0x7ffdf000
		shared   = 0x7ffe0000
	)
	rs = append(rs,
		private(a, exe-a, a, minidump.MemReserve, 0),
		imageRegion(exe, 0x25000), free(exe+0x25000, 0xb000),
		private(exe+0x30000, kernel32-exe-0x30000, exe+0x30000, minidump.MemReserve, 0),
		imageRegion(kernel32, 0xf0000),
		private(kernel32+0xf0000, ntdll-kernel32-0xf0000, kernel32+0xf0000, minidump.MemReserve, 0),
		imageRegion(ntdll, 0x1a4000), free(ntdll+0x1a4000, 0xc000),
		private(stack, 0xfd000, stack, minidump.MemReserve, 0),
		private(stack+0xfd000, 0x1000, stack, minidump.MemCommit, minidump.PageReadWrite|minidump.PageGuard),
		private(stack+0xfe000, 0x2000, stack, minidump.MemCommit, minidump.PageReadWrite),
		private(stack+0x100000, teb-stack-0x100000, stack+0x100000, minidump.MemReserve, 0),
		private(teb, 0x1000, teb, minidump.MemCommit, minidump.PageReadWrite), free(teb+0x1000, 0),
		private(shared, 0x1000, shared, minidump.MemCommit, minidump.PageReadOnly), free(shared+0x1000, 0xf000),
	)
	// Drop the empty filler region.
	out := rs[:0]
	for _, r := range rs {
		if r.RegionSize > 0 {
			out = append(out, r)
		}
	}
	stackBytes := bytes.Repeat([]byte{0x5e}, 0x100)
	b := minidumptest.New().
		SystemInfo(minidumptest.Windows7x86()).
		MiscInfo(2, 4711, 0x5efff000).
		Module(minidumptest.Module{Base: exe, Size: 0x25000, Name: `C:\Program Files\Seed\` + exeName, Version: [4]uint16{1, 2, 3, 4}}).
		Module(minidumptest.Module{Base: kernel32, Size: 0xf0000, Name: `C:\Windows\system32\` + dllName, Version: [4]uint16{6, 1, 7601, 24545}}).
		Module(minidumptest.Module{Base: ntdll, Size: 0x1a4000, Name: `C:\Windows\SYSTEM32\ntdll.dll`, Version: [4]uint16{6, 1, 7601, 24545}}).
		Thread(minidumptest.Thread{ID: 4242, TEB: teb, StackStart: stack + 0xfff00, Stack: stackBytes}).
		Memory(stack+0xfff00, stackBytes).
		Region(out...).
		ProcessVMCounters(minidump.ProcessVMCounters{Revision: 1, PrivateUsage: uint64(n) * 4 * K, PeakPagefileUsage: uint64(n) * 4 * K})
	b.Flags = minidump.DumpWithFullMemoryInfo | minidump.DumpWithThreadInfo
	return b
}

// hugeBuilder builds a 64-bit process with n one-page reservations and their tails
// low in its address space: 2n+ regions.
func hugeBuilder(n int) *minidumptest.Builder {
	rs := []minidump.MemoryInfo{free(0, 0x10000)}
	a := uint64(0x10000)
	for i := 0; i < n; i++ {
		rs = append(rs, private(a, 4*K, a, minidump.MemCommit, minidump.PageReadWrite), free(a+4*K, 60*K))
		a += 64 * K
	}
	rs = append(rs, free(a, 0x7ff6a0000000-a), imageRegion(0x7ff6a0000000, 0x25000), free(0x7ff6a0025000, 0x7fffffff0000-0x7ff6a0025000))
	return minidumptest.New().
		SystemInfo(minidumptest.Windows10x64()).
		Module(minidumptest.Module{Base: 0x7ff6a0000000, Size: 0x25000, Name: `C:\Program Files\Huge\huge.exe`}).
		Region(rs...)
}

// withOOM adds the exception of the seed story: the last allocation, 50 KB from
// HeapAlloc with HEAP_GENERATE_EXCEPTIONS, failed with STATUS_NO_MEMORY.
func withOOM(b *minidumptest.Builder) *minidumptest.Builder {
	return b.Exception(4242, minidump.ExceptionNoMemory, 0x77a4f2a3, 50*K)
}

// seedDump is the seed scenario with 29,000 reservations.
func seedDump() []byte { return withOOM(seedBuilder(29000, "seed.exe", "kernel32.dll")).Bytes() }

func openBytes(t testing.TB, data []byte) *minidump.File {
	t.Helper()
	f, err := minidump.New(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func build(t testing.TB, f *minidump.File, name string, opt report.Options) *report.Report {
	t.Helper()
	opt.Name = name
	if opt.Generator == "" {
		opt.Generator = "dumpmap (test)"
	}
	r, err := report.Build(process.New(f, process.Options{}), opt)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// corpusDir finds ../shared/corpus above the working directory, or "".
func corpusDir() string {
	if v := os.Getenv("DUMPMAP_CORPUS"); v != "" {
		return v
	}
	dir, _ := os.Getwd()
	for {
		p := filepath.Join(dir, "shared", "corpus")
		if st, err := os.Stat(p); err == nil && st.IsDir() {
			return p
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return ""
		}
		dir = parent
	}
}

func openCorpus(t testing.TB, rel string) *minidump.File {
	t.Helper()
	c := corpusDir()
	if c == "" {
		t.Skip("../shared/corpus not found")
	}
	f, err := minidump.Open(filepath.Join(c, rel))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}
