package analysis_test

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/dumpmap/dumpmap/analysis/process"

	"github.com/dumpmap/dumpmap/analysis"
	"github.com/dumpmap/dumpmap/minidump"
	"github.com/dumpmap/dumpmap/minidump/minidumptest"
)

// FuzzNewMap feeds hostile dumps to the whole analysis: the map, its summary, the
// fragmentation report, heap identification and an explanation. Whatever the input,
// nothing panics, and a map that is built covers the address space exactly.
func FuzzNewMap(f *testing.F) {
	f.Add(minidumptest.New().SystemInfo(minidumptest.Windows7x86()).Region(seedLike(20, 128*K)...).Bytes())
	f.Add(minidumptest.New().SystemInfo(minidumptest.Windows10x64()).Region(fragmented(50)...).
		Thread(minidumptest.Thread{ID: 1, TEB: 0x10000, StackStart: 0x20000, Stack: make([]byte, 64)}).Bytes())
	f.Add(minidumptest.New().SystemInfo(minidumptest.SystemInfo{Arch: minidump.ArchAMD64, Platform: minidump.PlatformLinux}).
		Stream(minidump.StreamLinuxMaps, []byte("00400000-00452000 r-xp 00000000 08:02 1 /bin/x\n")).Bytes())
	// Real dumps with a MemoryInfoList, when the corpus is beside the repository.
	for _, p := range []string{"breakpad/tiny-exe-with-cet-xsave.dmp", "rizin-testbins/crash-0a4b90615b8dd830e86ef1c4e5e80ea9",
		"breakpad/minidump2.dmp", "breakpad/linux_inline.dmp"} {
		if data, err := os.ReadFile(filepath.Join("..", "..", "shared", "corpus", p)); err == nil {
			f.Add(data)
		}
	}
	if data, err := os.ReadFile(filepath.Join("..", "testdata", "fixtures", "dumps", "pristine.dmp")); err == nil {
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		file, err := minidump.New(bytes.NewReader(data), int64(len(data)))
		if err != nil {
			return
		}
		m, err := analysis.NewMap(process.New(file, process.Options{}), analysis.Options{Unavailable: []analysis.AddrRange{{Start: 0x7d000000, End: 0x7d010000}}})
		if err != nil {
			return
		}
		checkCover(t, m)
		s := m.Summary()
		if s.Total != m.Space.End {
			t.Fatalf("summary total %#x, space %#x", s.Total, m.Space.End)
		}
		_ = m.Fragmentation(nil, nil)
		if m.Heaps == nil {
			t.Fatal("nil heap set")
		}
		for _, via := range []analysis.Via{analysis.ViaVirtualAlloc, analysis.ViaMalloc, analysis.ViaVector} {
			x := m.Explain(analysis.Request{Size: 50 << 10, Via: via, ElementSize: 8, Below: 0x80000000})
			if x.Verdict != analysis.Succeed && x.Verdict != analysis.Fail && x.Verdict != analysis.Depends {
				t.Fatalf("verdict %q", x.Verdict)
			}
		}
	})
}
