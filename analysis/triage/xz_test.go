package triage

import (
	"bytes"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/dumpmap/dumpmap/minidump"
)

// TestXZ: xz files (packed by the xz command) are containers like gzip: one
// record per file, container "xz", the hash of the dump inside; an xz file the
// input package refuses gives a record that says why.
func TestXZ(t *testing.T) {
	dir := t.TempDir()
	ws := map[string]want{}
	// Committed seeds, made by the xz command (analysis/input/testdata/xz/gen.sh).
	sums, err := os.ReadFile("../input/testdata/xz/SHA256SUMS")
	if err != nil {
		t.Fatal(err)
	}
	for line := range strings.Lines(string(sums)) {
		f := strings.Fields(line)
		b, err := os.ReadFile("../input/testdata/xz/" + f[2])
		if err != nil {
			t.Fatal(err)
		}
		write(t, dir, "seeds/"+f[2], b)
		ws["seeds/"+f[2]] = want{container: "xz", sum: f[0], capture: "no-exception"}
	}
	dict, err := os.ReadFile("../input/testdata/xz/tiny-dict128.dmp.xz")
	if err != nil {
		t.Fatal(err)
	}
	write(t, dir, "bad/dict128.dmp.xz", dict)
	ws["bad/dict128.dmp.xz"] = want{err: ErrBadContainer, container: "xz", errText: "the block needs a 128 MiB LZMA2 dictionary, more than the 64 MiB read here"}

	if xz, err := exec.LookPath("xz"); err == nil {
		pack := func(data []byte) []byte {
			cmd := exec.Command(xz, "-c", "-6")
			cmd.Stdin = bytes.NewReader(data)
			out, err := cmd.Output()
			if err != nil {
				t.Fatal(err)
			}
			return out
		}
		av := synth(256*M, minidump.ExceptionAccessViolation, 0x1234, 0x60000000)
		oom := synth(0, minidump.ExceptionNoMemory, 0x50, 0x60200000)
		write(t, dir, "packed/av.dmp.xz", pack(av))
		ws["packed/av.dmp.xz"] = want{sig: "EXCEPTION_ACCESS_VIOLATION app.exe+0x1234", verdict: VerdictOK, sum: sum(av), container: "xz"}
		write(t, dir, "packed/bundle.zip", zipOf(t, member{name: "oom.dmp.xz", data: pack(oom)}, member{name: "readme.txt", data: []byte("notes")}))
		ws["packed/bundle.zip!oom.dmp.xz"] = want{verdict: VerdictExhausted, oom: []string{"exception-code", "no-64k-block"}, sum: sum(oom), container: "zip+xz"}
		ws["packed/bundle.zip!readme.txt"] = want{err: ErrNotMinidump, container: "zip"}
		write(t, dir, "packed/av.zip.xz", pack(zipOf(t, member{name: "av.dmp", data: av})))
		ws["packed/av.zip.xz!av.dmp"] = want{sig: "EXCEPTION_ACCESS_VIOLATION app.exe+0x1234", sum: sum(av), container: "xz+zip"}
		write(t, dir, "bad/bomb.xz", pack(make([]byte, 6*M)))
		ws["bad/bomb.xz"] = want{err: ErrTooLarge, container: "xz", errText: "passes the 4 MiB limit (--max-unpacked)"}
		cut := pack(av)
		write(t, dir, "bad/cut.xz", cut[:len(cut)/2&^3])
		ws["bad/cut.xz"] = want{err: ErrBadContainer, container: "xz", errText: "damaged xz file: no stream footer"}
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
