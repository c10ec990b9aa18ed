package overview

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/dumpmap/dumpmap/analysis/process"
	"github.com/dumpmap/dumpmap/minidump"
)

// FuzzOf builds the overview of damaged dumps (what `info` shows: counts read
// from stream headers, the exception with its failed request, findings): a
// result, never a panic, and one that marshals. Seeds: the fixture dumps.
func FuzzOf(f *testing.F) {
	for _, name := range []string{"oom-heap.dmp", "callstack.dmp", "seed.dmp"} {
		if raw, err := os.ReadFile(filepath.Join("../../testdata/fixtures/dumps", name)); err == nil {
			f.Add(raw)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		md, err := minidump.New(bytes.NewReader(data), int64(len(data)))
		if err != nil {
			return
		}
		p := process.New(md, process.Options{})
		defer p.Close()
		o := Of(p)
		if _, err := json.Marshal(o); err != nil {
			t.Fatal(err)
		}
	})
}
