package input_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"github.com/dumpmap/dumpmap/analysis/input"
	"github.com/dumpmap/dumpmap/minidump"
	"github.com/ulikunitz/xz"
)

// xzTool returns the path of the xz command, skipping tb when there is none.
func xzTool(tb testing.TB) string {
	tb.Helper()
	p, err := exec.LookPath("xz")
	if err != nil {
		tb.Skip("no xz command: install xz-utils")
	}
	return p
}

// xzOf packs data with the xz command and the given options.
func xzOf(tb testing.TB, data []byte, args ...string) []byte {
	tb.Helper()
	cmd := exec.Command(xzTool(tb), append([]string{"-c", "-q"}, args...)...)
	cmd.Stdin = bytes.NewReader(data)
	var out, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &stderr
	if err := cmd.Run(); err != nil {
		tb.Fatalf("xz %v: %v: %s", args, err, stderr.Bytes())
	}
	return out.Bytes()
}

// TestOpenXZ opens a dump packed by the xz command in every way the xz file
// format allows that xz writes (presets, checks, multi-threaded blocks with
// sizes in their headers, concatenated streams with stream padding), and nested
// with the other containers. The truth is the dump itself: Open must give its
// bytes. Files this package refuses give the *Error that says why.
func TestOpenXZ(t *testing.T) {
	xzTool(t)
	dump := fixture(t)
	dir := t.TempDir()
	text := []byte("crash notes\n")
	zeros := make([]byte, 6<<20)
	cut := xzOf(t, dump, "-6")
	cut = cut[:len(cut)/2&^3]
	flipped := xzOf(t, dump, "-6")
	flipped[len(flipped)/2] ^= 0x55
	multi := append(xzOf(t, dump[:1000], "-9"), 0, 0, 0, 0)
	multi = append(multi, xzOf(t, dump[1000:5000], "-0", "--check=sha256")...)
	multi = append(multi, xzOf(t, dump[5000:], "-1", "--check=none")...)
	multi = append(multi, make([]byte, 8)...)

	tests := []struct {
		name    string
		data    []byte
		packing []input.Format
		member  string
		kind    input.Kind // for an error
		msg     string     // part of the error's message
	}{
		{name: "-9", data: xzOf(t, dump, "-9"), packing: []input.Format{input.XZ}},
		{name: "-1", data: xzOf(t, dump, "-1"), packing: []input.Format{input.XZ}},
		{name: "-0 CRC32", data: xzOf(t, dump, "-0", "--check=crc32"), packing: []input.Format{input.XZ}},
		{name: "-6 no check", data: xzOf(t, dump, "-6", "--check=none"), packing: []input.Format{input.XZ}},
		{name: "-6e SHA-256", data: xzOf(t, dump, "-6e", "--check=sha256"), packing: []input.Format{input.XZ}},
		{name: "multi-threaded blocks", data: xzOf(t, dump, "-T2", "--block-size=40KiB"), packing: []input.Format{input.XZ}},
		{name: "-9 in 4 KiB blocks", data: xzOf(t, dump, "-9", "--block-size=4KiB"), packing: []input.Format{input.XZ}},
		{name: "dictionary 4 KiB", data: xzOf(t, dump, "--lzma2=dict=4KiB,lc=0,lp=4,pb=0"), packing: []input.Format{input.XZ}},
		{name: "lc=4", data: xzOf(t, dump, "--lzma2=preset=1,lc=4,lp=0"), packing: []input.Format{input.XZ}},
		{name: "three streams and padding", data: multi, packing: []input.Format{input.XZ}},
		{name: "xz in a zip", data: zipOf(t, member{name: "notes.txt", data: text}, member{name: "a.dmp.xz", data: xzOf(t, dump, "-6")}),
			packing: []input.Format{input.Zip, input.XZ}, member: "a.dmp.xz"},
		{name: "zip in an xz", data: xzOf(t, zipOf(t, member{name: "a.dmp", data: dump}), "-6"), packing: []input.Format{input.XZ, input.Zip}, member: "a.dmp"},
		{name: "xz of a gzip", data: xzOf(t, gz(t, dump), "-1"), packing: []input.Format{input.XZ, input.Gzip}},
		{name: "gzip of an xz", data: gz(t, xzOf(t, dump, "-1")), packing: []input.Format{input.Gzip, input.XZ}},
		{name: "xz in a cabinet", data: cabOf(member{name: "a.dmp.xz", data: xzOf(t, dump, "-1")}), packing: []input.Format{input.CAB, input.XZ}, member: "a.dmp.xz"},

		{name: "128 MiB dictionary", data: xzOf(t, dump, "--lzma2=dict=128MiB"), kind: input.KindUnsupported,
			msg: "unsupported xz file: the block needs a 128 MiB LZMA2 dictionary, more than the 64 MiB read here (xz -9 uses 64 MiB): unpack the file with `xz -d` first (offset 0xc)"},
		{name: "x86 filter", data: xzOf(t, dump, "--x86", "--lzma2=preset=6"), kind: input.KindUnsupported,
			msg: "unsupported xz file: the block uses the x86 BCJ filter, and only LZMA2 alone is read here"},
		{name: "delta filter", data: xzOf(t, dump, "--delta=dist=4", "--lzma2=preset=1"), kind: input.KindUnsupported, msg: "the delta filter"},
		{name: "ARM64 filter", data: xzOf(t, dump, "--arm64", "--lzma2=preset=1"), kind: input.KindUnsupported, msg: "the ARM64 BCJ filter"},
		{name: "cut short", data: cut, kind: input.KindBadContainer, msg: "damaged xz file: no stream footer"},
		{name: "cut short, not at four", data: cut[:len(cut)-1], kind: input.KindBadContainer, msg: "not a multiple of four"},
		{name: "damaged data", data: flipped, kind: input.KindBadContainer, msg: "damaged xz file: "},
		{name: "bomb", data: xzOf(t, zeros, "-9"), kind: input.KindTooLarge, msg: "decompressed size passes the 4 MiB limit"},
		{name: "xz of text", data: xzOf(t, text), kind: input.KindNotMinidump, msg: "looks like a text file"},
		{name: "too deep", data: xzOf(t, gz(t, xzOf(t, dump))), kind: input.KindNotMinidump, msg: "looks like an xz file (containers are opened 2 levels deep)"},
		{name: "legacy .lzma", data: xzOf(t, dump, "--format=lzma"), kind: input.KindNotMinidump, msg: "not a minidump"},
	}
	for _, tt := range tests {
		for _, stdin := range []bool{false, true} {
			name := tt.name
			if stdin {
				name += "/stdin"
			}
			t.Run(name, func(t *testing.T) {
				tmp := t.TempDir()
				opt := input.Options{MaxUnpacked: 4 << 20, MemoryLimit: 64 << 10, TempDir: tmp}
				path := "-"
				if stdin {
					opt.Stdin = bytes.NewReader(tt.data)
				} else {
					path = write(t, dir, "a.xz", tt.data)
				}
				d, err := input.Open(path, opt)
				if tt.msg != "" {
					var e *input.Error
					if !errors.As(err, &e) || e.Kind != tt.kind || !strings.Contains(e.Message(), tt.msg) {
						t.Fatalf("%v; want a %v error containing %q", err, tt.kind, tt.msg)
					}
					if e.Name == "" {
						t.Errorf("%v names no file", err)
					}
					emptyDir(t, tmp)
					return
				}
				if err != nil {
					t.Fatal(err)
				}
				if !reflect.DeepEqual(d.Packing, tt.packing) || d.Member != tt.member {
					t.Errorf("packing %v member %q, want %v %q", d.Packing, d.Member, tt.packing, tt.member)
				}
				if d.Size != int64(len(dump)) || sum(readAll(t, d)) != sum(dump) {
					t.Errorf("%d bytes that differ from the dump's %d", d.Size, len(dump))
				}
				if err := d.Close(); err != nil {
					t.Error(err)
				}
				emptyDir(t, tmp)
			})
		}
	}
}

// TestXZBoundedMemory: a file of many small blocks that each ask for a 64 MiB
// dictionary (xz -9 --block-size=4KiB) is decoded with dictionaries the size of
// the blocks, not 64 MiB each.
func TestXZBoundedMemory(t *testing.T) {
	dump := bytes.Repeat(fixture(t), 2)
	data := xzOf(t, dump, "-9", "--block-size=4KiB")
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	d, err := input.Open("-", input.Options{Stdin: bytes.NewReader(data), MemoryLimit: 64 << 20})
	runtime.ReadMemStats(&after)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if sum(readAll(t, d)) != sum(dump) {
		t.Fatal("unpacked bytes differ")
	}
	// The input and output buffers (under 2 MiB each, pooled in powers of two)
	// and, per block, a 4 KiB dictionary and the decoder's tables; 64 MiB per
	// block would be gigabytes.
	blocks := (len(dump) + 4095) / 4096
	alloc := after.TotalAlloc - before.TotalAlloc
	t.Logf("%d blocks of %d bytes: %d KiB allocated", blocks, len(data), alloc>>10)
	if alloc > 16<<20 {
		t.Errorf("%d blocks took %d MiB", blocks, alloc>>20)
	}
}

// TestXZFixture: the fixture lab's oom-heap-full.dmp.xz (28 MB unpacked, one
// block with a 64 MiB dictionary) opens, and gives the bytes `xz -dc` gives.
func TestXZFixture(t *testing.T) {
	const path = "../../testdata/fixtures/dumps/oom-heap-full.dmp.xz"
	if _, err := os.Stat(path); err != nil {
		t.Skipf("fixture: %v", err)
	}
	if testing.Short() {
		t.Skip("28 MB to unpack")
	}
	cmd := exec.Command(xzTool(t), "-dc", path)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	h := sha256.New()
	n, err := io.Copy(h, out)
	if err != nil || cmd.Wait() != nil {
		t.Fatalf("xz -dc: %v", err)
	}
	d, err := input.Open(path, input.Options{TempDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	got := sha256.New()
	if _, err := io.Copy(got, io.NewSectionReader(d.File.ReaderAt(), 0, d.Size)); err != nil {
		t.Fatal(err)
	}
	if d.Size != n || !bytes.Equal(got.Sum(nil), h.Sum(nil)) || !reflect.DeepEqual(d.Packing, []input.Format{input.XZ}) {
		t.Errorf("%d bytes, sha256 %x, packing %v; xz -dc gives %d bytes, sha256 %x", d.Size, got.Sum(nil), d.Packing, n, h.Sum(nil))
	}
	if d.File.Header.Signature != minidump.Signature {
		t.Errorf("header %+v", d.File.Header)
	}
}

// xzSeed is a committed xz file of testdata/xz and what it unpacks to, as
// testdata/xz/SHA256SUMS records it (from the bytes given to xz).
type xzSeed struct {
	name string
	size int64
	sum  string
}

func xzSeeds(tb testing.TB) []xzSeed {
	f, err := os.Open("testdata/xz/SHA256SUMS")
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	var seeds []xzSeed
	s := bufio.NewScanner(f)
	for s.Scan() {
		// "sha256  size  name", of the unpacked bytes.
		fs := strings.Fields(s.Text())
		if len(fs) != 3 {
			tb.Fatalf("SHA256SUMS: %q", s.Text())
		}
		size, err := strconv.ParseInt(fs[1], 10, 64)
		if err != nil {
			tb.Fatal(err)
		}
		seeds = append(seeds, xzSeed{name: fs[2], size: size, sum: fs[0]})
	}
	return seeds
}

// TestXZSeeds opens the committed xz files (testdata/xz/gen.sh wrote them with
// the xz command), which need no xz command here: the good ones give the bytes
// SHA256SUMS records, the others the errors that say why they are refused.
func TestXZSeeds(t *testing.T) {
	refused := map[string]struct {
		kind input.Kind
		msg  string
	}{
		"tiny-dict128.dmp.xz": {input.KindUnsupported, "the block needs a 128 MiB LZMA2 dictionary"},
		"tiny-x86.dmp.xz":     {input.KindUnsupported, "the x86 BCJ filter"},
	}
	seen := 0
	for _, s := range xzSeeds(t) {
		t.Run(s.name, func(t *testing.T) {
			d, err := input.Open(filepath.Join("testdata/xz", s.name), input.Options{TempDir: t.TempDir()})
			if err != nil {
				t.Fatal(err)
			}
			defer d.Close()
			got := sha256.Sum256(readAll(t, d))
			if d.Size != s.size || hex.EncodeToString(got[:]) != s.sum {
				t.Errorf("%d bytes, sha256 %x; want %d, %s", d.Size, got, s.size, s.sum)
			}
		})
		seen++
	}
	for name, w := range refused {
		_, err := input.Open(filepath.Join("testdata/xz", name), input.Options{})
		var e *input.Error
		if !errors.As(err, &e) || e.Kind != w.kind || !strings.Contains(err.Error(), w.msg) || e.Name != filepath.Join("testdata/xz", name) {
			t.Errorf("%s: %v; want a %v error containing %q", name, err, w.kind, w.msg)
		}
	}
	if seen < 4 {
		t.Errorf("%d good seeds", seen)
	}
}

// BenchmarkDecompressXZ measures unpacking an xz-packed dump into memory: this
// package's reader (the structure walk, then LZMA2 through checked chunks), and
// for comparison github.com/ulikunitz/xz's own Reader of the same file.
func BenchmarkDecompressXZ(b *testing.B) {
	dump := bytes.Repeat(fixture(b), 20)
	type packed struct {
		name       string
		data, dump []byte
	}
	var files []packed
	for _, preset := range []string{"-1", "-6"} {
		files = append(files, packed{preset, xzOf(b, dump, preset), dump})
	}
	// A full-memory dump of the fixture lab, packed with xz -9 (28 MB).
	if data, err := os.ReadFile("../../testdata/fixtures/dumps/oom-heap-full.dmp.xz"); err == nil {
		files = append(files, packed{"-oom-heap-full", data, nil})
	}
	for _, f := range files {
		preset, data, dump := f.name, f.data, f.dump
		if dump == nil {
			dump = xzOf(b, data, "-d")
		}
		b.Run("input"+preset, func(b *testing.B) {
			b.SetBytes(int64(len(dump)))
			for b.Loop() {
				buf, err := input.Decompress(context.Background(), input.XZ, bytes.NewReader(data), int64(len(data)), input.Limits{MemoryLimit: 64 << 20})
				if err != nil || buf.Size() != int64(len(dump)) {
					b.Fatal(err)
				}
				buf.Close()
			}
			b.ReportMetric(float64(len(dump))/(b.Elapsed().Seconds()/float64(b.N))/1e6, "MB/s-unpacked")
		})
		b.Run("ulikunitz"+preset, func(b *testing.B) {
			b.SetBytes(int64(len(dump)))
			for b.Loop() {
				r, err := xz.NewReader(bytes.NewReader(data))
				if err != nil {
					b.Fatal(err)
				}
				if n, err := io.Copy(io.Discard, r); err != nil || n != int64(len(dump)) {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(len(dump))/(b.Elapsed().Seconds()/float64(b.N))/1e6, "MB/s-unpacked")
		})
	}
}
