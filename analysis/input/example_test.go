package input_test

import (
	"archive/zip"
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"log"
	"os"
	"path/filepath"

	"github.com/dumpmap/dumpmap/analysis/input"
)

// Open a dump the way a customer sent it, here a gzip-compressed copy, and read
// it like any other.
func ExampleOpen() {
	dump, err := os.ReadFile("../../testdata/fixtures/dumps/pristine.dmp")
	if err != nil {
		log.Fatal(err)
	}
	var packed bytes.Buffer
	zw := gzip.NewWriter(&packed)
	zw.Write(dump)
	zw.Close()
	dir, err := os.MkdirTemp("", "example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "crash.dmp.gz")
	if err := os.WriteFile(path, packed.Bytes(), 0o600); err != nil {
		log.Fatal(err)
	}

	d, err := input.Open(path, input.Options{})
	if err != nil {
		log.Fatal(err) // an *input.Error: "crash.zip:app.dmp: not a minidump: looks like ..."
	}
	defer d.Close() // removes any temporary file
	fmt.Println(filepath.Base(d.Name), d.Packing, d.Size == int64(len(dump)), len(d.File.Streams) > 0)
	// Output:
	// crash.dmp.gz [gzip] true true
}

// An archive must hold exactly one minidump: the report and metadata files
// beside it are passed over, and several dumps give an error that lists them.
func ExampleOpen_archive() {
	d, err := input.Open("testdata/wer.cab", input.Options{}) // made by gcab: testdata/gen.sh
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(d.Name, d.Member, d.Packing)
	d.Close()

	dump, _ := os.ReadFile("../../testdata/fixtures/dumps/pristine.dmp")
	var zipped bytes.Buffer
	zw := zip.NewWriter(&zipped)
	for _, name := range []string{"report.txt", "app.mdmp", "app.hdmp"} {
		w, _ := zw.Create(name)
		w.Write(dump)
	}
	zw.Close()
	_, err = input.Open("-", input.Options{Stdin: &zipped})
	var e *input.Error
	if errors.As(err, &e) {
		fmt.Println(e.Kind, e.Members)
		fmt.Println(e)
	}
	// Output:
	// testdata/wer.cab:WER4A1B.tmp.mdmp WER4A1B.tmp.mdmp [cab]
	// several-dumps [report.txt app.mdmp app.hdmp]
	// <stdin>: zip archive holds 3 minidumps: report.txt, app.mdmp, app.hdmp; open one at a time (unpack it first), or read them all with `dumpmap triage`
}

// An xz file is read when its blocks are LZMA2 with a dictionary of at most 64
// MiB (what xz -9 uses); its structure is checked before anything is decoded,
// and a file that asks for more is refused with the offset of the block.
func ExampleOpen_xz() {
	d, err := input.Open("testdata/xz/tiny-9.dmp.xz", input.Options{}) // xz -9: testdata/xz/gen.sh
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(d.Name, d.Packing, d.Size)
	d.Close()

	_, err = input.Open("testdata/xz/tiny-dict128.dmp.xz", input.Options{}) // xz --lzma2=dict=128MiB
	var e *input.Error
	if errors.As(err, &e) {
		fmt.Println(e.Kind)
		fmt.Println(e)
	}
	// Output:
	// testdata/xz/tiny-9.dmp.xz [xz] 460
	// unsupported
	// testdata/xz/tiny-dict128.dmp.xz: unsupported xz file: the block needs a 128 MiB LZMA2 dictionary, more than the 64 MiB read here (xz -9 uses 64 MiB): unpack the file with `xz -d` first (offset 0xc)
}
