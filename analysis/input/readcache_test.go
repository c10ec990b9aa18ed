package input

import (
	"bytes"
	"io"
	"math/rand/v2"
	"testing"
)

// TestReadCache: reads of every size at every kind of offset through the cache
// give the bytes of the underlying reader, and the same end-of-file errors.
func TestReadCache(t *testing.T) {
	data := make([]byte, 5*cacheBlockSize+1234)
	r := rand.New(rand.NewPCG(3, 4))
	for i := range data {
		data[i] = byte(r.Uint32())
	}
	c := newReadCache(bytes.NewReader(data), int64(len(data)))
	for range 20000 {
		off := r.Int64N(int64(len(data)) + 100)
		n := r.IntN(cacheBlockSize / 3)
		if r.IntN(4) == 0 {
			off = int64(r.IntN(6))*cacheBlockSize - int64(r.IntN(3)) // around block edges
		}
		got := make([]byte, n)
		k, err := c.ReadAt(got, off)
		want := make([]byte, n)
		wk, werr := bytes.NewReader(data).ReadAt(want, off)
		if off < 0 {
			if err == nil {
				t.Fatalf("ReadAt at %d: no error", off)
			}
			continue
		}
		if k != wk || !bytes.Equal(got[:k], want[:wk]) || (err == nil) != (werr == nil) || (err != nil && err != io.EOF) {
			t.Fatalf("ReadAt(%d bytes at %d) = %d, %v; want %d, %v", n, off, k, err, wk, werr)
		}
	}
}
