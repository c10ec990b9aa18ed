package input

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"hash"
	"io"
	"os"
	"sync"
)

// Defaults of Limits and Options: the same as triage's --max-unpacked and
// memory limit.
const (
	DefaultMaxUnpacked = 4 << 30
	DefaultMemoryLimit = 16 << 20
)

// Limits bound what Unpack, Decompress and Archive.Unpack write.
type Limits struct {
	// MaxSize is the most bytes one member may unpack to; 0 means
	// DefaultMaxUnpacked. Past it the unpacking stops with KindTooLarge.
	MaxSize int64
	// MemoryLimit is the size up to which the bytes are held in memory (in a
	// pooled buffer); past it they are spilled to a temporary file. 0 means
	// DefaultMemoryLimit; a negative value spills everything.
	MemoryLimit int64
	// SizeHint, when known, is the size expected, so that the memory buffer is
	// taken at that size at once.
	SizeHint int64
	// Hash computes the SHA-256 of the bytes while they are written.
	Hash bool
	// TempDir is where spill files go; "" means os.TempDir().
	TempDir string
	// TempPattern names spill files as os.CreateTemp does; "" means
	// "dumpmap-*.tmp".
	TempPattern string
}

func (l Limits) maxSize() int64 {
	if l.MaxSize <= 0 {
		return DefaultMaxUnpacked
	}
	return l.MaxSize
}

func (l Limits) memoryLimit() int64 {
	switch {
	case l.MemoryLimit == 0:
		return DefaultMemoryLimit
	case l.MemoryLimit < 0:
		return 0
	}
	return l.MemoryLimit
}

// A Buffer holds unpacked bytes: in memory, or in a temporary file. Close it to
// give the memory back to the pool and remove the file.
type Buffer struct {
	data   []byte
	pooled *[]byte // the pooled buffer data lives in
	file   *os.File
	name   string // the spill file's name, until it is removed
	size   int64
	sum    []byte
}

// Size returns the number of bytes held.
func (b *Buffer) Size() int64 { return b.size }

// Bytes returns the bytes when they are held in memory, else nil.
func (b *Buffer) Bytes() []byte {
	if b.file != nil {
		return nil
	}
	return b.data
}

// InMemory reports whether the bytes are held in memory.
func (b *Buffer) InMemory() bool { return b.file == nil }

// ReaderAt returns a reader of the bytes.
func (b *Buffer) ReaderAt() io.ReaderAt {
	if b.file != nil {
		return b.file
	}
	return bytes.NewReader(b.data)
}

// SHA256 returns the bytes' SHA-256 when Limits.Hash asked for it, else nil.
func (b *Buffer) SHA256() []byte { return b.sum }

// Close releases the buffer: the memory goes back to the pool, the spill file is
// closed and removed. It may be called more than once.
func (b *Buffer) Close() error {
	if b == nil {
		return nil
	}
	if b.pooled != nil {
		putBuf(b.pooled)
		b.pooled = nil
	}
	b.data = nil
	var err error
	if b.file != nil {
		err = b.file.Close()
		b.file = nil
	}
	if b.name != "" {
		if rerr := os.Remove(b.name); rerr != nil && !errors.Is(rerr, os.ErrNotExist) && err == nil {
			err = rerr
		}
		b.name = ""
	}
	return err
}

// bufPool holds the buffers bytes are unpacked into. Their capacities are powers
// of two of at least 512 KiB, so that the pool settles on a few that fit every
// member of a batch.
var bufPool sync.Pool

func getBuf(n int) *[]byte {
	if p, ok := bufPool.Get().(*[]byte); ok && cap(*p) >= n {
		*p = (*p)[:n]
		return p
	}
	// Too small (dropped) or none: a new one.
	c := 512 << 10
	for c < n {
		c <<= 1
	}
	b := make([]byte, n, c)
	return &b
}

func putBuf(p *[]byte) { bufPool.Put(p) }

// GetScratch and PutScratch lend a pooled buffer of n bytes (for reading a file
// in chunks); they are the pool the Buffers use.
func GetScratch(n int) *[]byte { return getBuf(n) }

// PutScratch returns a buffer GetScratch lent.
func PutScratch(p *[]byte) { putBuf(p) }

// chunk is how much is read between two checks of the context.
const chunk = 256 << 10

// Unpack copies r into a new Buffer within lim, checking ctx between chunks.
// Reading stops with a KindTooLarge *Error once r gives more than lim.MaxSize
// bytes; on any error the Buffer is released and nothing is left behind.
// Reads go straight into the memory buffer while the bytes fit in it.
func Unpack(ctx context.Context, r io.Reader, lim Limits) (*Buffer, error) {
	u := &unpacker{b: &Buffer{}, lim: lim, max: lim.maxSize(), mem: lim.memoryLimit()}
	if lim.Hash {
		u.h = sha256.New()
	}
	err := u.copy(ctx, r)
	if err == nil {
		err = u.finish()
	}
	if u.scratch != nil {
		putBuf(u.scratch)
	}
	if err != nil {
		u.b.Close()
		return nil, err
	}
	if u.h != nil {
		u.b.sum = u.h.Sum(nil)
	}
	return u.b, nil
}

type unpacker struct {
	b        *Buffer
	lim      Limits
	max, mem int64
	h        hash.Hash
	w        *bufio.Writer
	scratch  *[]byte
}

func (u *unpacker) copy(ctx context.Context, r io.Reader) error {
	b := u.b
	if hint := min(u.lim.SizeHint, u.mem); hint > 0 {
		b.pooled = getBuf(int(hint))
		*b.pooled = (*b.pooled)[:0]
	}
	for {
		if ctx.Err() != nil {
			return context.Cause(ctx)
		}
		var p []byte
		direct := false
		if b.file == nil && b.pooled != nil {
			room := min(int64(cap(*b.pooled)-len(*b.pooled)), u.mem-int64(len(*b.pooled)), chunk)
			if room > 0 {
				n := len(*b.pooled)
				p = (*b.pooled)[n : n+int(room)]
				direct = true
			}
		}
		if !direct {
			if u.scratch == nil {
				u.scratch = getBuf(chunk)
			}
			p = (*u.scratch)[:chunk]
		}
		n, err := r.Read(p)
		if n > 0 {
			if b.size+int64(n) > u.max {
				return &Error{Kind: KindTooLarge, Limit: u.max}
			}
			if u.h != nil {
				u.h.Write(p[:n])
			}
			if direct {
				*b.pooled = (*b.pooled)[:len(*b.pooled)+n]
				b.size += int64(n)
			} else if werr := u.write(p[:n]); werr != nil {
				return werr
			}
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

// write adds p, read into scratch, to the buffer: to memory while it fits,
// else to the spill file (created now if need be).
func (u *unpacker) write(p []byte) error {
	b := u.b
	if b.file == nil && b.size+int64(len(p)) <= u.mem {
		if b.pooled == nil {
			b.pooled = getBuf(0)
		}
		if cap(*b.pooled)-len(*b.pooled) < len(p) {
			// Grow into a larger pooled buffer.
			nb := getBuf(max(2*cap(*b.pooled), len(*b.pooled)+len(p)))
			*nb = append((*nb)[:0], *b.pooled...)
			putBuf(b.pooled)
			b.pooled = nb
		}
		*b.pooled = append(*b.pooled, p...)
		b.size += int64(len(p))
		return nil
	}
	if b.file == nil {
		if err := u.spill(); err != nil {
			return err
		}
	}
	if _, err := u.w.Write(p); err != nil {
		return &Error{Kind: KindIO, Err: err}
	}
	b.size += int64(len(p))
	return nil
}

// spill moves the bytes held in memory to a new temporary file.
func (u *unpacker) spill() error {
	b := u.b
	pattern := u.lim.TempPattern
	if pattern == "" {
		pattern = "dumpmap-*.tmp"
	}
	f, err := os.CreateTemp(u.lim.TempDir, pattern) // mode 0600
	if err != nil {
		return &Error{Kind: KindIO, Err: err}
	}
	b.file, b.name = f, f.Name()
	// Unlink at once where the system allows an open file to be removed (not
	// Windows): the file lives while it is open and vanishes with the process,
	// even one that is killed. Elsewhere Close removes it.
	if os.Remove(b.name) == nil {
		b.name = ""
	}
	u.w = bufio.NewWriterSize(f, 1<<20)
	if b.pooled != nil {
		if _, err := u.w.Write(*b.pooled); err != nil {
			return &Error{Kind: KindIO, Err: err}
		}
		putBuf(b.pooled)
		b.pooled = nil
	}
	return nil
}

func (u *unpacker) finish() error {
	b := u.b
	if u.w != nil {
		if err := u.w.Flush(); err != nil {
			return &Error{Kind: KindIO, Err: err}
		}
		return nil
	}
	if b.pooled == nil {
		b.data = []byte{} // nothing was written: an empty member
		return nil
	}
	b.data = *b.pooled
	return nil
}
