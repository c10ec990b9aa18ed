package report_test

import (
	"testing"

	"github.com/dumpmap/dumpmap/analysis/process"
	"github.com/dumpmap/dumpmap/analysis/report"
)

// TestEachStreamDecodedOnce: building a report, which runs every analysis (the
// overview, the region map, the heaps with the C runtime's, the summary, the
// fragmentation report, the explanations and the largest requests), decodes each
// stream of the dump at most once: every analysis reads the one process value.
func TestEachStreamDecodedOnce(t *testing.T) {
	for _, rel := range []string{
		"mozilla-pgo/windows-x86.dmp", // 16 streams, 1,516 memory ranges, MemoryInfoList
		"rust-minidump/stability-report.dmp",
		"breakpad/tiny-exe-with-cet-xsave.dmp",
		"breakpad/minidump2.dmp", // no MemoryInfoList: a partial map from the captured memory
		"mozilla-pgo/linux-x86_64.dmp",
	} {
		t.Run(rel, func(t *testing.T) {
			f := openCorpus(t, rel)
			p := process.New(f, process.Options{})
			defer p.Close()
			if _, err := report.Build(p, report.Options{Name: rel}); err != nil {
				t.Fatal(err)
			}
			decoded := 0
			for _, s := range f.Streams {
				n := f.Decodes(s)
				if n > 1 {
					t.Errorf("stream %d (%s) decoded %d times", s.Index, s.Type, n)
				}
				decoded += n
			}
			if decoded < 4 {
				t.Errorf("only %d stream decodes counted: the counter does not see the accessors", decoded)
			}
			t.Logf("%d of %d streams decoded, each once", decoded, len(f.Streams))
		})
	}
}
