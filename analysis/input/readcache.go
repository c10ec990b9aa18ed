package input

import (
	"io"
	"sync"
)

// readCache is a small block cache in front of a spill file, like the one
// minidump.Open puts in front of a dump file (which is not exported): the
// minidump accessors make many small reads (names, records, pointers) that
// would otherwise each be a system call.
type readCache struct {
	r    io.ReaderAt
	size int64
	mu   sync.Mutex
	next int
	blk  [cacheBlocks]struct {
		off  int64
		data []byte
	}
}

const (
	cacheBlockSize = 64 << 10
	cacheBlocks    = 8
)

func newReadCache(r io.ReaderAt, size int64) *readCache { return &readCache{r: r, size: size} }

func (c *readCache) ReadAt(p []byte, off int64) (int, error) {
	if len(p) > cacheBlockSize/4 || off < 0 {
		return c.r.ReadAt(p, off)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for n < len(p) {
		cur := off + int64(n)
		if cur >= c.size {
			return n, io.EOF
		}
		data, boff, err := c.block(cur &^ (cacheBlockSize - 1))
		if err != nil {
			return n, err
		}
		k := copy(p[n:], data[cur-boff:])
		if k == 0 {
			return n, io.EOF
		}
		n += k
	}
	return n, nil
}

// block returns the cached block at off, reading it (round robin) if need be.
func (c *readCache) block(off int64) ([]byte, int64, error) {
	for i := range c.blk {
		if b := &c.blk[i]; b.data != nil && b.off == off {
			return b.data, off, nil
		}
	}
	b := &c.blk[c.next]
	c.next = (c.next + 1) % cacheBlocks
	buf := b.data[:0]
	if cap(buf) < cacheBlockSize {
		buf = make([]byte, cacheBlockSize)
	}
	buf = buf[:min(int64(cacheBlockSize), c.size-off)]
	m, err := c.r.ReadAt(buf, off)
	if m < len(buf) {
		b.data = nil
		if err == nil {
			err = io.ErrUnexpectedEOF
		}
		return nil, 0, err
	}
	b.off, b.data = off, buf
	return buf, off, nil
}
