package triage

import (
	"os"
	"testing"

	"github.com/dumpmap/dumpmap/analysis/cab"
	"github.com/dumpmap/dumpmap/analysis/cab/cabtest"
	"github.com/dumpmap/dumpmap/minidump"
)

// TestCabinets: cabinets (the way Windows Error Reporting sends dumps) are
// archives like zip: one record per member, container "cab".
func TestCabinets(t *testing.T) {
	dir := t.TempDir()
	av := synth(256*M, minidump.ExceptionAccessViolation, 0x1234, 0x60000000)
	oom := synth(0, minidump.ExceptionNoMemory, 0x50, 0x60200000)
	write(t, dir, "report.cab", cabtest.Build([]cabtest.File{
		{Name: "Report.wer", Data: []byte("Version=1\r\nEventType=APPCRASH\r\n")},
		{Name: `WER\av.mdmp`, Data: av},
		{Name: "oom.dmp.gz", Data: gz(t, oom)},
	}, cabtest.Options{Compression: cab.MSZIP}))
	write(t, dir, "empty.cab", cabtest.Build(nil, cabtest.Options{}))
	lzx := cabtest.Build([]cabtest.File{{Name: "a.dmp", Data: av}}, cabtest.Options{Compression: cab.MSZIP})
	lzx[36+6] = byte(cab.LZX)
	write(t, dir, "lzx.cab", lzx)
	write(t, dir, "bomb.cab", cabtest.Build([]cabtest.File{{Name: "big.dmp", Data: make([]byte, 6*M)}}, cabtest.Options{Compression: cab.MSZIP}))
	ws := map[string]want{
		"report.cab!Report.wer":  {err: ErrNotMinidump, container: "cab", errText: "looks like a text file"},
		`report.cab!WER\av.mdmp`: {sig: "EXCEPTION_ACCESS_VIOLATION app.exe+0x1234", verdict: VerdictOK, sum: sum(av), container: "cab"},
		"report.cab!oom.dmp.gz":  {verdict: VerdictExhausted, oom: []string{"exception-code", "no-64k-block"}, sum: sum(oom), container: "cab+gzip"},
		"empty.cab":              {err: ErrEmpty, container: "cab", errText: "cabinet without files"},
		"lzx.cab!a.dmp":          {err: ErrBadContainer, container: "cab", errText: "LZX compression, which is not supported"},
		"bomb.cab!big.dmp":       {err: ErrTooLarge, container: "cab", errText: "passes the 4 MiB limit (--max-unpacked)"},
	}
	if b, err := os.ReadFile("../input/testdata/wer.cab"); err == nil {
		// gcab's cabinet of a fixture dump (analysis/input/testdata/gen.sh).
		write(t, dir, "wer.cab", b)
		ws["wer.cab!Report.wer"] = want{err: ErrNotMinidump, container: "cab"}
		ws["wer.cab!WER4A1B.tmp.WERInternalMetadata.xml"] = want{err: ErrNotMinidump, container: "cab"}
		ws["wer.cab!WER4A1B.tmp.mdmp"] = want{verdict: VerdictOK, product: "pristine.exe ", capture: "no-exception", container: "cab"}
	}
	got, _, _ := collect(t, dir, []string{dir}, Options{MaxUnpacked: 4 * M, MemoryLimit: 1 * M})
	for k, w := range ws {
		if r := got[k]; r == nil {
			t.Errorf("no record for %s", k)
		} else {
			check(t, k, r, w)
		}
	}
	if len(got) != len(ws) {
		t.Errorf("%d records, want %d", len(got), len(ws))
	}
}
