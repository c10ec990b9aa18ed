package cab

import (
	"bytes"
	"compress/flate"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"sort"
	"sync"
	"unicode/utf8"
)

// Magic is the signature at the start of every cabinet.
const Magic = "MSCF"

// Layout constants from [MS-CAB] sections 2.1-2.4.
const (
	flagPrevCabinet    = 0x0001
	flagNextCabinet    = 0x0002
	flagReservePresent = 0x0004

	headerSize = 36 // CFHEADER without its optional fields
	folderSize = 8  // CFFOLDER without its reserved bytes
	fileSize   = 16 // CFFILE without its name
	dataSize   = 8  // CFDATA header without its reserved bytes

	// MaxBlock is the most uncompressed bytes one CFDATA block holds.
	MaxBlock = 32768
	// maxName bounds a CFFILE name (the format says 256 bytes; a little slack
	// for writers that exceed it).
	maxName = 1024

	attrNameIsUTF = 0x80 // _A_NAME_IS_UTF: the name is UTF-8, not a code page
)

// Compression is a folder's compression method (CFFOLDER.typeCompress, low 4 bits).
type Compression uint16

// Compression methods.
const (
	None    Compression = 0
	MSZIP   Compression = 1
	Quantum Compression = 2
	LZX     Compression = 3
)

func (c Compression) String() string {
	switch c {
	case None:
		return "none"
	case MSZIP:
		return "MSZIP"
	case Quantum:
		return "Quantum"
	case LZX:
		return "LZX"
	}
	return fmt.Sprintf("unknown compression %d", uint16(c))
}

// A Folder is one compressed stream of the cabinet.
type Folder struct {
	Compression Compression
	// Params is the rest of typeCompress (LZX's window size, for instance).
	Params uint16
	// DataOffset is the file offset of the folder's first CFDATA block.
	DataOffset int64
	// Blocks is the number of CFDATA blocks.
	Blocks int
}

// A File is one file stored in the cabinet.
type File struct {
	// Name is the name as stored, with '\' separators; from a cabinet, so
	// hostile: a label to show (escaped) or match, never a path to write to.
	Name string
	// Size is the uncompressed size the cabinet declares.
	Size int64
	// Folder is the index of the folder holding the file.
	Folder int
	// Offset is where the file starts in its folder's uncompressed data.
	Offset int64
	// Attributes are the CFFILE attribute bits (_A_RDONLY 0x01, ...).
	Attributes uint16
}

// A Reader reads the files of a cabinet.
type Reader struct {
	Folders []Folder
	Files   []File

	r         io.ReaderAt
	size      int64
	dataExtra int     // reserved bytes after each CFDATA header
	ends      []int64 // where each folder's data must end: the next folder's start

	// cached is the decoder the last Extract left, to be continued by the next
	// one when it starts further on in the same folder: files extracted in order
	// cost one pass over their folder, not one pass each.
	mu     sync.Mutex
	cached *decoder
}

// A FormatError reports a malformed cabinet and where.
type FormatError struct {
	Off int64 // file offset of the bad field, -1 when it has none
	Msg string
}

func (e *FormatError) Error() string {
	if e.Off < 0 {
		return "malformed cabinet: " + e.Msg
	}
	return fmt.Sprintf("malformed cabinet: %s (offset %#x)", e.Msg, e.Off)
}

// An UnsupportedError reports a cabinet this package cannot extract: an LZX or
// Quantum folder, or a cabinet that is part of a multi-cabinet set.
type UnsupportedError struct {
	What string
}

func (e *UnsupportedError) Error() string {
	return "cabinet " + e.What + ", which is not supported: expand it with cabextract or expand.exe"
}

// A LimitError reports that a file is larger than the caller's limit.
type LimitError struct {
	Name  string
	What  string // "is" or "starts"
	Size  int64
	Limit int64
}

func (e *LimitError) Error() string {
	if e.What == "starts" {
		return fmt.Sprintf("cabinet file %q starts %d bytes into its folder, over the %d-byte limit", e.Name, e.Size, e.Limit)
	}
	return fmt.Sprintf("cabinet file %q is %d bytes, over the %d-byte limit", e.Name, e.Size, e.Limit)
}

func formatErr(off int64, format string, args ...any) error {
	return &FormatError{Off: off, Msg: fmt.Sprintf(format, args...)}
}

// NewReader reads the cabinet header, folder and file tables from r, whose
// length is size. It reads no file data. Every count is checked against size
// before a table is allocated.
func NewReader(r io.ReaderAt, size int64) (*Reader, error) {
	le := binary.LittleEndian
	if size < headerSize {
		return nil, formatErr(0, "%d bytes is too small for a cabinet header", size)
	}
	var h [headerSize + 4]byte
	n := min(int64(len(h)), size)
	if _, err := r.ReadAt(h[:n], 0); err != nil && !errors.Is(err, io.EOF) {
		return nil, err
	}
	if string(h[:4]) != Magic {
		return nil, formatErr(0, "no MSCF signature")
	}
	c := &Reader{r: r, size: size}
	if total := int64(le.Uint32(h[8:])); total > size {
		return nil, formatErr(8, "cabinet claims %d bytes, file has %d", total, size)
	}
	filesOff := int64(le.Uint32(h[16:]))
	if h[25] != 1 || h[24] != 3 {
		return nil, formatErr(24, "unsupported cabinet version %d.%d", h[25], h[24])
	}
	nFolders, nFiles := int(le.Uint16(h[26:])), int(le.Uint16(h[28:]))
	flags := le.Uint16(h[30:])
	if flags&(flagPrevCabinet|flagNextCabinet) != 0 {
		return nil, &UnsupportedError{"is part of a multi-cabinet set"}
	}
	off := int64(headerSize)
	fsize := folderSize
	if flags&flagReservePresent != 0 {
		if n < headerSize+4 {
			return nil, formatErr(off, "truncated reserve fields")
		}
		off += 4 + int64(le.Uint16(h[36:]))
		fsize += int(h[38])
		c.dataExtra = int(h[39])
	}
	if int64(nFolders)*int64(fsize) > size-off || int64(nFiles)*fileSize > size {
		return nil, formatErr(26, "%d folders and %d files do not fit in %d bytes", nFolders, nFiles, size)
	}
	fb := make([]byte, nFolders*fsize)
	if _, err := r.ReadAt(fb, off); err != nil && !(errors.Is(err, io.EOF) && off+int64(len(fb)) <= size) {
		return nil, formatErr(off, "reading folder table: %v", err)
	}
	c.Folders = make([]Folder, nFolders)
	for i := range c.Folders {
		f := fb[i*fsize:]
		t := le.Uint16(f[6:])
		c.Folders[i] = Folder{
			DataOffset:  int64(le.Uint32(f)),
			Blocks:      int(le.Uint16(f[4:])),
			Compression: Compression(t & 0xF),
			Params:      t >> 4,
		}
	}
	// A folder's blocks must end before the next folder's begin: folders that
	// shared blocks would let a small cabinet decode them once per folder.
	c.ends = make([]int64, nFolders)
	order := make([]int, nFolders)
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool { return c.Folders[order[a]].DataOffset < c.Folders[order[b]].DataOffset })
	end := size
	for k := len(order) - 1; k >= 0; k-- {
		i := order[k]
		f := c.Folders[i]
		if k+1 < len(order) {
			g := c.Folders[order[k+1]]
			if g.DataOffset == f.DataOffset && g.Blocks > 0 && f.Blocks > 0 {
				return nil, formatErr(off+int64(i*fsize), "folders %d and %d start at the same offset %#x", i, order[k+1], f.DataOffset)
			}
			if g.DataOffset > f.DataOffset {
				end = g.DataOffset
			}
		}
		c.ends[i] = end
	}
	// File entries are variable-length (the name ends with a NUL): read the
	// region once, bounded by the cabinet.
	if nFiles > 0 && (filesOff <= 0 || filesOff >= size) {
		return nil, formatErr(16, "file table offset %#x out of range", filesOff)
	}
	var region []byte
	if nFiles > 0 {
		region = make([]byte, min(size-filesOff, int64(nFiles)*(fileSize+maxName)))
		if _, err := r.ReadAt(region, filesOff); err != nil && !errors.Is(err, io.EOF) {
			return nil, formatErr(filesOff, "reading file table: %v", err)
		}
	}
	c.Files = make([]File, 0, nFiles)
	pos := 0
	for i := range nFiles {
		if pos+fileSize > len(region) {
			return nil, formatErr(filesOff+int64(pos), "file entry %d truncated", i)
		}
		e := region[pos:]
		nameEnd := bytes.IndexByte(e[fileSize:min(len(e), fileSize+maxName)], 0)
		if nameEnd < 0 {
			return nil, formatErr(filesOff+int64(pos), "file entry %d has no NUL-terminated name", i)
		}
		name := e[fileSize : fileSize+nameEnd]
		attr := le.Uint16(e[14:])
		c.Files = append(c.Files, File{
			Size:       int64(le.Uint32(e)),
			Offset:     int64(le.Uint32(e[4:])),
			Folder:     int(le.Uint16(e[8:])),
			Attributes: attr,
			Name:       decodeName(name, attr&attrNameIsUTF != 0),
		})
		pos += fileSize + nameEnd + 1
	}
	// Writers lay a folder's files one after the other, in table order. Files
	// that overlap would let a small cabinet expand to its folder's size once
	// per file: refuse them.
	ends := make(map[int]int64)
	for _, f := range c.Files {
		if f.Offset < ends[f.Folder] {
			return nil, formatErr(-1, "file %q starts at %d in folder %d, before the end (%d) of the file before it", f.Name, f.Offset, f.Folder, ends[f.Folder])
		}
		ends[f.Folder] = f.Offset + f.Size
	}
	return c, nil
}

// decodeName returns a CFFILE name as a Go string. A name without
// _A_NAME_IS_UTF is in the writer's code page, unknown here: its bytes past
// ASCII are read as Latin-1 so that the string is valid UTF-8 whatever they are.
func decodeName(b []byte, isUTF bool) string {
	if isUTF && utf8.Valid(b) {
		return string(b)
	}
	ascii := true
	for _, c := range b {
		ascii = ascii && c < 0x80
	}
	if ascii {
		return string(b)
	}
	r := make([]rune, len(b))
	for i, c := range b {
		r[i] = rune(c)
	}
	return string(r)
}

// Extract writes file i to w. It fails, before writing anything, when the file
// is larger than limit bytes or starts more than limit bytes into its folder
// (the data before it must be decoded too), so the work is bounded by twice the
// limit whatever the headers say; sizes in a cabinet are untrusted.
func (c *Reader) Extract(i int, w io.Writer, limit int64) error {
	if i < 0 || i >= len(c.Files) {
		return fmt.Errorf("cabinet has no file %d", i)
	}
	f := c.Files[i]
	if f.Size > limit {
		return &LimitError{Name: f.Name, What: "is", Size: f.Size, Limit: limit}
	}
	if f.Offset > limit {
		return &LimitError{Name: f.Name, What: "starts", Size: f.Offset, Limit: limit}
	}
	d, err := c.take(f)
	if err != nil {
		return err
	}
	// Leave the decoder for the next file, even after an error: a folder
	// damaged at some block fails every later file at once, without being
	// decoded again.
	defer func() {
		c.mu.Lock()
		c.cached = d
		c.mu.Unlock()
	}()
	start, end := f.Offset, f.Offset+f.Size
	// The part of the last block decoded that belongs to the file, when the
	// decoder is continued.
	if last := d.pos - int64(len(d.dict)); d.block > 0 && start < d.pos {
		if _, err := w.Write(d.dict[start-last : min(end, d.pos)-last]); err != nil {
			return err
		}
	}
	for d.pos < end {
		pos := d.pos
		block, err := d.next()
		if err == io.EOF {
			return formatErr(d.off, "folder ends after %d bytes, file %q needs %d", pos, f.Name, end)
		}
		if err != nil {
			return err
		}
		lo, hi := max(start-pos, 0), min(end-pos, int64(len(block)))
		if lo < hi {
			if _, err := w.Write(block[lo:hi]); err != nil {
				return err
			}
		}
	}
	return nil
}

// take returns a decoder of f's folder positioned at or before f's first byte:
// the cached one when it is, else a new one.
func (c *Reader) take(f File) (*decoder, error) {
	c.mu.Lock()
	d := c.cached
	c.cached = nil
	c.mu.Unlock()
	if d != nil && d.folderIndex == f.Folder && d.pos-int64(len(d.dict)) <= f.Offset {
		return d, nil
	}
	return c.folder(f)
}

// Peek returns the first n bytes of every file (fewer for a shorter one), to
// tell what the files are without extracting them. Each folder is decoded once,
// and no further than limit bytes: a file that starts past the limit gets no
// bytes, and so does every file of a folder that cannot be decoded (LZX, damage);
// the error of the first such folder is returned with the heads.
func (c *Reader) Peek(n int, limit int64) ([][]byte, error) {
	heads := make([][]byte, len(c.Files))
	var firstErr error
	for fi := range c.Folders {
		var need int64 // how far into the folder the heads reach
		for _, f := range c.Files {
			if f.Folder == fi && f.Offset <= limit {
				need = max(need, f.Offset+min(f.Size, int64(n)))
			}
		}
		if need == 0 {
			continue
		}
		d, err := c.folder(File{Folder: fi})
		if err != nil {
			firstErr = cmpOr(firstErr, err)
			continue
		}
		for d.pos < need {
			pos := d.pos
			block, err := d.next()
			if err != nil {
				if err != io.EOF {
					firstErr = cmpOr(firstErr, err)
				}
				break
			}
			for i, f := range c.Files {
				if f.Folder != fi || f.Offset > limit {
					continue
				}
				want := min(f.Size, int64(n))
				lo := max(f.Offset+int64(len(heads[i]))-pos, 0)
				hi := min(f.Offset+want-pos, int64(len(block)))
				if lo < hi {
					heads[i] = append(heads[i], block[lo:hi]...)
				}
			}
		}
	}
	return heads, firstErr
}

func cmpOr(a, b error) error {
	if a != nil {
		return a
	}
	return b
}

// folder returns a decoder of f's folder.
func (c *Reader) folder(f File) (*decoder, error) {
	if f.Folder < 0 || f.Folder >= len(c.Folders) {
		return nil, formatErr(-1, "file %q is in folder %d of %d", f.Name, f.Folder, len(c.Folders))
	}
	fo := c.Folders[f.Folder]
	switch fo.Compression {
	case None, MSZIP:
	default:
		return nil, &UnsupportedError{"uses " + fo.Compression.String() + " compression"}
	}
	return &decoder{c: c, fo: fo, folderIndex: f.Folder, end: c.ends[f.Folder], off: fo.DataOffset, out: make([]byte, 0, MaxBlock+1)}, nil
}

// A decoder yields a folder's uncompressed blocks in order.
type decoder struct {
	c           *Reader
	fo          Folder
	folderIndex int
	off         int64 // next CFDATA
	block       int   // blocks read
	pos         int64 // uncompressed bytes decoded: the folder offset after dict
	end         int64 // where the folder's data must end
	err         error // sticky: the folder cannot be decoded further
	out         []byte
	dict        []byte
	data        []byte
	fr          io.ReadCloser
}

// next returns the next block's uncompressed bytes (valid until the next
// call), or io.EOF after the last block.
func (d *decoder) next() ([]byte, error) {
	if d.err != nil {
		return nil, d.err
	}
	if d.block >= d.fo.Blocks {
		return nil, io.EOF
	}
	b, err := d.read()
	if err != nil {
		d.err = fmt.Errorf("cabinet block %d: %w", d.block, err)
		return nil, d.err
	}
	d.block++
	d.pos += int64(len(b))
	// MSZIP blocks use the previous block's output as their dictionary; it is
	// also what a continued Extract takes its first bytes from.
	d.dict = append(d.dict[:0], b...)
	return b, nil
}

func (d *decoder) read() ([]byte, error) {
	le := binary.LittleEndian
	c, off := d.c, d.off
	hdrLen := int64(dataSize + c.dataExtra)
	if off < 0 || off > c.size-hdrLen || off+hdrLen > d.end {
		return nil, formatErr(off, "data block header past the end of its folder")
	}
	var hb [dataSize + 255]byte
	hdr := hb[:hdrLen]
	if _, err := c.r.ReadAt(hdr, off); err != nil {
		return nil, formatErr(off, "reading data block header: %v", err)
	}
	sum := le.Uint32(hdr)
	cb, cbUncomp := int64(le.Uint16(hdr[4:])), int(le.Uint16(hdr[6:]))
	if cbUncomp == 0 {
		return nil, formatErr(off, "data block continues in another cabinet")
	}
	if cbUncomp > MaxBlock {
		return nil, formatErr(off, "data block of %d uncompressed bytes (max %d)", cbUncomp, MaxBlock)
	}
	dataOff := off + hdrLen
	if cb > c.size-dataOff {
		return nil, formatErr(off, "data block of %d bytes runs past the end", cb)
	}
	if dataOff+cb > d.end {
		return nil, formatErr(off, "data block of %d bytes runs into the next folder", cb)
	}
	if int64(cap(d.data)) < cb {
		d.data = make([]byte, cb)
	}
	data := d.data[:cb]
	if _, err := c.r.ReadAt(data, dataOff); err != nil {
		return nil, formatErr(dataOff, "reading data block: %v", err)
	}
	// A zero checksum means "not computed" ([MS-CAB] 2.4).
	if sum != 0 {
		if got := Checksum(hdr[4:8], Checksum(data, 0)); got != sum {
			return nil, formatErr(off, "data block checksum %#08x, header says %#08x", got, sum)
		}
	}
	d.off = dataOff + cb
	switch d.fo.Compression {
	case None:
		if int(cb) != cbUncomp {
			return nil, formatErr(off, "stored block of %d bytes claims %d uncompressed", cb, cbUncomp)
		}
		return append(d.out[:0], data...), nil
	case MSZIP:
		if len(data) < 2 || data[0] != 'C' || data[1] != 'K' {
			return nil, formatErr(dataOff, "MSZIP block without the CK signature")
		}
		if d.fr == nil {
			d.fr = flate.NewReaderDict(bytes.NewReader(data[2:]), d.dict)
		} else if err := d.fr.(flate.Resetter).Reset(bytes.NewReader(data[2:]), d.dict); err != nil {
			return nil, err
		}
		// Read one byte more than promised to catch a lying header without
		// inflating a bomb.
		out := d.out[:cbUncomp+1]
		got, err := io.ReadFull(d.fr, out)
		if err != nil && err != io.ErrUnexpectedEOF && err != io.EOF {
			return nil, formatErr(dataOff, "MSZIP: %v", err)
		}
		if got != cbUncomp {
			return nil, formatErr(dataOff, "MSZIP block inflates to %d bytes, header says %d", got, cbUncomp)
		}
		return out[:got], nil
	}
	return nil, &UnsupportedError{"uses " + d.fo.Compression.String() + " compression"}
}

// Checksum is the CFDATA checksum ([MS-CAB] 2.4, CHECKSUM): the XOR of the
// data's little-endian 32-bit words, the 1-3 trailing bytes packed big end
// first, seeded with seed. A block's checksum is Checksum(cbData and cbUncomp
// as stored, Checksum(data, 0)).
func Checksum(b []byte, seed uint32) uint32 {
	sum := seed
	n := len(b) / 4
	for i := range n {
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
