package symstore

import (
	"bytes"
	"compress/flate"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// Microsoft cabinet (CAB) reading, for the "name.pd_" files symbol servers
// serve and stores keep. Only what those need: single-cabinet sets, and
// folders stored uncompressed or with MSZIP. LZX and Quantum are reported
// by name so the user knows to expand the file with another tool.

const (
	cabMagic = "MSCF"

	cabFlagPrev     = 0x0001
	cabFlagNext     = 0x0002
	cabFlagReserve  = 0x0004
	cabHeaderSize   = 36
	cabFolderSize   = 8
	cabFileSize     = 16
	cabDataSize     = 8
	cabMaxBlock     = 32768 // uncompressed bytes in one CFDATA block
	cabMaxName      = 1024
	compressNone    = 0
	compressMSZIP   = 1
	compressQuantum = 2
	compressLZX     = 3
)

// errCABFormat marks a malformed cabinet.
var errCABFormat = errors.New("malformed cabinet")

// cabinet is an opened CAB file.
type cabinet struct {
	r          io.ReaderAt
	size       int64
	folders    []cabFolder
	files      []cabFile
	dataExtra  int // per-CFDATA reserved bytes
	folderSize int // CFFOLDER size including reserved bytes
}

type cabFolder struct {
	dataOff  int64 // offset of the first CFDATA
	numData  int
	compress uint16
}

type cabFile struct {
	name   string
	size   uint32
	offset uint32 // in the folder's uncompressed data
	folder uint16
}

func cabErr(off int64, format string, args ...any) error {
	return fmt.Errorf("%w: %s (offset %#x)", errCABFormat, fmt.Sprintf(format, args...), off)
}

// isCAB reports whether the file at r starts with the cabinet magic.
func isCAB(r io.ReaderAt) bool {
	var m [4]byte
	_, err := r.ReadAt(m[:], 0)
	return err == nil && string(m[:]) == cabMagic
}

// openCAB reads the cabinet header, folder and file tables. Every count is
// bounded by the cabinet size before tables are allocated.
func openCAB(r io.ReaderAt, size int64) (*cabinet, error) {
	le := binary.LittleEndian
	var h [cabHeaderSize + 4]byte
	if size < cabHeaderSize {
		return nil, cabErr(0, "%d bytes is too small for a cabinet header", size)
	}
	n := min(int64(len(h)), size)
	if _, err := r.ReadAt(h[:n], 0); err != nil && !errors.Is(err, io.EOF) {
		return nil, err
	}
	if string(h[:4]) != cabMagic {
		return nil, cabErr(0, "no MSCF signature")
	}
	c := &cabinet{r: r, size: size, folderSize: cabFolderSize}
	if total := int64(le.Uint32(h[8:])); total > size {
		return nil, cabErr(8, "cabinet claims %d bytes, file has %d", total, size)
	}
	filesOff := int64(le.Uint32(h[16:]))
	if h[25] != 1 || h[24] != 3 {
		return nil, cabErr(24, "unsupported cabinet version %d.%d", h[25], h[24])
	}
	nFolders, nFiles := int(le.Uint16(h[26:])), int(le.Uint16(h[28:]))
	flags := le.Uint16(h[30:])
	if flags&(cabFlagPrev|cabFlagNext) != 0 {
		return nil, cabErr(30, "multi-cabinet sets are not supported")
	}
	off := int64(cabHeaderSize)
	if flags&cabFlagReserve != 0 {
		if n < cabHeaderSize+4 {
			return nil, cabErr(off, "truncated reserve fields")
		}
		headerExtra := int64(le.Uint16(h[36:]))
		c.folderSize += int(h[38])
		c.dataExtra = int(h[39])
		off += 4 + headerExtra
	}
	if int64(nFolders)*int64(c.folderSize) > size-off || int64(nFiles)*cabFileSize > size {
		return nil, cabErr(26, "%d folders and %d files do not fit in %d bytes", nFolders, nFiles, size)
	}
	fb := make([]byte, nFolders*c.folderSize)
	if _, err := r.ReadAt(fb, off); err != nil {
		return nil, cabErr(off, "reading folder table: %v", err)
	}
	for i := 0; i < nFolders; i++ {
		f := fb[i*c.folderSize:]
		c.folders = append(c.folders, cabFolder{
			dataOff:  int64(le.Uint32(f)),
			numData:  int(le.Uint16(f[4:])),
			compress: le.Uint16(f[6:]),
		})
	}
	// File entries are variable-length (the name ends with a NUL): read the
	// region once, bounded by the cabinet.
	if filesOff <= 0 || filesOff >= size {
		return nil, cabErr(16, "file table offset %#x out of range", filesOff)
	}
	region := make([]byte, min(size-filesOff, int64(nFiles)*(cabFileSize+cabMaxName)))
	if _, err := r.ReadAt(region, filesOff); err != nil && !errors.Is(err, io.EOF) {
		return nil, cabErr(filesOff, "reading file table: %v", err)
	}
	pos := 0
	for i := 0; i < nFiles; i++ {
		if pos+cabFileSize > len(region) {
			return nil, cabErr(filesOff+int64(pos), "file entry %d truncated", i)
		}
		e := region[pos:]
		nameEnd := bytes.IndexByte(e[cabFileSize:min(len(e), cabFileSize+cabMaxName)], 0)
		if nameEnd < 0 {
			return nil, cabErr(filesOff+int64(pos), "file entry %d has no NUL-terminated name", i)
		}
		c.files = append(c.files, cabFile{
			size:   le.Uint32(e),
			offset: le.Uint32(e[4:]),
			folder: le.Uint16(e[8:]),
			name:   string(e[cabFileSize : cabFileSize+nameEnd]),
		})
		pos += cabFileSize + nameEnd + 1
	}
	return c, nil
}

// compressionName names a CFFOLDER compression type for error messages.
func compressionName(t uint16) string {
	switch t & 0xF {
	case compressNone:
		return "none"
	case compressMSZIP:
		return "MSZIP"
	case compressQuantum:
		return "Quantum"
	case compressLZX:
		return "LZX"
	}
	return fmt.Sprintf("unknown type %d", t&0xF)
}

// extract writes file i to w, failing once more than limit bytes would be
// written: sizes in a cabinet are untrusted.
func (c *cabinet) extract(i int, w io.Writer, limit int64) error {
	if i < 0 || i >= len(c.files) {
		return fmt.Errorf("cabinet has no file %d", i)
	}
	f := c.files[i]
	if int64(f.size) > limit {
		return fmt.Errorf("cabinet file %q is %d bytes, over the %d-byte limit", f.name, f.size, limit)
	}
	// Data before the file is inflated too: bound it the same way, so the
	// work is at most twice the limit whatever the headers say.
	if int64(f.offset) > limit {
		return fmt.Errorf("cabinet file %q starts %d bytes into its folder, over the %d-byte limit", f.name, f.offset, limit)
	}
	if int(f.folder) >= len(c.folders) {
		return cabErr(-1, "file %q is in folder %d of %d", f.name, f.folder, len(c.folders))
	}
	fo := c.folders[f.folder]
	switch fo.compress & 0xF {
	case compressNone, compressMSZIP:
	default:
		return fmt.Errorf("cabinet %q uses %s compression, which is not supported: expand it with cabextract or expand.exe", f.name, compressionName(fo.compress))
	}
	start, end := int64(f.offset), int64(f.offset)+int64(f.size)
	var pos int64 // uncompressed offset in the folder
	var dict []byte
	off := fo.dataOff
	out := make([]byte, 0, cabMaxBlock)
	for b := 0; b < fo.numData && pos < end; b++ {
		block, next, err := c.readBlock(off, fo.compress&0xF, dict, out[:0])
		if err != nil {
			return fmt.Errorf("cabinet block %d: %w", b, err)
		}
		off = next
		// The part of this block that belongs to the file.
		lo, hi := max(start-pos, 0), min(end-pos, int64(len(block)))
		if lo < hi {
			if _, err := w.Write(block[lo:hi]); err != nil {
				return err
			}
		}
		pos += int64(len(block))
		// MSZIP blocks use the previous block's output as their dictionary.
		dict = append(dict[:0], block...)
	}
	if pos < end {
		return cabErr(off, "folder ends after %d bytes, file %q needs %d", pos, f.name, end)
	}
	return nil
}

// readBlock reads the CFDATA at off and returns its uncompressed bytes (in
// buf's storage) and the offset of the next block.
func (c *cabinet) readBlock(off int64, compress uint16, dict, buf []byte) ([]byte, int64, error) {
	le := binary.LittleEndian
	hdrLen := int64(cabDataSize + c.dataExtra)
	if off < 0 || off > c.size-hdrLen {
		return nil, 0, cabErr(off, "data block header past the end")
	}
	hdr := make([]byte, hdrLen)
	if _, err := c.r.ReadAt(hdr, off); err != nil {
		return nil, 0, cabErr(off, "reading data block header: %v", err)
	}
	sum := le.Uint32(hdr)
	cb, cbUncomp := int64(le.Uint16(hdr[4:])), int(le.Uint16(hdr[6:]))
	if cbUncomp == 0 {
		return nil, 0, cabErr(off, "data block continues in another cabinet")
	}
	if cbUncomp > cabMaxBlock {
		return nil, 0, cabErr(off, "data block of %d uncompressed bytes (max %d)", cbUncomp, cabMaxBlock)
	}
	dataOff := off + hdrLen
	if cb > c.size-dataOff {
		return nil, 0, cabErr(off, "data block of %d bytes runs past the end", cb)
	}
	data := make([]byte, cb)
	if _, err := c.r.ReadAt(data, dataOff); err != nil {
		return nil, 0, cabErr(dataOff, "reading data block: %v", err)
	}
	// A zero checksum means "not computed".
	if sum != 0 {
		if got := cabChecksum(hdr[4:], cabChecksum(data, 0)); got != sum {
			return nil, 0, cabErr(off, "data block checksum %#08x, header says %#08x", got, sum)
		}
	}
	next := dataOff + cb
	switch compress {
	case compressNone:
		if int(cb) != cbUncomp {
			return nil, 0, cabErr(off, "stored block of %d bytes claims %d uncompressed", cb, cbUncomp)
		}
		return append(buf, data...), next, nil
	case compressMSZIP:
		if len(data) < 2 || data[0] != 'C' || data[1] != 'K' {
			return nil, 0, cabErr(dataOff, "MSZIP block without the CK signature")
		}
		fr := flate.NewReaderDict(bytes.NewReader(data[2:]), dict)
		defer fr.Close()
		// Read one byte more than promised to catch a lying header without
		// inflating a bomb.
		out, err := io.ReadAll(io.LimitReader(fr, int64(cbUncomp)+1))
		if err != nil {
			return nil, 0, cabErr(dataOff, "MSZIP: %v", err)
		}
		if len(out) != cbUncomp {
			return nil, 0, cabErr(dataOff, "MSZIP block inflates to %d bytes, header says %d", len(out), cbUncomp)
		}
		return append(buf, out...), next, nil
	}
	return nil, 0, fmt.Errorf("%s compression is not supported", compressionName(compress))
}

// cabChecksum is the CFDATA checksum: XOR of little-endian 32-bit words, the
// 1-3 trailing bytes packed big-end first (as libmspack computes it).
func cabChecksum(b []byte, seed uint32) uint32 {
	sum := seed
	n := len(b) / 4
	for i := 0; i < n; i++ {
		sum ^= binary.LittleEndian.Uint32(b[4*i:])
	}
	var ul uint32
	rest := b[4*n:]
	switch len(rest) {
	case 3:
		ul = uint32(rest[0])<<16 | uint32(rest[1])<<8 | uint32(rest[2])
	case 2:
		ul = uint32(rest[0])<<8 | uint32(rest[1])
	case 1:
		ul = uint32(rest[0])
	}
	return sum ^ ul
}

// ExpandCAB writes the first member of the cabinet in r (size bytes) to w
// and returns the member's name as stored, which is only a hint and never a
// path to use. The cabinet is read as hostile: at most limit bytes are
// written, and LZX and Quantum folders are refused by name. Symbol servers
// serve "name.pd_", "name.dl_" and "name.sy_" files as one-member cabinets.
func ExpandCAB(r io.ReaderAt, size int64, w io.Writer, limit int64) (member string, err error) {
	c, err := openCAB(r, size)
	if err != nil {
		return "", err
	}
	if len(c.files) == 0 {
		return "", errors.New("cabinet holds no file")
	}
	return c.files[0].name, c.extract(0, w, limit)
}
