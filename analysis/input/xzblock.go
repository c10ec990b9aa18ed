package input

import (
	"encoding/binary"
	"fmt"
	"hash/crc32"
)

// block reads and checks the Block Header at off (3.1), whose index record
// gives unpadded and uncompressed sizes; checkSize is the stream's Check size.
// Only a chain of LZMA2 alone with a dictionary of at most MaxXZDictionary is
// accepted.
func (x *xzFile) block(off, unpadded, uncompressed, checkSize int64) (xzBlock, error) {
	b := xzBlock{off: off, unpadded: unpadded, uncompressed: uncompressed, checkSize: checkSize}
	if err := x.read(x.hdr[:1], off); err != nil {
		return b, err
	}
	if x.hdr[0] == 0 {
		// 4.1: an Index Indicator where a block should start.
		return b, xzDamaged(off, "the index lists more blocks than the stream has")
	}
	// 3.1.1: the header is (Block Header Size + 1) * 4 bytes.
	b.headerSize = (int64(x.hdr[0]) + 1) * 4
	if b.dataSize() < 1 {
		return b, xzDamaged(off, "a %d-byte block header leaves no room for data in the %d-byte block the index records", b.headerSize, unpadded)
	}
	h := x.hdr[:b.headerSize]
	if err := x.read(h, off); err != nil {
		return b, err
	}
	body := h[:len(h)-4]
	if crc32.ChecksumIEEE(body) != binary.LittleEndian.Uint32(h[len(h)-4:]) {
		return b, xzDamaged(off, "block header CRC32 mismatch")
	}
	// 3.1.2: Block Flags.
	b.flags = h[1]
	if b.flags&0x3c != 0 {
		return b, xzUnsupported(off+1, "block flags %#02x set reserved bits (a newer xz format?)", b.flags)
	}
	p := 2
	size := func(what string, want int64) error {
		v, n, err := xzSliceVarint(body[p:])
		if err != nil {
			return xzDamaged(off+int64(p), "bad %s size in the block header", what)
		}
		if int64(v) != want {
			return xzDamaged(off+int64(p), "the block header's %s size is %d bytes, the index's %d", what, v, want)
		}
		p += n
		return nil
	}
	if b.flags&0x40 != 0 { // 3.1.3 Compressed Size
		if err := size("compressed", b.dataSize()); err != nil {
			return b, err
		}
	}
	if b.flags&0x80 != 0 { // 3.1.4 Uncompressed Size
		if err := size("uncompressed", uncompressed); err != nil {
			return b, err
		}
	}
	// 3.1.5: the filters, 1 to 4 of them; LZMA2 can only be the last (5.3.1).
	filters := int(b.flags&3) + 1
	for i := range filters {
		foff := off + int64(p)
		id, n, err := xzSliceVarint(body[p:])
		if err != nil {
			return b, xzDamaged(foff, "bad filter ID in the block header")
		}
		p += n
		psize, n, err := xzSliceVarint(body[p:])
		if err != nil || psize > uint64(len(body)-p-n) {
			return b, xzDamaged(foff, "bad filter properties size in the block header")
		}
		p += n
		props := body[p : p+int(psize)]
		p += int(psize)
		if id != xzFilterLZMA2 {
			return b, xzUnsupported(foff, "the block uses the %s filter, and only LZMA2 alone is read here: unpack the file with `xz -d` first", xzFilterName(id))
		}
		if i != filters-1 {
			return b, xzDamaged(foff, "LZMA2 is not the last filter of the block")
		}
		if len(props) != 1 {
			return b, xzDamaged(foff, "LZMA2 filter properties are %d bytes, not 1", len(props))
		}
		// 5.3.1: the dictionary size, a one-bit mantissa and five-bit exponent.
		d := props[0]
		if d > 40 {
			return b, xzUnsupported(off+int64(p-1), "LZMA2 dictionary size code %#x is not defined", d)
		}
		b.dict = xzDictSize(d)
		if b.dict > MaxXZDictionary {
			return b, xzUnsupported(off, "the block needs a %s LZMA2 dictionary, more than the %s read here (xz -9 uses %s): unpack the file with `xz -d` first",
				SizeString(b.dict), SizeString(MaxXZDictionary), SizeString(MaxXZDictionary))
		}
	}
	// 3.1.6: Header Padding.
	for i := p; i < len(body); i++ {
		if body[i] != 0 {
			return b, xzDamaged(off+int64(i), "non-zero block header padding")
		}
	}
	return b, nil
}

// xzDictSize decodes an LZMA2 dictionary size code of at most 40 (5.3.1).
func xzDictSize(d byte) int64 {
	if d == 40 {
		return 1<<32 - 1
	}
	return int64(2|d&1) << (d/2 + 11)
}

// xzFilterName names a filter ID (5.3; 5.4 for the custom ones).
func xzFilterName(id uint64) string {
	switch id {
	case 0x03:
		return "delta"
	case 0x04:
		return "x86 BCJ"
	case 0x05:
		return "PowerPC BCJ"
	case 0x06:
		return "IA-64 BCJ"
	case 0x07:
		return "ARM BCJ"
	case 0x08:
		return "ARM-Thumb BCJ"
	case 0x09:
		return "SPARC BCJ"
	case 0x0a:
		return "ARM64 BCJ"
	case 0x0b:
		return "RISC-V BCJ"
	}
	return fmt.Sprintf("%#x", id)
}
