package input

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"slices"
)

// The .xz container is walked here from its specification, The .xz File Format
// version 1.2.1 (https://tukaani.org/xz/xz-file-format.txt; the section numbers
// in comments are that document's), before anything is decoded: the decoder
// allocates the LZMA2 dictionary a block header asks for, up to 4 GiB, so every
// header is checked first. The LZMA2 data itself is decoded by
// github.com/ulikunitz/xz/lzma (xzread.go).

const (
	xzMagic         = "\xfd7zXZ\x00" // 2.1.1.1 Header Magic Bytes
	xzFooterMagic   = "YZ"           // 2.1.2.4 Footer Magic Bytes
	xzStreamHdrSize = 12             // 2.1.1 Stream Header; 2.1.2 Stream Footer is as long
	xzFilterLZMA2   = 0x21           // 5.3.1
)

// MaxXZDictionary is the largest LZMA2 dictionary an xz block may ask for: 64
// MiB, what xz -9 (and -9e) use. A block that asks for more is refused with a
// KindUnsupported *Error: the decoder would allocate it, and a 100-byte file
// can ask for 4 GiB.
const MaxXZDictionary = 64 << 20

// Bounds on an xz file's structure, checked before anything is decoded. A file
// that goes past them is refused as KindUnsupported. xz writes one only when
// told to (--block-size=4KiB on a 4 GiB dump); by itself xz -T0 writes blocks of
// 3 times the dictionary, at least 768 KiB.
const (
	maxXZStreams = 1 << 12 // concatenated streams (2)
	maxXZBlocks  = 1 << 20 // blocks of all streams together
)

// An XZError says what is wrong with an xz file's structure, or what in it this
// package does not read, and where.
type XZError struct {
	// Off is the file offset of the field at fault; -1 when there is none.
	Off int64
	Msg string
}

func (e *XZError) Error() string {
	if e.Off < 0 {
		return e.Msg
	}
	return fmt.Sprintf("%s (offset %#x)", e.Msg, e.Off)
}

func xzDamaged(off int64, format string, args ...any) error {
	return &Error{Kind: KindBadContainer, Format: XZ, Err: &XZError{Off: off, Msg: fmt.Sprintf(format, args...)}}
}

func xzUnsupported(off int64, format string, args ...any) error {
	return &Error{Kind: KindUnsupported, Format: XZ, Err: &XZError{Off: off, Msg: fmt.Sprintf(format, args...)}}
}

// An xzFile is the structure of an xz file, walked and checked.
type xzFile struct {
	r       io.ReaderAt
	size    int64
	streams []xzStream // in file order
	blocks  int        // of all streams
	// uncompressed is what the index records say all blocks unpack to.
	uncompressed int64
	// padding counts the Stream Padding bytes (2.2).
	padding int64

	hdr     [1024]byte // a block header: at most 1024 bytes (3.1.1)
	scratch []byte     // for scanning Stream Padding
	idx     *bufio.Reader
}

// An xzStream is one stream of the file (2.1).
type xzStream struct {
	off       int64 // the Stream Header
	index     int64 // the Index
	indexSize int64
	check     byte // the Check ID (2.1.1.2)
	blocks    int
}

// An xzBlock is one block header (3.1) and its index record (4.3).
type xzBlock struct {
	off          int64 // the Block Header
	headerSize   int64
	unpadded     int64 // 4.3.1: header, compressed data and check
	uncompressed int64
	flags        byte  // 3.1.2; 0x40 and 0x80 say which sizes the header has
	dict         int64 // the LZMA2 dictionary size (5.3.1)
	checkSize    int64
}

// dataSize is the size of the block's Compressed Data (3.2).
func (b *xzBlock) dataSize() int64 { return b.unpadded - b.headerSize - b.checkSize }

// walkXZ reads the structure of the xz file in r (size bytes): every stream's
// footer, index and header, and every block header, from the end of the file
// backwards as the Stream Footer's Backward Size allows (2.1.2.2). It refuses a
// file whose index says it unpacks to more than max bytes (KindTooLarge), one
// with a filter other than LZMA2 alone or a dictionary over MaxXZDictionary
// (KindUnsupported), and a damaged one (KindBadContainer). visit, when not nil,
// is called for every block, streams last to first.
func walkXZ(r io.ReaderAt, size, max int64, visit func(xzBlock)) (*xzFile, error) {
	x := &xzFile{r: r, size: size}
	if size%4 != 0 {
		// 2: streams and padding are multiples of four bytes.
		return nil, xzDamaged(size, "the file is %d bytes, not a multiple of four: cut short, or with bytes after the last stream", size)
	}
	end := size
	for end > 0 {
		pad, err := x.zeros(end)
		if err != nil {
			return nil, err
		}
		if pad > 0 {
			if pad%4 != 0 {
				// Not Stream Padding, so not after a footer either.
				return nil, errNoFooter(end - pad)
			}
			end -= pad
			x.padding += pad
			if end == 0 {
				return nil, xzDamaged(0, "the file starts with zero bytes, not an xz stream header")
			}
		}
		if len(x.streams) == maxXZStreams {
			return nil, xzUnsupported(end, "more than %d concatenated streams", maxXZStreams)
		}
		s, err := x.stream(end, max, visit)
		if err != nil {
			return nil, err
		}
		x.streams = append(x.streams, s)
		end = s.off
	}
	if len(x.streams) == 0 {
		return nil, xzDamaged(0, "no xz stream")
	}
	slices.Reverse(x.streams)
	return x, nil
}

func errNoFooter(end int64) error {
	return xzDamaged(end, "no stream footer (\"YZ\") at the end: the file is cut short, or has other bytes after the stream")
}

// read reads len(p) bytes at off, which the caller has checked lie in the file.
func (x *xzFile) read(p []byte, off int64) error {
	if off < 0 || off > x.size || int64(len(p)) > x.size-off {
		return xzDamaged(off, "the file ends %d bytes into a %d-byte field", max(x.size-off, 0), len(p))
	}
	n, err := x.r.ReadAt(p, off)
	if n == len(p) {
		return nil
	}
	if err == nil || err == io.EOF {
		return xzDamaged(off+int64(n), "the file ends early (did it shrink while read?)")
	}
	return &Error{Kind: KindIO, Err: err}
}

// zeros counts the zero bytes before end: Stream Padding (2.2).
func (x *xzFile) zeros(end int64) (int64, error) {
	var small [64]byte
	buf := small[:]
	n := int64(0)
	for end-n > 0 {
		k := min(int64(len(buf)), end-n)
		p := buf[:k]
		if err := x.read(p, end-n-k); err != nil {
			return 0, err
		}
		for i := len(p) - 1; i >= 0; i-- {
			if p[i] != 0 {
				return n + int64(len(p)-1-i), nil
			}
		}
		n += k
		if x.scratch == nil {
			// A long run of zeros: read it in larger pieces.
			x.scratch = make([]byte, 64<<10)
		}
		buf = x.scratch
	}
	return n, nil
}

// xzCheckSize returns the size of the Check field of the check ID (2.1.1.2), or
// -1 for an ID the decoder cannot verify.
func xzCheckSize(id byte) int64 {
	switch id {
	case 0x00:
		return 0 // None
	case 0x01:
		return 4 // CRC32
	case 0x04:
		return 8 // CRC64
	case 0x0a:
		return 32 // SHA-256
	}
	return -1
}

// xzStreamFlags checks the Stream Flags at off (2.1.1.2).
func xzStreamFlags(f []byte, off int64) error {
	if f[0] != 0 || f[1]&0xf0 != 0 {
		return xzUnsupported(off, "stream flags %02x %02x set reserved bits (a newer xz format?)", f[0], f[1])
	}
	if xzCheckSize(f[1]) < 0 {
		return xzUnsupported(off, "check type %#x is not one of None, CRC32, CRC64, SHA-256", f[1])
	}
	return nil
}

// stream reads the stream that ends at end: its footer, index, header and block
// headers. It returns the stream.
func (x *xzFile) stream(end, max int64, visit func(xzBlock)) (xzStream, error) {
	var s xzStream
	// The smallest stream: header, an index of no records (8 bytes), footer.
	if end < 2*xzStreamHdrSize+8 {
		return s, xzDamaged(0, "%d bytes are too few for an xz stream", end)
	}
	var foot [xzStreamHdrSize]byte
	footOff := end - xzStreamHdrSize
	if err := x.read(foot[:], footOff); err != nil {
		return s, err
	}
	if string(foot[10:]) != xzFooterMagic {
		return s, errNoFooter(end)
	}
	if crc32.ChecksumIEEE(foot[4:10]) != binary.LittleEndian.Uint32(foot[:4]) {
		return s, xzDamaged(footOff, "stream footer CRC32 mismatch")
	}
	if err := xzStreamFlags(foot[8:10], footOff+8); err != nil {
		return s, err
	}
	s.check = foot[9]
	checkSize := xzCheckSize(s.check)
	// 2.1.2.2: the Index is (Backward Size + 1) * 4 bytes.
	s.indexSize = (int64(binary.LittleEndian.Uint32(foot[4:8])) + 1) * 4
	s.index = footOff - s.indexSize
	if s.index < xzStreamHdrSize {
		return s, xzDamaged(footOff+4, "the stream footer's index size (%d bytes) reaches before the start of the file", s.indexSize)
	}
	if err := x.indexCRC(s); err != nil {
		return s, err
	}

	// The index's records give the blocks' sizes: their sum is where the stream
	// starts.
	room := s.index - xzStreamHdrSize // for the blocks
	var blocks int64
	_, err := x.records(s, func(i int, unpadded, uncompressed int64, off int64) error {
		if unpadded < 5 || unpadded > room {
			// 4.3.1: the minimum is five.
			return xzDamaged(off, "index record %d gives a block of %d bytes, in a stream that has room for %d", i, unpadded, room)
		}
		if blocks += (unpadded + 3) &^ 3; blocks > room {
			return xzDamaged(off, "the index records %d bytes of blocks, more than the %d before the index", blocks, room)
		}
		if uncompressed > max-x.uncompressed {
			return &Error{Kind: KindTooLarge, Format: XZ, Limit: max, Err: &XZError{Off: off,
				Msg: fmt.Sprintf("the index says the file unpacks to more than the %s limit", SizeString(max))}}
		}
		x.uncompressed += uncompressed
		return nil
	})
	if err != nil {
		return s, err
	}
	s.off = s.index - blocks - xzStreamHdrSize
	var head [xzStreamHdrSize]byte
	if err := x.read(head[:], s.off); err != nil {
		return s, err
	}
	switch {
	case string(head[:6]) != xzMagic:
		return s, xzDamaged(s.off, "no stream header where the index says the stream starts")
	case crc32.ChecksumIEEE(head[6:8]) != binary.LittleEndian.Uint32(head[8:]):
		return s, xzDamaged(s.off+8, "stream header CRC32 mismatch")
	case head[6] != foot[8] || head[7] != foot[9]:
		return s, xzDamaged(s.off+6, "stream header flags %02x %02x differ from the footer's %02x %02x", head[6], head[7], foot[8], foot[9])
	}

	// Every block header, in turn.
	off := s.off + xzStreamHdrSize
	s.blocks, err = x.records(s, func(i int, unpadded, uncompressed int64, _ int64) error {
		b, err := x.block(off, unpadded, uncompressed, checkSize)
		if err != nil {
			return err
		}
		if visit != nil {
			visit(b)
		}
		off += (unpadded + 3) &^ 3
		return nil
	})
	x.blocks += s.blocks
	return s, err
}

// indexCRC checks the CRC32 of the index of s (4.5).
func (x *xzFile) indexCRC(s xzStream) error {
	if x.scratch == nil {
		x.scratch = make([]byte, 64<<10)
	}
	var crc uint32
	n := s.indexSize - 4
	for done := int64(0); done < n; {
		p := x.scratch[:min(int64(len(x.scratch)), n-done)]
		if err := x.read(p, s.index+done); err != nil {
			return err
		}
		crc = crc32.Update(crc, crc32.IEEETable, p)
		done += int64(len(p))
	}
	var want [4]byte
	if err := x.read(want[:], s.index+n); err != nil {
		return err
	}
	if crc != binary.LittleEndian.Uint32(want[:]) {
		return xzDamaged(s.index+n, "index CRC32 mismatch")
	}
	return nil
}

// records reads the index of s (4), calling visit for each record with the
// record's offset. It returns the number of records.
func (x *xzFile) records(s xzStream, visit func(i int, unpadded, uncompressed int64, off int64) error) (int, error) {
	ir := x.indexReader(s)
	if b, err := ir.byte(); err != nil {
		return 0, err
	} else if b != 0 {
		// 4.1: the Index Indicator.
		return 0, xzDamaged(s.index, "no index where the stream footer says it starts")
	}
	n, err := ir.varint()
	if err != nil {
		return 0, err
	}
	// A record takes at least two bytes.
	if n > uint64(s.indexSize)/2 {
		return 0, xzDamaged(s.index+1, "the index says it has %d records, more than its %d bytes hold", n, s.indexSize)
	}
	if n > uint64(maxXZBlocks-x.blocks) {
		return 0, xzUnsupported(s.index+1, "more than %d blocks", maxXZBlocks)
	}
	for i := range int(n) {
		off := ir.off()
		unpadded, err := ir.varint()
		if err != nil {
			return 0, err
		}
		uncompressed, err := ir.varint()
		if err != nil {
			return 0, err
		}
		if err := visit(i, int64(unpadded), int64(uncompressed), off); err != nil {
			return 0, err
		}
	}
	// 4.4: Index Padding, then the CRC32 (checked by indexCRC).
	for ir.n%4 != 0 {
		off := ir.off()
		if b, err := ir.byte(); err != nil {
			return 0, err
		} else if b != 0 {
			return 0, xzDamaged(off, "non-zero index padding")
		}
	}
	if ir.n != s.indexSize-4 {
		return 0, xzDamaged(ir.off(), "the index's records end %d bytes before its CRC32", s.indexSize-4-ir.n)
	}
	return int(n), nil
}

// indexReader reads the index of s, up to its CRC32.
func (x *xzFile) indexReader(s xzStream) *xzIndexReader {
	sr := io.NewSectionReader(x.r, s.index, s.indexSize-4)
	if x.idx == nil {
		x.idx = bufio.NewReaderSize(sr, 4<<10)
	} else {
		x.idx.Reset(sr)
	}
	return &xzIndexReader{br: x.idx, base: s.index}
}

// An xzIndexReader reads an index's fields, counting its bytes.
type xzIndexReader struct {
	br   *bufio.Reader
	base int64
	n    int64
}

func (ir *xzIndexReader) off() int64 { return ir.base + ir.n }

func (ir *xzIndexReader) byte() (byte, error) {
	b, err := ir.br.ReadByte()
	if err != nil {
		if err == io.EOF {
			return 0, xzDamaged(ir.off(), "the index's records run into its CRC32")
		}
		return 0, &Error{Kind: KindIO, Err: err}
	}
	ir.n++
	return b, nil
}

func (ir *xzIndexReader) varint() (uint64, error) {
	off := ir.off()
	v, err := xzVarint(ir.byte)
	if errors.Is(err, errXZVarint) {
		return 0, xzDamaged(off, "bad variable-length integer in the index")
	}
	return v, err
}

var errXZVarint = errors.New("bad variable-length integer")

// xzVarint decodes a variable-length integer (1.2): at most nine bytes, the
// last without its high bit, none but the first zero. Its value is below 2^63.
func xzVarint(next func() (byte, error)) (uint64, error) {
	var v uint64
	for i := range 9 {
		b, err := next()
		if err != nil {
			return 0, err
		}
		if i > 0 && b == 0 {
			return 0, errXZVarint
		}
		v |= uint64(b&0x7f) << (7 * i)
		if b&0x80 == 0 {
			return v, nil
		}
	}
	return 0, errXZVarint
}

// xzSliceVarint decodes a variable-length integer at the start of p, returning
// it and its length.
func xzSliceVarint(p []byte) (uint64, int, error) {
	i := 0
	v, err := xzVarint(func() (byte, error) {
		if i == len(p) {
			return 0, errXZVarint
		}
		i++
		return p[i-1], nil
	})
	return v, i, err
}
