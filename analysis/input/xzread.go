package input

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"hash/crc32"
	"hash/crc64"
	"io"
	"sync"

	// xz: the standard library has no xz decoder. ulikunitz/xz is the only
	// maintained Go one, and pure Go (no cgo, so the CLI stays one static binary).
	// Only its LZMA2 decoder is used: its xz.Reader allocates the dictionary each
	// block header it comes to asks for, up to 4 GiB, and it finds the blocks by
	// decoding, so a hostile file can make it parse a header no walk checked.
	// Here the container is walked and read by this package (xz.go), each block
	// from the byte range its index record gives, and lzma.Reader2 decodes the
	// block's LZMA2 chunks, each chunk header checked before it reads it.
	"github.com/ulikunitz/xz/lzma"
)

// crc64Table is the xz CRC64 (xz-file-format 6), built on first use: a table
// built at package initialisation would cost every run of the program, xz or not.
var crc64Table = sync.OnceValue(func() *crc64.Table { return crc64.MakeTable(crc64.ECMA) })

// An xzReader decodes the blocks of a walked xz file, in file order.
type xzReader struct {
	x    *xzFile
	si   int // the stream being read
	ir   *xzIndexReader
	off  int64 // the next block header of the stream
	left int   // blocks of the stream still to read
	blk  *xzBlockReader
	src  *xzSource
	err  error
}

func newXZReader(x *xzFile) *xzReader {
	return &xzReader{x: x, si: -1, src: &xzSource{r: x.r}}
}

func (r *xzReader) Read(p []byte) (int, error) {
	if r.err != nil {
		return 0, r.err
	}
	for {
		if r.blk == nil {
			if err := r.next(); err != nil {
				r.err = err
				return 0, err
			}
		}
		n, err := r.blk.Read(p)
		if err == io.EOF {
			r.blk = nil
			if n == 0 {
				continue
			}
			err = nil
		}
		if err != nil {
			r.err = err
		}
		return n, err
	}
}

// next opens the next block, checking its header again (the file may have
// changed since it was walked).
func (r *xzReader) next() error {
	for r.left == 0 {
		if r.si+1 == len(r.x.streams) {
			return io.EOF
		}
		r.si++
		s := r.x.streams[r.si]
		r.ir = r.x.indexReader(s)
		if _, err := r.ir.byte(); err != nil {
			return err
		}
		n, err := r.ir.varint()
		if err != nil {
			return err
		}
		if n != uint64(s.blocks) {
			return xzDamaged(s.index, "the index changed while the file was read")
		}
		r.left, r.off = s.blocks, s.off+xzStreamHdrSize
	}
	s := r.x.streams[r.si]
	unpadded, err := r.ir.varint()
	if err != nil {
		return err
	}
	uncompressed, err := r.ir.varint()
	if err != nil {
		return err
	}
	if unpadded < 5 || int64(unpadded) > s.index-r.off {
		return xzDamaged(s.index, "the index changed while the file was read")
	}
	b, err := r.x.block(r.off, int64(unpadded), int64(uncompressed), xzCheckSize(s.check))
	if err != nil {
		return err
	}
	r.left--
	r.off += (b.unpadded + 3) &^ 3
	r.blk = newXZBlockReader(b, s.check, r.src)
	return nil
}

// An xzBlockReader decodes one block: its LZMA2 chunks, then its Check.
type xzBlockReader struct {
	b        xzBlock
	check    byte
	src      *xzSource
	lz       *lzma.Reader2
	h        hash.Hash
	out      int64 // bytes decoded
	dataEnd  int64
	chunk    int64 // the current chunk's header
	chunkEnd int64 // where the current chunk's data ends
	left     int64 // bytes of the current chunk still to decode
	// The LZMA2 chunk rules (see nextChunk).
	needDict, needProps bool
}

func newXZBlockReader(b xzBlock, check byte, src *xzSource) *xzBlockReader {
	data := b.off + b.headerSize
	src.reset(data, data+b.dataSize())
	br := &xzBlockReader{b: b, check: check, src: src, dataEnd: data + b.dataSize(), chunkEnd: data, needDict: true, needProps: true}
	switch check {
	case 0x01:
		br.h = crc32.NewIEEE()
	case 0x04:
		br.h = crc64.New(crc64Table())
	case 0x0a:
		br.h = sha256.New()
	}
	return br
}

func (br *xzBlockReader) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	if br.left == 0 {
		end, err := br.nextChunk()
		if err != nil {
			return 0, err
		}
		if end {
			return 0, br.finish()
		}
	}
	if br.lz == nil {
		// The dictionary the block needs is at most what it unpacks to, which
		// the chunk headers bound: no larger one is taken, so a block of a few
		// bytes that asks for 64 MiB costs a few KiB.
		dict := max(min(br.b.dict, br.b.uncompressed), lzma.MinDictCap)
		lz, err := lzma.Reader2Config{DictCap: int(dict)}.NewReader2(br.src)
		if err != nil {
			return 0, br.lzmaErr(err)
		}
		br.lz = lz
	}
	n, err := br.lz.Read(p[:min(int64(len(p)), br.left)])
	br.out += int64(n)
	br.left -= int64(n)
	if br.h != nil {
		br.h.Write(p[:n])
	}
	if err != nil {
		return n, br.lzmaErr(err)
	}
	return n, nil
}

func (br *xzBlockReader) lzmaErr(err error) error {
	var e *Error
	if errors.As(err, &e) {
		return err
	}
	if err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	return xzDamaged(br.chunk, "LZMA2 data of the block at %#x: %v", br.b.off, err)
}

// nextChunk checks the header of the next LZMA2 chunk before the decoder reads
// it, and limits the decoder to the chunk's bytes: the decoder must have
// consumed exactly the previous chunk, and the chunk must lie within the block
// and unpack within the size the index records. It reports whether the chunk
// is the end marker.
//
// LZMA2 chunks, as github.com/ulikunitz/xz's doc/LZMA2.md describes them
// (following the LZMA SDK; liblzma's lzma2_decoder.c applies the same rules):
// a control byte 0x00 ends the data; 0x01 (resetting the dictionary) and 0x02
// start a stored chunk of a 16-bit big-endian size-1; 0x80-0xff start an LZMA
// chunk, with bits 0-4 the high bits of the 21-bit uncompressed size-1, then
// 16 bits of it, 16 bits of compressed size-1, and a properties byte
// (pb*5+lp)*9+lc when bits 5-6 are 2 or 3 (3 also resets the dictionary), where
// LZMA2 requires lc+lp <= 4. The first chunk resets the dictionary, and the
// first LZMA chunk after a reset sets the properties.
func (br *xzBlockReader) nextChunk() (end bool, err error) {
	if br.src.pos != br.chunkEnd {
		return false, xzDamaged(br.chunk, "LZMA2 chunk decodes from %d bytes, its header says %d", br.src.pos-br.chunk, br.chunkEnd-br.chunk)
	}
	br.chunk = br.chunkEnd
	h, err := br.src.peek(br.chunk, 6)
	if err != nil {
		return false, err
	}
	if len(h) == 0 {
		return false, xzDamaged(br.chunk, "LZMA2 data without an end marker")
	}
	c := h[0]
	var hsize, data, out int64
	switch {
	case c == 0x00:
		if br.chunk+1 != br.dataEnd {
			return false, xzDamaged(br.chunk, "LZMA2 end marker %d bytes before the end of the block's data", br.dataEnd-br.chunk-1)
		}
		br.chunkEnd = br.dataEnd
		return true, nil
	case c == 0x01 || c == 0x02:
		if c == 0x02 && br.needDict {
			return false, xzDamaged(br.chunk, "the block's first LZMA2 chunk does not reset the dictionary")
		}
		if c == 0x01 {
			br.needDict, br.needProps = false, true
		}
		hsize = 3
		if len(h) < 3 {
			return false, xzDamaged(br.chunk, "LZMA2 chunk header cut short")
		}
		out = int64(binary.BigEndian.Uint16(h[1:3])) + 1
		data = out
	case c >= 0x80:
		reset := c >> 5 & 3
		if br.needDict && reset != 3 {
			return false, xzDamaged(br.chunk, "the block's first LZMA2 chunk does not reset the dictionary")
		}
		hsize = 5
		if reset >= 2 {
			hsize = 6
		}
		if int64(len(h)) < hsize {
			return false, xzDamaged(br.chunk, "LZMA2 chunk header cut short")
		}
		out = (int64(c&0x1f)<<16 | int64(binary.BigEndian.Uint16(h[1:3]))) + 1
		data = int64(binary.BigEndian.Uint16(h[3:5])) + 1
		if reset >= 2 {
			props := h[5]
			lc, lp, pb := props%9, props/9%5, props/45
			if pb > 4 || lc+lp > 4 {
				return false, xzDamaged(br.chunk+5, "LZMA2 chunk properties lc=%d lp=%d pb=%d: LZMA2 allows lc+lp <= 4, pb <= 4", lc, lp, pb)
			}
			br.needProps = false
		} else if br.needProps {
			return false, xzDamaged(br.chunk, "LZMA2 chunk without the properties it needs")
		}
		br.needDict = false
	default:
		return false, xzDamaged(br.chunk, "LZMA2 chunk control byte %#02x is not defined", c)
	}
	br.chunkEnd = br.chunk + hsize + data
	if br.chunkEnd >= br.dataEnd {
		// At least the end marker must follow.
		return false, xzDamaged(br.chunk, "LZMA2 chunk runs past the end of the block's data")
	}
	if out > br.b.uncompressed-br.out {
		return false, xzDamaged(br.chunk, "the block's LZMA2 chunks unpack to more than the %d bytes the index records", br.b.uncompressed)
	}
	br.left = out
	br.src.limit = br.chunkEnd
	return false, nil
}

// finish reads the end marker, the Block Padding and the Check (3.3, 3.4).
func (br *xzBlockReader) finish() error {
	if br.out != br.b.uncompressed {
		return xzDamaged(br.b.off, "the block unpacks to %d bytes, the index records %d", br.out, br.b.uncompressed)
	}
	if br.lz != nil {
		// The decoder reads the end marker.
		br.src.limit = br.dataEnd
		var one [1]byte
		if n, err := br.lz.Read(one[:]); n != 0 || err != io.EOF {
			return xzDamaged(br.chunk, "LZMA2 end marker not read as one (%v)", err)
		}
		if br.src.pos != br.dataEnd {
			return xzDamaged(br.chunk, "LZMA2 data ends at %#x, not at the end marker", br.src.pos)
		}
	}
	pad := (4 - br.b.dataSize()%4) % 4
	tail := make([]byte, pad+br.b.checkSize)
	if err := br.src.readAt(tail, br.dataEnd); err != nil {
		return err
	}
	if !bytes.Equal(tail[:pad], make([]byte, pad)) {
		return xzDamaged(br.dataEnd, "non-zero block padding")
	}
	if br.h != nil {
		sum := br.h.Sum(nil)
		if br.check != 0x0a {
			// CRC32 and CRC64 are stored little-endian; Sum gives them big-endian.
			for i, j := 0, len(sum)-1; i < j; i, j = i+1, j-1 {
				sum[i], sum[j] = sum[j], sum[i]
			}
		}
		if !bytes.Equal(sum, tail[pad:]) {
			return xzDamaged(br.dataEnd+pad, "%s mismatch: the block at %#x unpacks to other bytes than were packed", xzCheckName(br.check), br.b.off)
		}
	}
	return io.EOF
}

func xzCheckName(id byte) string {
	switch id {
	case 0x01:
		return "CRC32"
	case 0x04:
		return "CRC64"
	case 0x0a:
		return "SHA-256"
	}
	return fmt.Sprintf("check %#x", id)
}

// An xzSource gives the decoder a block's bytes, through a read-ahead buffer,
// no further than limit, counting what it has consumed in pos.
type xzSource struct {
	r          io.ReaderAt
	pos, limit int64
	end        int64 // the end of the block's data
	buf        []byte
	bufOff     int64 // the file offset of buf[0]
}

func (s *xzSource) reset(start, end int64) {
	s.pos, s.limit, s.end = start, start, end
	s.buf = s.buf[:0]
}

// fill makes the buffer hold the bytes at off, as many as the block's data has
// up to the buffer's size.
func (s *xzSource) fill(off int64) error {
	if s.buf == nil {
		s.buf = make([]byte, 0, 64<<10)
	}
	n := min(int64(cap(s.buf)), s.end-off)
	s.buf = s.buf[:n]
	s.bufOff = off
	k, err := s.r.ReadAt(s.buf, off)
	if k == int(n) {
		return nil
	}
	s.buf = s.buf[:0]
	if err == nil || err == io.EOF {
		return xzDamaged(off+int64(k), "the file ends early (did it shrink while read?)")
	}
	return &Error{Kind: KindIO, Err: err}
}

// peek returns up to n bytes at off (at or after pos), fewer at the end of the
// block's data.
func (s *xzSource) peek(off int64, n int) ([]byte, error) {
	n = int(min(int64(n), s.end-off))
	if off < s.bufOff || off+int64(n) > s.bufOff+int64(len(s.buf)) {
		if err := s.fill(off); err != nil {
			return nil, err
		}
	}
	i := off - s.bufOff
	return s.buf[i : i+int64(n)], nil
}

func (s *xzSource) Read(p []byte) (int, error) {
	if s.pos >= s.limit {
		return 0, io.EOF
	}
	p = p[:min(int64(len(p)), s.limit-s.pos)]
	if s.pos < s.bufOff || s.pos >= s.bufOff+int64(len(s.buf)) {
		if err := s.fill(s.pos); err != nil {
			return 0, err
		}
	}
	n := copy(p, s.buf[s.pos-s.bufOff:])
	s.pos += int64(n)
	return n, nil
}

// readAt reads the bytes after the block's data (padding and check).
func (s *xzSource) readAt(p []byte, off int64) error {
	n, err := s.r.ReadAt(p, off)
	if n == len(p) {
		return nil
	}
	if err == nil || err == io.EOF {
		return xzDamaged(off+int64(n), "the file ends early (did it shrink while read?)")
	}
	return &Error{Kind: KindIO, Err: err}
}
