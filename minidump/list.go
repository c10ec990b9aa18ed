package minidump

import (
	"encoding/binary"
	"runtime/debug"
)

// countedList reads a stream that is a u32 count followed by fixed-size entries
// (ThreadList, ModuleList, MemoryList, ThreadExList) with one ReadAt, and returns the
// bytes of the entries that are really there. Some writers put 4 bytes of padding
// after the count to align the entries to 8; like Breakpad, accept that layout when
// the stream size says so. A count larger than the stream can hold is damage: the
// entries that fit are returned with a *FormatError.
func (f *File) countedList(t StreamType, entrySize int) (s *Stream, entries []byte, n int, err error) {
	return f.countedListFrom(t, entrySize, false)
}

// countedListInPlace is countedList returning, from a mapped file, the entries
// where they lie: no copy of a list that is decoded once (a module list of 2,000
// entries is 216 KB of fresh pages to read it into). The caller decodes them
// under guardFault and keeps nothing that points into them.
func (f *File) countedListInPlace(t StreamType, entrySize int) (s *Stream, entries []byte, n int, err error) {
	return f.countedListFrom(t, entrySize, true)
}

func (f *File) countedListFrom(t StreamType, entrySize int, inPlace bool) (s *Stream, entries []byte, n int, err error) {
	s = f.Stream(t)
	if s == nil {
		return nil, nil, 0, noStream(t)
	}
	var data []byte
	if mf := f.mapped; inPlace && mf != nil && s.Available == int64(int(s.Available)) {
		if b, ok := mf.bytes(s.Offset, int(s.Available)); ok {
			f.decoding(s)
			data, err = b, s.Damage
		}
	}
	if data == nil {
		data, err = f.readStream(s, 0)
	}
	if len(data) < 4 {
		if err == nil {
			err = formatErr(t.String(), s.Offset, "stream is %d bytes, too short for its count", len(data))
		}
		return s, nil, 0, err
	}
	declared := int64(binary.LittleEndian.Uint32(data))
	hdr := int64(4)
	if s.Size == 8+declared*int64(entrySize) {
		hdr = 8
	}
	if int64(len(data)) < hdr {
		// The padding itself is cut off by the end of the file.
		if err == nil {
			err = formatErr(t.String(), s.Offset, "stream is %d bytes, too short for its count and padding", len(data))
		}
		return s, nil, 0, err
	}
	fit := (int64(len(data)) - hdr) / int64(entrySize)
	count := declared
	if count > fit {
		if err == nil {
			err = formatErr(t.String(), s.Offset, "%d entries declared, only %d fit in the %d-byte stream", declared, fit, len(data))
		}
		count = fit
	}
	return s, data[hdr : hdr+count*int64(entrySize)], int(count), err
}

// headedList reads a stream that starts with a header giving its own size, the entry
// size and the entry count (MemoryInfoList, UnloadedModuleList, ThreadInfoList,
// HandleData) with one ReadAt. It honours SizeOfHeader and SizeOfEntry so that a newer
// writer's longer header or entries still decode; minEntry is the size of the fields
// this package reads; count64 says the count is a u64.
func (f *File) headedList(t StreamType, minHeader, minEntry int, count64 bool) (s *Stream, data []byte, hdrSize, entrySize, n int, err error) {
	s = f.Stream(t)
	if s == nil {
		return nil, nil, 0, 0, 0, noStream(t)
	}
	data, err = f.readStream(s, 0)
	hs, es, count, herr := parseListHeader(t, s, data, int64(len(data)), minHeader, minEntry, count64)
	if herr != nil {
		if err == nil || len(data) >= minHeader {
			err = herr
		}
		return s, nil, 0, 0, 0, err
	}
	if count.err != nil && err == nil {
		err = count.err
	}
	return s, data, hs, es, count.n, err
}

// listCount is the number of entries that fit, and the damage when fewer fit than
// the header declares.
type listCount struct {
	n   int
	err error
}

// parseListHeader validates the header of a headed list whose stream holds avail
// bytes; hdr holds at least its first minHeader bytes when the stream has them.
func parseListHeader(t StreamType, s *Stream, hdr []byte, avail int64, minHeader, minEntry int, count64 bool) (hs, es int, count listCount, err error) {
	if avail < int64(minHeader) || len(hdr) < minHeader {
		return 0, 0, count, formatErr(t.String(), s.Offset, "stream is %d bytes, too short for its %d-byte header", avail, minHeader)
	}
	h := int64(binary.LittleEndian.Uint32(hdr[0:]))
	e := int64(binary.LittleEndian.Uint32(hdr[4:]))
	var declared int64
	if count64 {
		c := binary.LittleEndian.Uint64(hdr[8:])
		if c > 1<<40 {
			c = 1 << 40 // larger than any file; clamped below by the stream size
		}
		declared = int64(c)
	} else {
		declared = int64(binary.LittleEndian.Uint32(hdr[8:]))
	}
	if h < int64(minHeader) || h > avail {
		return 0, 0, count, formatErr(t.String(), s.Offset, "SizeOfHeader %d is invalid (minimum %d, stream %d bytes)", h, minHeader, avail)
	}
	if e < int64(minEntry) || e > 1<<20 {
		return 0, 0, count, formatErr(t.String(), s.Offset+4, "SizeOfEntry %d is invalid (minimum %d)", e, minEntry)
	}
	fit := (avail - h) / e
	count.n = int(min(declared, fit))
	if declared > fit {
		count.err = formatErr(t.String(), s.Offset, "%d entries declared, only %d fit in the %d-byte stream", declared, fit, avail)
	}
	return int(h), int(e), count, nil
}

// scanChunk is how many entries scanList reads at a time: 48 KB of MemoryInfoList,
// decoded into 40 KB, both in the first- or second-level cache while the caller
// reads them (and fresh pages a process pays for once: 4,096 entries made two
// 160 KB batches a map).
const scanChunk = 1024

// releaseWindow is how much of a mapped list scanList reads before it gives the
// pages back: a reader holds at most this much of the file mapped (the list of a
// million regions is 48 MB).
const releaseWindow = 8 << 20

// scanList walks the entries of a headed list in chunks of up to scanChunk entries,
// so that a caller consuming them holds neither the raw stream nor a decoded copy of
// it. fn gets each chunk's bytes, the entry size (at least minEntry) and the number
// of entries in it. A scan that starts past entry 0 (first) does not count as a
// decode of the stream: it is the second half of a scan split between goroutines.
func (f *File) scanList(t StreamType, first, minHeader, minEntry int, count64 bool, fn func(chunk []byte, es, n int) bool) (done int, err error) {
	s := f.Stream(t)
	if s == nil {
		return 0, noStream(t)
	}
	if first == 0 {
		f.decoding(s)
	}
	hdr := make([]byte, min(int64(minHeader), s.Available))
	if err := f.readAt(hdr, s.Offset, t.String()); err != nil {
		return 0, err
	}
	hs, es, count, err := parseListHeader(t, s, hdr, s.Available, minHeader, minEntry, count64)
	if err != nil {
		if s.Damage != nil && s.Available < int64(minHeader) {
			return 0, s.Damage
		}
		return 0, err
	}
	if count.err == nil {
		count.err = s.Damage
	}
	// A mapped file's chunks are decoded where they lie, with faults (the file
	// truncated meanwhile) turned into an error.
	mf := f.mapped
	if mf != nil {
		defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
		defer guardFault(&err)
	}
	var buf []byte
	// The mapped pages read are given back a window at a time: each release is a
	// system call that makes every core running the process flush its TLB, which
	// per chunk was a tenth of laying out a MemoryInfoList.
	relFrom, relTo := int64(-1), int64(0)
	if mf != nil {
		defer func() {
			if relFrom >= 0 {
				mf.done(relFrom, int(relTo-relFrom))
			}
		}()
	}
	done = min(max(first, 0), count.n)
	for done < count.n {
		k := min(count.n-done, scanChunk)
		off := s.Offset + int64(hs) + int64(done)*int64(es)
		var chunk []byte
		if mf != nil {
			chunk, _ = mf.bytes(off, k*es)
		}
		if chunk == nil {
			if buf == nil {
				buf = make([]byte, min(count.n, scanChunk)*es)
			}
			chunk = buf[:k*es]
			if err := f.readAt(chunk, off, t.String()); err != nil {
				return done, err
			}
		}
		done += k
		more := fn(chunk, es, k)
		if mf != nil {
			if relFrom < 0 {
				relFrom = off
			}
			relTo = off + int64(k*es)
			if relTo-relFrom >= releaseWindow {
				mf.done(relFrom, int(relTo-relFrom))
				relFrom = -1
			}
		}
		if !more {
			return done, count.err
		}
	}
	return done, count.err
}
