package minidump

import (
	"io"
	"sync"
)

// A readCache serves the many small reads of a dump (module names, CodeView records,
// pointers read from process memory) from a few 64 KiB blocks of the file, so that
// listing 2,000 modules costs a handful of system calls instead of 4,000. Reads
// larger than a quarter block go straight to the file.
type readCache struct {
	r    io.ReaderAt
	size int64

	mu     sync.Mutex
	blocks [cacheBlocks]cacheBlock
	next   int // the block to replace next (round robin)
}

const (
	cacheBlockSize = 64 << 10
	cacheBlocks    = 8
)

type cacheBlock struct {
	off  int64
	data []byte // nil when empty
}

func newReadCache(r io.ReaderAt, size int64) *readCache { return &readCache{r: r, size: size} }

func (c *readCache) ReadAt(p []byte, off int64) (int, error) {
	if len(p) > cacheBlockSize/4 || off < 0 {
		return c.r.ReadAt(p, off)
	}
	n := 0
	c.mu.Lock()
	defer c.mu.Unlock()
	for n < len(p) {
		cur := off + int64(n)
		if cur >= c.size {
			return n, io.EOF
		}
		b, err := c.block(cur &^ (cacheBlockSize - 1))
		if err != nil {
			return n, err
		}
		k := copy(p[n:], b.data[cur-b.off:])
		if k == 0 {
			return n, io.EOF
		}
		n += k
	}
	return n, nil
}

// block returns the cached block at off, reading it if needed.
func (c *readCache) block(off int64) (*cacheBlock, error) {
	for i := range c.blocks {
		if b := &c.blocks[i]; b.data != nil && b.off == off {
			return b, nil
		}
	}
	b := &c.blocks[c.next]
	c.next = (c.next + 1) % cacheBlocks
	n := int64(cacheBlockSize)
	if off+n > c.size {
		n = c.size - off
	}
	if cap(b.data) < cacheBlockSize {
		b.data = make([]byte, 0, cacheBlockSize)
	}
	b.data = b.data[:n]
	got, err := c.r.ReadAt(b.data, off)
	if int64(got) < n {
		b.data = nil
		if err == nil {
			err = io.ErrUnexpectedEOF
		}
		return nil, err
	}
	b.off = off
	return b, nil
}
