package triage

import (
	"archive/zip"
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"
	"sync"
	"sync/atomic"
	"syscall"

	// zstd: the standard library has no zstd decoder. klauspost/compress is the
	// de facto Go implementation: pure Go (no cgo, so the CLI stays one static
	// binary), maintained since 2015 with regular releases, fuzzed continuously, and
	// a dependency of a large part of the Go ecosystem. Its decoder has the bounds a
	// hostile file needs: a cap on the window and on the decoded size.
	"github.com/klauspost/compress/zstd"
)

// errTimeout is the cause of a step's context when Options.Timeout runs out.
var errTimeout = errors.New("timed out")

// errTooLarge is returned when decompression passes Options.MaxUnpacked.
type errTooLarge struct{ limit int64 }

func (e *errTooLarge) Error() string {
	return fmt.Sprintf("decompressed size passes the %s limit (--max-unpacked): not unpacked (a zip bomb?)", sizeString(e.limit))
}

// A blob is the bytes of one file or decompressed member: in memory (data), or in
// a file, the dump itself or a temporary spill file. It is reference counted because
// a step abandoned at its time-out may still be reading it.
type blob struct {
	data []byte
	buf  *[]byte // the pooled buffer data lives in, returned on release
	file *os.File
	tmp  bool // file is a spill file, removed on release
	size int64
	sum  []byte // SHA-256, when computed while reading
	refs atomic.Int32
	// short is set when the file was shorter than its size when read (it changed
	// while the run read it).
	short bool
}

func newBlob() *blob {
	b := &blob{}
	b.refs.Store(1)
	return b
}

func (b *blob) retain() *blob { b.refs.Add(1); return b }

func (b *blob) release() {
	if b == nil || b.refs.Add(-1) != 0 {
		return
	}
	if b.buf != nil {
		putBuf(b.buf)
		b.buf, b.data = nil, nil
	}
	if b.file != nil {
		b.file.Close()
		if b.tmp {
			os.Remove(b.file.Name())
		}
		b.file = nil
	}
}

// readerAt returns a reader of the blob that fails once ctx is done, so an
// analysis abandoned at its time-out stops at its next read.
func (b *blob) readerAt(ctx context.Context) io.ReaderAt {
	return ctxReaderAt{ctx, b.raw()}
}

// raw returns a reader of the blob that does not depend on a step's context: for
// a zip archive, whose members are read in later steps.
func (b *blob) raw() io.ReaderAt {
	if b.data != nil || b.file == nil {
		return bytes.NewReader(b.data)
	}
	return b.file
}

// head returns up to n bytes from the start of the blob.
func (b *blob) head(ctx context.Context, n int) []byte {
	n = int(min(int64(n), b.size))
	if b.data != nil {
		return b.data[:n]
	}
	p := make([]byte, n)
	got, _ := b.readerAt(ctx).ReadAt(p, 0)
	return p[:got]
}

// hash returns the blob's SHA-256 in hex, reading it through if it was not hashed
// while it was read.
func (b *blob) hash(ctx context.Context) (string, error) {
	if b.sum == nil {
		if b.data != nil || b.file == nil {
			s := sha256.Sum256(b.data)
			b.sum = s[:]
		} else {
			h := sha256.New()
			n, err := copyCtx(ctx, h, io.NewSectionReader(b.file, 0, b.size))
			if err != nil {
				return "", err
			}
			if n < b.size {
				// The file was cut short after its size was taken.
				b.size, b.short = n, true
			}
			b.sum = h.Sum(nil)
		}
	}
	return hex.EncodeToString(b.sum), nil
}

type ctxReaderAt struct {
	ctx context.Context
	r   io.ReaderAt
}

func (c ctxReaderAt) ReadAt(p []byte, off int64) (int, error) {
	if c.ctx.Err() != nil {
		return 0, context.Cause(c.ctx)
	}
	return c.r.ReadAt(p, off)
}

// bufPool holds the buffers files are read and decompressed into.
var bufPool sync.Pool

func getBuf(n int) *[]byte {
	if p, ok := bufPool.Get().(*[]byte); ok && cap(*p) >= n {
		*p = (*p)[:n]
		return p
	}
	// Too small (dropped) or none: a new one, rounded up to a power of two of at
	// least 512 KiB, so that the pool settles on a few buffers that fit every dump.
	c := 512 << 10
	for c < n {
		c <<= 1
	}
	b := make([]byte, n, c)
	return &b
}

func putBuf(p *[]byte) { bufPool.Put(p) }

// openFile reads the regular file at path into a blob: into memory when it is at
// most memLimit bytes, otherwise kept open to be read in place. A file that turns
// out shorter than it was (it is being truncated) gives what could be read.
func openFile(ctx context.Context, path string, memLimit int64) (*blob, error) {
	// O_NONBLOCK: a named pipe put in the file's place after the walk must not block
	// the run; a regular file ignores the flag.
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	if !st.Mode().IsRegular() {
		f.Close()
		return nil, &notRegularError{st.Mode()}
	}
	if testHookOpened != nil {
		testHookOpened(path)
	}
	b := newBlob()
	b.size = st.Size()
	if b.size > memLimit {
		b.file = f
		return b, nil
	}
	defer f.Close()
	b.buf = getBuf(int(b.size))
	n, err := readFullCtx(ctx, f, *b.buf)
	if err != nil && err != io.ErrUnexpectedEOF && err != io.EOF {
		b.release()
		return nil, err
	}
	if n < len(*b.buf) {
		b.short = true
	}
	b.data = (*b.buf)[:n]
	b.size = int64(n)
	return b, nil
}

// testHookOpened, when set by a test, runs after a file is opened and its size
// taken, before it is read.
var testHookOpened func(path string)

type notRegularError struct{ mode os.FileMode }

func (e *notRegularError) Error() string {
	what := "a special file"
	switch {
	case e.mode&os.ModeNamedPipe != 0:
		what = "a named pipe"
	case e.mode&os.ModeSocket != 0:
		what = "a socket"
	case e.mode&os.ModeDevice != 0:
		what = "a device"
	case e.mode.IsDir():
		what = "a folder"
	}
	return "not a regular file (" + what + "): not read"
}

// readFullCtx reads len(p) bytes, in chunks so that ctx is checked between them.
func readFullCtx(ctx context.Context, r io.Reader, p []byte) (int, error) {
	const chunk = 4 << 20
	n := 0
	for n < len(p) {
		if ctx.Err() != nil {
			return n, context.Cause(ctx)
		}
		m, err := io.ReadFull(r, p[n:min(len(p), n+chunk)])
		n += m
		if err != nil {
			if n == 0 && err == io.EOF {
				return 0, io.EOF
			}
			return n, err
		}
	}
	return n, nil
}

// copyCtx copies r to w, checking ctx between chunks.
func copyCtx(ctx context.Context, w io.Writer, r io.Reader) (int64, error) {
	bp := getBuf(256 << 10)
	defer putBuf(bp)
	buf := *bp
	var n int64
	for {
		if ctx.Err() != nil {
			return n, context.Cause(ctx)
		}
		m, err := r.Read(buf)
		if m > 0 {
			if _, werr := w.Write(buf[:m]); werr != nil {
				return n, werr
			}
			n += int64(m)
		}
		if err == io.EOF {
			return n, nil
		}
		if err != nil {
			return n, err
		}
	}
}

// unpack decompresses r into a new blob, hashing it on the way: into memory up to
// memLimit bytes, then into a temporary file, and never past maxSize bytes.
func unpack(ctx context.Context, r io.Reader, memLimit, maxSize int64) (*blob, error) {
	b := newBlob()
	h := sha256.New()
	w := &spill{b: b, h: h, memLimit: memLimit, max: maxSize}
	_, err := copyCtx(ctx, w, r)
	if err == nil {
		err = w.finish()
	}
	if err != nil {
		b.release()
		if w.over {
			return nil, &errTooLarge{maxSize}
		}
		return nil, err
	}
	b.sum = h.Sum(nil)
	return b, nil
}

// spill writes into a blob's memory buffer, moving to a temporary file once the
// data passes memLimit.
type spill struct {
	b        *blob
	h        hash.Hash
	memLimit int64
	max      int64
	w        *bufio.Writer
	over     bool
}

var errOver = errors.New("too large")

func (s *spill) Write(p []byte) (int, error) {
	b := s.b
	if b.size+int64(len(p)) > s.max {
		s.over = true
		return 0, errOver
	}
	s.h.Write(p)
	if b.file == nil && b.size+int64(len(p)) <= s.memLimit {
		if b.buf == nil {
			b.buf = getBuf(0)
		}
		*b.buf = append(*b.buf, p...)
		b.data = *b.buf
		b.size += int64(len(p))
		return len(p), nil
	}
	if b.file == nil {
		f, err := os.CreateTemp("", "dumpmap-triage-*.dmp")
		if err != nil {
			return 0, err
		}
		b.file, b.tmp = f, true
		s.w = bufio.NewWriterSize(f, 1<<20)
		if _, err := s.w.Write(b.data); err != nil {
			return 0, err
		}
		if b.buf != nil {
			putBuf(b.buf)
			b.buf = nil
		}
		b.data = nil
	}
	if _, err := s.w.Write(p); err != nil {
		return 0, err
	}
	b.size += int64(len(p))
	return len(p), nil
}

func (s *spill) finish() error {
	if s.w != nil {
		return s.w.Flush()
	}
	if s.b.buf == nil {
		// Nothing was written: an empty member.
		s.b.data = []byte{}
	}
	return nil
}

// Container kinds, as Record.Container names them.
const (
	kindZip  = "zip"
	kindGzip = "gzip"
	kindZstd = "zstd"
)

// containerKind recognises a container from its first bytes.
func containerKind(head []byte) string {
	switch {
	case bytes.HasPrefix(head, []byte("PK\x03\x04")), bytes.HasPrefix(head, []byte("PK\x05\x06")):
		return kindZip
	case bytes.HasPrefix(head, []byte("\x1f\x8b")):
		return kindGzip
	case bytes.HasPrefix(head, []byte("\x28\xb5\x2f\xfd")):
		return kindZstd
	}
	// zstd skippable frames (magic 0x184D2A5?) may precede the data frame.
	if len(head) >= 4 && head[1] == 0x2a && head[2] == 0x4d && head[3] == 0x18 && head[0]&0xf0 == 0x50 {
		return kindZstd
	}
	return ""
}

var gzipPool, zstdPool sync.Pool

// decompress unpacks a gzip or zstd blob (every stream or frame in it).
func decompress(ctx context.Context, src *blob, kind string, memLimit, maxSize int64) (*blob, error) {
	r := io.NewSectionReader(src.readerAt(ctx), 0, src.size)
	switch kind {
	case kindGzip:
		br := bufio.NewReaderSize(r, 64<<10)
		zr, _ := gzipPool.Get().(*gzip.Reader)
		var err error
		if zr == nil {
			zr, err = gzip.NewReader(br)
		} else {
			err = zr.Reset(br)
		}
		if err != nil {
			return nil, &containerError{kind, err}
		}
		defer gzipPool.Put(zr)
		b, err := unpack(ctx, zr, memLimit, maxSize)
		return b, wrapContainer(kind, err)
	case kindZstd:
		d, _ := zstdPool.Get().(*zstd.Decoder)
		var err error
		if d == nil {
			// One goroutine per decoder (the run is already parallel), and a bound on
			// the window a hostile frame can make it allocate.
			d, err = zstd.NewReader(r, zstd.WithDecoderConcurrency(1), zstd.WithDecoderMaxWindow(128<<20),
				zstd.WithDecoderMaxMemory(uint64(maxSize)+1))
		} else {
			err = d.Reset(r)
		}
		if err != nil {
			return nil, &containerError{kind, err}
		}
		defer func() { d.Reset(nil); zstdPool.Put(d) }()
		b, err := unpack(ctx, d, memLimit, maxSize)
		return b, wrapContainer(kind, err)
	}
	return nil, fmt.Errorf("unknown container %q", kind)
}

// A containerError is a container that cannot be read.
type containerError struct {
	kind string
	err  error
}

func (e *containerError) Error() string {
	msg := e.err.Error()
	switch e.kind {
	case kindZip:
		return "damaged zip archive: " + trimPrefix(msg, "zip: ")
	case kindGzip:
		return "damaged gzip file: " + trimPrefix(msg, "gzip: ")
	}
	return "damaged zstd file: " + trimPrefix(msg, "zstd: ")
}

func (e *containerError) Unwrap() error { return e.err }

func trimPrefix(s, p string) string {
	if len(s) >= len(p) && s[:len(p)] == p {
		return s[len(p):]
	}
	return s
}

// wrapContainer marks a decompression error as the container's, but for the
// errors that have their own kinds (too large, time-out, cancelled).
func wrapContainer(kind string, err error) error {
	var tl *errTooLarge
	if err == nil || errors.As(err, &tl) || errors.Is(err, errTimeout) || errors.Is(err, context.Canceled) {
		return err
	}
	return &containerError{kind, err}
}

// openZip reads a zip archive's directory and lists its files, directories left
// out, in archive order.
func openZip(ctx context.Context, src *blob) (*zip.Reader, []*zip.File, error) {
	zr, err := zip.NewReader(src.raw(), src.size)
	if err != nil {
		if ctx.Err() != nil {
			return nil, nil, context.Cause(ctx)
		}
		return nil, nil, &containerError{kindZip, err}
	}
	var files []*zip.File
	for _, f := range zr.File {
		if f.FileInfo().IsDir() {
			continue
		}
		files = append(files, f)
	}
	return zr, files, nil
}

// unpackZipFile decompresses one member of a zip archive. The size its header
// declares is checked first, so a bomb that says how large it is costs nothing;
// one that lies is stopped by unpack's limit.
func unpackZipFile(ctx context.Context, f *zip.File, memLimit, maxSize int64) (*blob, error) {
	if f.UncompressedSize64 > uint64(maxSize) {
		return nil, &errTooLarge{maxSize}
	}
	rc, err := f.Open()
	if err != nil {
		return nil, &containerError{kindZip, err}
	}
	defer rc.Close()
	b, err := unpack(ctx, rc, memLimit, maxSize)
	return b, wrapContainer(kindZip, err)
}

// sizeString writes a byte count the way limits are given: "4 GiB", "512 MiB".
func sizeString(n int64) string {
	units := []string{"B", "KiB", "MiB", "GiB", "TiB"}
	i := 0
	for n >= 1024 && n%1024 == 0 && i < len(units)-1 {
		n /= 1024
		i++
	}
	return fmt.Sprintf("%d %s", n, units[i])
}
