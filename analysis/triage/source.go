package triage

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"sync/atomic"
	"syscall"

	"github.com/dumpmap/dumpmap/analysis/input"
)

// Containers are recognised, decompressed and listed by package input, the
// code every dumpmap command opens its FILE with: one implementation, one set of
// limits. What stays here is what a batch needs on top: blobs shared between a
// step and the steps after it (reference counted), files read in place, and the
// record wording (the --max-unpacked flag).

// errTimeout is the cause of a step's context when Options.Timeout runs out.
var errTimeout = errors.New("timed out")

// errTooLarge is returned when decompression passes Options.MaxUnpacked.
type errTooLarge struct{ limit int64 }

func (e *errTooLarge) Error() string {
	return fmt.Sprintf("decompressed size passes the %s limit (--max-unpacked): not unpacked (a zip bomb?)", input.SizeString(e.limit))
}

// A blob is the bytes of one file or decompressed member: an input.Buffer (in
// memory, or a spill file), or a file on disk read in place. It is reference
// counted because a step abandoned at its time-out may still be reading it.
type blob struct {
	buf  *input.Buffer
	file *os.File // a large file read in place
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

// bufferBlob wraps an unpacked buffer.
func bufferBlob(buf *input.Buffer) *blob {
	b := newBlob()
	b.buf, b.size, b.sum = buf, buf.Size(), buf.SHA256()
	return b
}

func (b *blob) retain() *blob { b.refs.Add(1); return b }

func (b *blob) release() {
	if b == nil || b.refs.Add(-1) != 0 {
		return
	}
	if b.buf != nil {
		b.buf.Close()
		b.buf = nil
	}
	if b.file != nil {
		b.file.Close()
		b.file = nil
	}
}

// readerAt returns a reader of the blob that fails once ctx is done, so an
// analysis abandoned at its time-out stops at its next read.
func (b *blob) readerAt(ctx context.Context) io.ReaderAt {
	return ctxReaderAt{ctx, b.raw()}
}

// raw returns a reader of the blob that does not depend on a step's context: for
// an archive, whose members are read in later steps.
func (b *blob) raw() io.ReaderAt {
	switch {
	case b.buf != nil:
		return b.buf.ReaderAt()
	case b.file != nil:
		return b.file
	}
	return bytes.NewReader(nil)
}

// head returns up to n bytes from the start of the blob.
func (b *blob) head(ctx context.Context, n int) []byte {
	n = int(min(int64(n), b.size))
	if b.buf != nil && b.buf.InMemory() {
		return b.buf.Bytes()[:n]
	}
	p := make([]byte, n)
	got, _ := b.readerAt(ctx).ReadAt(p, 0)
	return p[:got]
}

// hash returns the blob's SHA-256 in hex, reading it through if it was not hashed
// while it was read.
func (b *blob) hash(ctx context.Context) (string, error) {
	if b.sum == nil {
		if b.buf != nil && b.buf.InMemory() {
			s := sha256.Sum256(b.buf.Bytes())
			b.sum = s[:]
		} else {
			h := sha256.New()
			n, err := copyCtx(ctx, h, io.NewSectionReader(b.raw(), 0, b.size))
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

// limits are the bounds of every unpacking in the run.
func (r *runner) limits() input.Limits {
	return input.Limits{MaxSize: r.opt.MaxUnpacked, MemoryLimit: r.opt.MemoryLimit, Hash: true,
		TempPattern: "dumpmap-triage-*.dmp"}
}

// openFile reads the regular file at path into a blob: into memory (a pooled
// buffer) when it is at most memLimit bytes, otherwise kept
// open to be read in place. A file that turns out shorter than it was (it is
// being truncated) gives what could be read.
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
	size := st.Size()
	if size > memLimit {
		b := newBlob()
		b.file, b.size = f, size
		return b, nil
	}
	defer f.Close()
	// The size read is the size taken: a file growing while it is read does not
	// push the buffer past the memory limit.
	// Not hashed on the way: hash sums the bytes in memory later without
	// allocating.
	buf, err := input.Unpack(ctx, io.LimitReader(f, size), input.Limits{MaxSize: size + 1, MemoryLimit: memLimit, SizeHint: size})
	if err != nil {
		return nil, err
	}
	b := bufferBlob(buf)
	b.short = b.size < size
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

// copyCtx copies r to w, checking ctx between chunks.
func copyCtx(ctx context.Context, w io.Writer, r io.Reader) (int64, error) {
	bp := input.GetScratch(256 << 10)
	defer input.PutScratch(bp)
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

// decompress unpacks a gzip, zstd or xz blob (every member, frame or stream in it).
func (r *runner) decompress(ctx context.Context, src *blob, f input.Format) (*blob, error) {
	buf, err := input.Decompress(ctx, f, src.readerAt(ctx), src.size, r.limits())
	if err != nil {
		return nil, err
	}
	return bufferBlob(buf), nil
}

// openArchive reads a zip archive's or cabinet's directory. The archive reads
// src after this step, in the steps of its members: through src.raw().
func openArchive(ctx context.Context, src *blob, f input.Format) (*input.Archive, error) {
	a, err := input.OpenArchive(f, src.raw(), src.size)
	if err != nil && ctx.Err() != nil {
		return nil, context.Cause(ctx)
	}
	return a, err
}

// unpackMember unpacks one member of an archive. The size the archive declares is
// checked first, so a bomb that says how large it is costs nothing; one that lies
// is stopped by the limit while unpacking.
func (r *runner) unpackMember(ctx context.Context, a *input.Archive, i int) (*blob, error) {
	buf, err := a.Unpack(ctx, i, r.limits())
	if err != nil {
		return nil, err
	}
	return bufferBlob(buf), nil
}
