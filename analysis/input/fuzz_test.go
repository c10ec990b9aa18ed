package input_test

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/dumpmap/dumpmap/analysis/input"
)

// FuzzOpen feeds arbitrary bytes to Open as standard input: detection,
// decompression (gzip, zstd, xz), archive reading and member choice may fail, but only with an
// *input.Error or the context's error, never a panic; an opened dump is within
// the limit; and nothing is left in the temporary folder.
func FuzzOpen(f *testing.F) {
	dump := synthetic()
	text := []byte("notes\n")
	f.Add(dump)
	f.Add(gz(f, dump))
	f.Add(zst(f, dump))
	f.Add(zipOf(f, member{name: "a.dmp", data: dump}, member{name: "n.txt", data: text}))
	f.Add(zipOf(f, member{name: "a.dmp.gz", data: gz(f, dump)}))
	f.Add(gz(f, zipOf(f, member{name: "a.dmp", data: dump})))
	f.Add(cabOf(member{name: "a.dmp", data: dump}, member{name: "b.dmp", data: dump}))
	f.Add(cabOf(member{name: "n.txt", data: text}, member{name: "a.dmp", data: dump}))
	if b, err := os.ReadFile("testdata/wer.cab"); err == nil {
		f.Add(b)
	}
	// xz files made by the xz command (testdata/xz/gen.sh), alone and nested.
	seeds, _ := filepath.Glob("testdata/xz/*.xz")
	for _, p := range seeds {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
		if filepath.Base(p) == "tiny-1.dmp.xz" {
			f.Add(zipOf(f, member{name: "a.dmp.xz", data: b}, member{name: "n.txt", data: text}))
			f.Add(gz(f, b))
		}
	}
	tmp := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte) {
		const limit = 1 << 20
		d, err := input.Open("-", input.Options{Stdin: bytes.NewReader(data), MaxUnpacked: limit, MemoryLimit: 64 << 10, TempDir: tmp})
		if err != nil {
			var e *input.Error
			if !errors.As(err, &e) || e.Name == "" || e.Message() == "" {
				t.Fatalf("%v (%T): not a named *input.Error", err, err)
			}
		} else {
			if d.Size > limit || len(d.Packing) > input.MaxNesting {
				t.Fatalf("size %d, packing %v", d.Size, d.Packing)
			}
			d.File.Streams = nil
			if err := d.Close(); err != nil {
				t.Fatal(err)
			}
		}
		if ents, _ := os.ReadDir(tmp); len(ents) > 0 {
			t.Fatalf("%d files left in the temporary folder", len(ents))
		}
	})
}
