package input_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/dumpmap/dumpmap/analysis/input"
	"github.com/dumpmap/dumpmap/minidump"
)

// readAll returns every byte of the opened dump, read through the File's reader.
func readAll(t *testing.T, d *input.Dump) []byte {
	t.Helper()
	b := make([]byte, d.Size)
	if _, err := d.File.ReaderAt().ReadAt(b, 0); err != nil && err != io.EOF {
		t.Fatal(err)
	}
	return b
}

// TestOpenPacked opens one dump in every packing and checks that each gives the
// dump's own bytes, header and streams, with the right name and packing. The
// truth is the dump file itself, opened by the minidump package.
func TestOpenPacked(t *testing.T) {
	dump := fixture(t)
	dir := t.TempDir()
	plain := write(t, dir, "crash.dmp", dump)
	want, err := minidump.Open(plain)
	if err != nil {
		t.Fatal(err)
	}
	defer want.Close()
	readme := []byte("Sent by a customer.\nThe app crashed at start.\n")
	werCab, werErr := os.ReadFile("testdata/wer.cab")

	tests := []struct {
		name, file string // file "" is standard input
		data       []byte
		stdin      bool
		wantName   string
		packing    []input.Format
		member     string
	}{
		{name: "plain", file: "a.dmp", data: dump, wantName: "a.dmp"},
		{name: "gzip", file: "a.dmp.gz", data: gz(t, dump), wantName: "a.dmp.gz", packing: []input.Format{input.Gzip}},
		{name: "gzip under another name", file: "a.dmp", data: gz(t, dump), wantName: "a.dmp", packing: []input.Format{input.Gzip}},
		{name: "multi-member gzip", file: "m.gz", data: append(gz(t, dump[:1000]), gz(t, dump[1000:])...), wantName: "m.gz", packing: []input.Format{input.Gzip}},
		{name: "zstd", file: "a.dmp.zst", data: zst(t, dump), wantName: "a.dmp.zst", packing: []input.Format{input.Zstd}},
		{name: "zip", file: "a.zip", data: zipOf(t, member{name: "crash"}, member{name: "crash/app.dmp", data: dump}, member{name: "readme.txt", data: readme}),
			wantName: "a.zip:crash/app.dmp", packing: []input.Format{input.Zip}, member: "crash/app.dmp"},
		{name: "zip stored", file: "s.zip", data: zipOf(t, member{name: "app.dmp", data: dump, store: true}),
			wantName: "s.zip:app.dmp", packing: []input.Format{input.Zip}, member: "app.dmp"},
		{name: "cab", file: "a.cab", data: cabOf(member{name: "Report.wer", data: readme}, member{name: `WER\app.mdmp`, data: dump}),
			wantName: "a.cab:WER/app.mdmp", packing: []input.Format{input.CAB}, member: "WER/app.mdmp"},
		{name: "zip of a .dmp.gz", file: "z.zip", data: zipOf(t, member{name: "readme.txt", data: readme}, member{name: "app.dmp.gz", data: gz(t, dump)}),
			wantName: "z.zip:app.dmp.gz", packing: []input.Format{input.Zip, input.Gzip}, member: "app.dmp.gz"},
		{name: "gzipped zip", file: "z.zip.gz", data: gz(t, zipOf(t, member{name: "app.dmp", data: dump})),
			wantName: "z.zip.gz:app.dmp", packing: []input.Format{input.Gzip, input.Zip}, member: "app.dmp"},
		{name: "zip in a zip", file: "zz.zip", data: zipOf(t, member{name: "inner.zip", data: zipOf(t, member{name: "app.dmp", data: dump})}),
			wantName: "zz.zip:inner.zip:app.dmp", packing: []input.Format{input.Zip, input.Zip}, member: "inner.zip:app.dmp"},
		{name: "stdin plain", data: dump, stdin: true, wantName: "<stdin>"},
		{name: "stdin gzip", data: gz(t, dump), stdin: true, wantName: "<stdin>", packing: []input.Format{input.Gzip}},
		{name: "stdin zstd", data: zst(t, dump), stdin: true, wantName: "<stdin>", packing: []input.Format{input.Zstd}},
		{name: "stdin zip", data: zipOf(t, member{name: "app.dmp", data: dump}), stdin: true, wantName: "<stdin>:app.dmp", packing: []input.Format{input.Zip}, member: "app.dmp"},
		{name: "stdin cab", data: cabOf(member{name: "app.dmp", data: dump}), stdin: true, wantName: "<stdin>:app.dmp", packing: []input.Format{input.CAB}, member: "app.dmp"},
	}
	if werErr == nil && bytes.Equal(dump, mustFixture(t)) {
		// gcab's cabinet (testdata/gen.sh): an independent writer.
		tests = append(tests, struct {
			name, file string
			data       []byte
			stdin      bool
			wantName   string
			packing    []input.Format
			member     string
		}{name: "gcab WER cabinet", file: "wer.cab", data: werCab, wantName: "wer.cab:WER4A1B.tmp.mdmp", packing: []input.Format{input.CAB}, member: "WER4A1B.tmp.mdmp"})
	}
	for _, mem := range []struct {
		name  string
		limit int64
	}{{"in memory", 0}, {"spilled", -1}} {
		for _, tt := range tests {
			t.Run(mem.name+"/"+tt.name, func(t *testing.T) {
				tmp := t.TempDir()
				opt := input.Options{MemoryLimit: mem.limit, TempDir: tmp}
				path := "-"
				if tt.stdin {
					opt.Stdin = bytes.NewReader(tt.data)
				} else {
					path = write(t, dir, tt.file, tt.data)
				}
				d, err := input.Open(path, opt)
				if err != nil {
					t.Fatal(err)
				}
				name := strings.TrimPrefix(d.Name, dir+string(filepath.Separator))
				if name != tt.wantName || d.Member != tt.member || !reflect.DeepEqual(d.Packing, tt.packing) {
					t.Errorf("name %q member %q packing %v, want %q %q %v", name, d.Member, d.Packing, tt.wantName, tt.member, tt.packing)
				}
				if d.Size != int64(len(dump)) || sum(readAll(t, d)) != sum(dump) {
					t.Errorf("%d bytes that differ from the dump's %d", d.Size, len(dump))
				}
				if d.File.Header != want.Header || len(d.File.Streams) != len(want.Streams) {
					t.Errorf("header %+v, %d streams; want %+v, %d", d.File.Header, len(d.File.Streams), want.Header, len(want.Streams))
				}
				for i, s := range d.File.Streams {
					if *s != *want.Streams[i] {
						t.Errorf("stream %d: %+v, want %+v", i, s, want.Streams[i])
					}
				}
				if err := d.Close(); err != nil {
					t.Error(err)
				}
				emptyDir(t, tmp)
			})
		}
	}
}

func half(b []byte) []byte { return b[: len(b)/2 : len(b)/2] }

func mustFixture(t *testing.T) []byte {
	b, err := os.ReadFile("../../testdata/fixtures/dumps/pristine.dmp")
	if err != nil {
		return nil
	}
	return b
}

// TestOpenErrors: every way a packed input can fail gives an *Error of the
// right kind, naming the file or member, with the wording users see.
func TestOpenErrors(t *testing.T) {
	dump := synthetic()
	dir := t.TempDir()
	text := []byte("crash notes\nsecond line\n")
	zeros := make([]byte, 1<<20)
	gzBomb := bytes.Repeat(gz(t, zeros), 64) // 64 MiB of zeros, multi-member
	zstBomb := bytes.Repeat(zst(t, zeros), 64)
	goodZip := zipOf(t, member{name: "app.dmp", data: bytes.Repeat(dump, 50)})
	goodCab := cabOf(member{name: "app.dmp", data: bytes.Repeat(dump, 50)})
	lzx := bytes.Clone(goodCab)
	lzx[36+6] = 3 // CFFOLDER.typeCompress = LZX
	deep := gz(t, gz(t, gz(t, dump)))

	tests := []struct {
		name string
		file string
		data []byte
		kind input.Kind
		who  string // the Error's Name, relative to dir
		msg  string // part of the message
	}{
		{"text", "notes.txt", text, input.KindNotMinidump, "notes.txt", "not a minidump: looks like a text file"},
		{"empty", "empty.dmp", nil, input.KindNotMinidump, "empty.dmp", "looks like an empty file"},
		{"cut dump", "cut.dmp", dump[:20], input.KindDamaged, "cut.dmp", "shorter than the 32-byte header"},
		{"gzip of text", "notes.gz", gz(t, text), input.KindNotMinidump, "notes.gz", "looks like a text file"},
		{"zip of one text", "notes.zip", zipOf(t, member{name: "notes.txt", data: text}), input.KindNotMinidump, "notes.zip:notes.txt", "looks like a text file"},
		{"cab of one text", "notes.cab", cabOf(member{name: "notes.txt", data: text}), input.KindNotMinidump, "notes.cab:notes.txt", "looks like a text file"},
		{"zip of texts", "texts.zip", zipOf(t, member{name: "a.txt", data: text}, member{name: "b.txt", data: text}), input.KindNoDump, "texts.zip",
			"zip archive holds no minidump: 2 files: a.txt, b.txt"},
		{"several dumps", "two.zip", zipOf(t, member{name: "a.dmp", data: dump}, member{name: "notes.txt", data: text}, member{name: "b.dmp", data: dump}),
			input.KindSeveralDumps, "two.zip", "zip archive holds 2 minidumps: a.dmp, b.dmp; open one at a time"},
		{"several dumps in a cab", "two.cab", cabOf(member{name: "a.mdmp", data: dump}, member{name: "b.hdmp", data: dump}),
			input.KindSeveralDumps, "two.cab", "cabinet holds 2 minidumps: a.mdmp, b.hdmp"},
		{"empty zip", "empty.zip", zipOf(t), input.KindEmpty, "empty.zip", "zip archive without files"},
		{"zip of a folder", "folder.zip", zipOf(t, member{name: "dumps"}), input.KindEmpty, "folder.zip", "zip archive without files"},
		{"empty cab", "empty.cab", cabOf(), input.KindEmpty, "empty.cab", "cabinet without files"},
		{"truncated zip", "cut.zip", goodZip[:len(goodZip)/2], input.KindBadContainer, "cut.zip", "damaged zip archive: not a valid zip file"},
		{"truncated gzip", "cut.gz", half(gz(t, bytes.Repeat(dump, 50))), input.KindBadContainer, "cut.gz", "damaged gzip file: unexpected EOF"},
		{"truncated zstd", "cut.zst", half(zst(t, bytes.Repeat(dump, 50))), input.KindBadContainer, "cut.zst", "damaged zstd file"},
		{"truncated cab", "cut.cab", goodCab[:len(goodCab)-40], input.KindBadContainer, "cut.cab", "damaged cabinet: cabinet claims"},
		{"LZX cab", "lzx.cab", lzx, input.KindUnsupported, "lzx.cab:app.dmp", "cabinet uses LZX compression, which is not supported"},
		{"gzip bomb", "bomb.gz", gzBomb, input.KindTooLarge, "bomb.gz", "decompressed size passes the 4 MiB limit: not unpacked (a zip bomb?)"},
		{"zstd bomb", "bomb.zst", zstBomb, input.KindTooLarge, "bomb.zst", "passes the 4 MiB limit"},
		{"zip bomb that says so", "bomb.zip", zipOf(t, member{name: "big.dmp", data: make([]byte, 6<<20)}), input.KindTooLarge, "bomb.zip:big.dmp", "passes the 4 MiB limit"},
		{"cab bomb", "bomb.cab", cabOf(member{name: "big.dmp", data: make([]byte, 6<<20)}), input.KindTooLarge, "bomb.cab:big.dmp", "passes the 4 MiB limit"},
		{"zip of a gzip bomb", "nested.zip", zipOf(t, member{name: "a.dmp.gz", data: gzBomb}), input.KindTooLarge, "nested.zip:a.dmp.gz", "passes the 4 MiB limit"},
		{"too deep", "deep.gz", deep, input.KindNotMinidump, "deep.gz", "looks like a gzip file (containers are opened 2 levels deep)"},
		{"hostile member name", "evil.zip", zipOf(t, member{name: "..\\..\\evil\x1b[31m.txt", data: text}), input.KindNotMinidump, "evil.zip:../../evil\\x1b[31m.txt", "text file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tmp := t.TempDir()
			p := write(t, dir, tt.file, tt.data)
			d, err := input.Open(p, input.Options{MaxUnpacked: 4 << 20, MemoryLimit: 1 << 20, TempDir: tmp})
			if err == nil {
				d.Close()
				t.Fatalf("opened: %+v", d)
			}
			var e *input.Error
			if !errors.As(err, &e) {
				t.Fatalf("%v (%T) is not an *input.Error", err, err)
			}
			who := strings.TrimPrefix(e.Name, dir+string(filepath.Separator))
			if e.Kind != tt.kind || who != tt.who || !strings.Contains(e.Message(), tt.msg) {
				t.Errorf("kind %v, name %q, message %q;\nwant %v, %q, containing %q", e.Kind, who, e.Message(), tt.kind, tt.who, tt.msg)
			}
			if e.Error() != e.Name+": "+e.Message() {
				t.Errorf("Error() %q", e.Error())
			}
			if tt.kind == input.KindNotMinidump {
				var nm *minidump.NotMinidumpError
				if !errors.As(err, &nm) {
					t.Errorf("no *minidump.NotMinidumpError in %v", err)
				}
			}
			emptyDir(t, tmp)
		})
	}
}

func TestOpenFiles(t *testing.T) {
	dump := synthetic()
	dir := t.TempDir()
	// A missing file, a folder.
	if _, err := input.Open(filepath.Join(dir, "missing.dmp"), input.Options{}); !isKind(err, input.KindIO) || !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing: %v", err)
	}
	if _, err := input.Open(dir, input.Options{}); !isKind(err, input.KindNotMinidump) || !strings.Contains(err.Error(), "a directory") {
		t.Errorf("folder: %v", err)
	}
	// A named pipe (a shell's <(zcat crash.dmp.gz)) is copied like standard input.
	fifo := filepath.Join(dir, "pipe")
	if err := syscall.Mkfifo(fifo, 0o600); err == nil {
		go func() {
			f, err := os.OpenFile(fifo, os.O_WRONLY, 0)
			if err == nil {
				f.Write(gz(t, dump))
				f.Close()
			}
		}()
		d, err := input.Open(fifo, input.Options{})
		if err != nil || sum(readAll(t, d)) != sum(dump) || d.Name != fifo || len(d.Packing) != 1 {
			t.Errorf("named pipe: %+v, %v", d, err)
		}
		d.Close()
	}
	// Standard input that passes the limit.
	_, err := input.Open("-", input.Options{Stdin: bytes.NewReader(make([]byte, 5000)), MaxUnpacked: 4096})
	if !isKind(err, input.KindTooLarge) || err.Error() != "<stdin>: passes the 4 KiB limit: not read" {
		t.Errorf("large stdin: %v", err)
	}
	// An empty standard input.
	if _, err := input.Open("-", input.Options{Stdin: bytes.NewReader(nil)}); !isKind(err, input.KindNotMinidump) ||
		err.Error() != "<stdin>: not a minidump: looks like an empty file" {
		t.Errorf("empty stdin: %v", err)
	}
}

func isKind(err error, k input.Kind) bool {
	var e *input.Error
	return errors.As(err, &e) && e.Kind == k
}

// TestOpenCancel: a cancelled context stops unpacking with the context's error,
// and nothing is left behind.
func TestOpenCancel(t *testing.T) {
	tmp := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	r := &slowReader{cancel: cancel}
	_, err := input.OpenContext(ctx, "-", input.Options{Stdin: r, MemoryLimit: -1, TempDir: tmp})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("err %v, want context.Canceled", err)
	}
	emptyDir(t, tmp)
}

// slowReader gives a minidump header and then zeros forever, cancelling after
// a few reads.
type slowReader struct {
	n      int
	cancel func()
}

func (r *slowReader) Read(p []byte) (int, error) {
	r.n++
	if r.n == 5 {
		r.cancel()
	}
	time.Sleep(time.Millisecond)
	clear(p)
	if r.n == 1 && len(p) >= 4 {
		copy(p, "MDMP")
	}
	return len(p), nil
}

// TestZipMethods: a member compressed with a method archive/zip does not know
// (here 14, LZMA) is unsupported, named as such.
func TestZipMethods(t *testing.T) {
	z := zipOf(t, member{name: "a.dmp", data: synthetic(), store: true})
	// Method fields: local header offset 8, central directory entry offset 10.
	z[8] = 14
	cd := bytes.LastIndex(z, []byte("PK\x01\x02"))
	z[cd+10] = 14
	_, err := input.Open("-", input.Options{Stdin: bytes.NewReader(z)})
	var e *input.Error
	if !errors.As(err, &e) || e.Kind != input.KindUnsupported || e.Error() != "<stdin>:a.dmp: unsupported zip archive: unsupported compression algorithm" {
		t.Errorf("%v", err)
	}
}
