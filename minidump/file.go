package minidump

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"sync/atomic"
	"time"
)

const (
	// Signature is "MDMP" read as a little-endian uint32.
	Signature = 0x504d444d
	// Version is the low 16 bits of Header.Version in every minidump (MINIDUMP_VERSION).
	Version = 0xa793

	headerSize    = 32
	directorySize = 12
)

// A Header is the MINIDUMP_HEADER at the start of the file.
type Header struct {
	Signature          uint32
	Version            uint32 // low 16 bits: 0xa793; high 16 bits: writer-specific
	NumberOfStreams    uint32
	StreamDirectoryRva uint32
	CheckSum           uint32
	TimeDateStamp      uint32
	Flags              DumpType
}

// Time returns the time the dump was written.
func (h *Header) Time() time.Time { return time.Unix(int64(h.TimeDateStamp), 0).UTC() }

// A Stream is one entry of the stream directory.
type Stream struct {
	Type StreamType
	// Index is the entry's position in the directory.
	Index int
	// Offset and Size locate the stream's data in the file (MINIDUMP_LOCATION_DESCRIPTOR).
	Offset int64
	Size   int64
	// Damage is non-nil when the directory entry points outside the file; Available
	// then says how many of the stream's bytes exist.
	Damage    error
	Available int64
}

// A File is an open minidump.
//
// A File is safe for concurrent use by several goroutines as long as the underlying
// io.ReaderAt is; accessors decode their stream anew on each call, so callers that
// need a stream repeatedly should keep the result.
type File struct {
	Header  Header
	Streams []*Stream
	// Warnings lists damage found while reading the header and directory: truncated
	// directory, streams that point past the end of the file, duplicate streams.
	// Streams that are intact remain readable. At most 64 are listed, then one that
	// counts the rest.
	Warnings []error

	r      io.ReaderAt
	size   int64
	closer io.Closer
	mapped *mappedFile // the file mapped for the long lists (scanList), or nil

	droppedWarnings int // warnings past maxWarnings, counted only

	// decodes counts, per directory entry, how many times an accessor decoded the
	// stream: callers that mean to decode each stream once can check (Decodes).
	decodes []atomic.Int32
}

// maxWarnings bounds File.Warnings: a hostile directory of a million damaged entries
// must not produce a million warnings (each entry's own Stream.Damage still says
// what is wrong with it).
const maxWarnings = 64

// Open opens the named file and reads its header and stream directory.
func Open(name string) (*File, error) {
	fh, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	st, err := fh.Stat()
	if err != nil {
		fh.Close()
		return nil, err
	}
	if st.IsDir() {
		fh.Close()
		return nil, &NotMinidumpError{LooksLike: "a directory"}
	}
	// A file is read through a small block cache: the accessors make many small
	// reads (names, records, pointers) that would otherwise each be a system call.
	f, err := New(newReadCache(fh, st.Size()), st.Size())
	if err != nil {
		fh.Close()
		return nil, err
	}
	f.closer = fh
	// A large file is also mapped, for its long lists (mappedFile).
	if mf := mapFile(fh, st.Size()); mf != nil {
		f.mapped = mf
		f.closer = closeBoth{mf, fh}
	}
	return f, nil
}

type closeBoth [2]io.Closer

func (c closeBoth) Close() error { return errors.Join(c[0].Close(), c[1].Close()) }

// Close closes the File if it was opened by Open; otherwise it does nothing.
func (f *File) Close() error {
	if f.closer == nil {
		return nil
	}
	err := f.closer.Close()
	f.closer = nil
	return err
}

// Size returns the size of the dump file in bytes.
func (f *File) Size() int64 { return f.size }

// ReaderAt returns the reader the File was created from.
func (f *File) ReaderAt() io.ReaderAt { return f.r }

// New reads a minidump's header and stream directory from r, whose length is size.
// It reads nothing else: streams are decoded by the accessors.
func New(r io.ReaderAt, size int64) (*File, error) {
	if size < 0 {
		return nil, fmt.Errorf("minidump: negative size %d", size)
	}
	var hb [headerSize]byte
	n, err := r.ReadAt(hb[:], 0)
	if n < len(hb) {
		if n >= 4 && binary.LittleEndian.Uint32(hb[:]) == Signature {
			return nil, formatErr("header", 0, "file is %d bytes, shorter than the 32-byte header", size)
		}
		if err != nil && err != io.EOF {
			return nil, err
		}
		return nil, &NotMinidumpError{LooksLike: sniffFile(r, size)}
	}
	h := Header{
		Signature:          binary.LittleEndian.Uint32(hb[0:]),
		Version:            binary.LittleEndian.Uint32(hb[4:]),
		NumberOfStreams:    binary.LittleEndian.Uint32(hb[8:]),
		StreamDirectoryRva: binary.LittleEndian.Uint32(hb[12:]),
		CheckSum:           binary.LittleEndian.Uint32(hb[16:]),
		TimeDateStamp:      binary.LittleEndian.Uint32(hb[20:]),
		Flags:              DumpType(binary.LittleEndian.Uint64(hb[24:])),
	}
	if h.Signature != Signature {
		return nil, &NotMinidumpError{LooksLike: sniffFile(r, size)}
	}
	f := &File{Header: h, r: r, size: size}
	if h.Version&0xffff != Version {
		f.warn(formatErr("header", 4, "version %#x, expected low 16 bits %#x", h.Version, Version))
	}
	if err := f.readDirectory(); err != nil {
		return nil, err
	}
	nd := 0
	for _, st := range f.Streams {
		nd = max(nd, st.Index+1)
	}
	f.decodes = make([]atomic.Int32, nd)
	return f, nil
}

// Decodes returns how many times the accessors have decoded stream s so far.
// Accessors decode their stream anew on each call (the File keeps nothing), so a
// program that builds its view of a dump once (as package process does) can
// check here that it decodes each stream at most once. Reading only a list's
// header (MemoryInfoCount, say) is not a decode.
func (f *File) Decodes(s *Stream) int {
	if s == nil || s.Index < 0 || s.Index >= len(f.decodes) {
		return 0
	}
	return int(f.decodes[s.Index].Load())
}

// decoding counts one decode of s.
func (f *File) decoding(s *Stream) {
	if s.Index >= 0 && s.Index < len(f.decodes) {
		f.decodes[s.Index].Add(1)
	}
}

func (f *File) warn(err error) {
	if len(f.Warnings) < maxWarnings {
		f.Warnings = append(f.Warnings, err)
		return
	}
	f.droppedWarnings++
}

// readDirectory reads the stream directory with one ReadAt, bounding the declared
// count by what the file can hold before allocating anything.
func (f *File) readDirectory() error {
	h := &f.Header
	dirOff := int64(h.StreamDirectoryRva)
	count := int64(h.NumberOfStreams)
	if count == 0 {
		f.warn(formatErr("header", 8, "the stream directory is empty"))
		return nil
	}
	if dirOff < headerSize && dirOff+count*directorySize > 0 && dirOff < f.size {
		// A directory overlapping the header is legal in principle but never written
		// by a real tool; note it and carry on.
		f.warn(formatErr("stream directory", dirOff, "directory overlaps the header"))
	}
	fit := int64(0)
	if dirOff < f.size {
		fit = (f.size - dirOff) / directorySize
	}
	if count > fit {
		f.warn(formatErr("stream directory", dirOff, "directory truncated: %d streams declared, %d fit in the file", count, fit))
		count = fit
	}
	if count == 0 {
		return formatErr("stream directory", dirOff, "no stream directory entry fits in the file (%d declared, file is %d bytes)", h.NumberOfStreams, f.size)
	}
	buf := make([]byte, count*directorySize)
	if n, err := f.r.ReadAt(buf, dirOff); n < len(buf) {
		if err == nil {
			err = io.ErrUnexpectedEOF
		}
		return fmt.Errorf("minidump: reading stream directory at offset %#x: %w", dirOff, err)
	}
	f.Streams = make([]*Stream, 0, count)
	seen := make(map[StreamType]int)
	for i := range int(count) {
		e := buf[i*directorySize:]
		s := &Stream{
			Type:   StreamType(binary.LittleEndian.Uint32(e[0:])),
			Index:  i,
			Size:   int64(binary.LittleEndian.Uint32(e[4:])),
			Offset: int64(binary.LittleEndian.Uint32(e[8:])),
		}
		s.Available = s.Size
		entryOff := dirOff + int64(i)*directorySize
		switch {
		case s.Type == StreamUnused:
			// Writers pad the directory with unused entries; they carry no data and
			// no warning, but Available still counts only bytes in the file.
			s.Available = max(0, min(s.Size, f.size-s.Offset))
		case s.Offset > f.size:
			s.Available = 0
			s.Damage = formatErr(fmt.Sprintf("%v stream (directory entry %d)", s.Type, i), entryOff,
				"data at %#x+%#x starts past the end of the file (%#x)", s.Offset, s.Size, f.size)
		case s.Offset+s.Size > f.size:
			s.Available = f.size - s.Offset
			s.Damage = formatErr(fmt.Sprintf("%v stream (directory entry %d)", s.Type, i), entryOff,
				"data at %#x+%#x extends past the end of the file (%#x): %d of %d bytes present", s.Offset, s.Size, f.size, s.Available, s.Size)
		}
		if s.Damage != nil {
			f.warn(s.Damage)
		}
		if s.Type != StreamUnused {
			if prev, dup := seen[s.Type]; !dup {
				seen[s.Type] = i
			} else if len(f.Warnings) < maxWarnings {
				f.warn(formatErr("stream directory", entryOff, "%v appears again as entry %d (first at entry %d); the first is used", s.Type, i, prev))
			} else {
				f.droppedWarnings++
			}
		}
		f.Streams = append(f.Streams, s)
	}
	if f.droppedWarnings > 0 {
		f.Warnings = append(f.Warnings, formatErr("stream directory", dirOff, "%d more warnings like these are not listed", f.droppedWarnings))
	}
	return nil
}

// Stream returns the first directory entry of type t, or nil.
func (f *File) Stream(t StreamType) *Stream {
	for _, s := range f.Streams {
		if s.Type == t {
			return s
		}
	}
	return nil
}

// HasStream reports whether the directory lists a stream of type t.
func (f *File) HasStream(t StreamType) bool { return f.Stream(t) != nil }

// StreamData reads the whole of the first stream of type t. It returns the bytes that
// exist and, when the stream is cut short by the end of the file, a *FormatError.
// Streams larger than limit bytes are refused; limit <= 0 means no limit beyond the
// file size.
func (f *File) StreamData(t StreamType, limit int64) ([]byte, error) {
	s := f.Stream(t)
	if s == nil {
		return nil, noStream(t)
	}
	return f.readStream(s, limit)
}

func (f *File) readStream(s *Stream, limit int64) ([]byte, error) {
	f.decoding(s)
	n := s.Available
	if limit > 0 && n > limit {
		return nil, formatErr(s.Type.String(), s.Offset, "stream is %d bytes, more than the %d this reader accepts", n, limit)
	}
	buf := make([]byte, n)
	if n > 0 {
		if got, err := f.r.ReadAt(buf, s.Offset); int64(got) < n {
			if err == nil || err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return buf[:got], fmt.Errorf("minidump: reading %v at offset %#x: %w", s.Type, s.Offset, err)
		}
	}
	return buf, s.Damage
}

// checkRange reports, as a FormatError, n bytes at off that do not all lie in the
// file, so callers can refuse before they allocate a buffer for them.
func (f *File) checkRange(off, n int64, where string) error {
	if off < 0 || off > f.size || n > f.size-off {
		return formatErr(where, off, "%d bytes at %#x extend past the end of the file (%#x)", n, off, f.size)
	}
	return nil
}

// readAt reads len(p) bytes at off, turning a short read into a FormatError.
func (f *File) readAt(p []byte, off int64, where string) error {
	if err := f.checkRange(off, int64(len(p)), where); err != nil {
		return err
	}
	n, err := f.r.ReadAt(p, off)
	if n < len(p) {
		if err == nil || err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return fmt.Errorf("minidump: reading %s at offset %#x: %w", where, off, err)
	}
	return nil
}
