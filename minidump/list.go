package minidump

import "encoding/binary"

// countedList reads a stream that is a u32 count followed by fixed-size entries
// (ThreadList, ModuleList, MemoryList, ThreadExList) with one ReadAt, and returns the
// bytes of the entries that are really there. Some writers put 4 bytes of padding
// after the count to align the entries to 8; like Breakpad, accept that layout when
// the stream size says so. A count larger than the stream can hold is damage: the
// entries that fit are returned with a *FormatError.
func (f *File) countedList(t StreamType, entrySize int) (s *Stream, entries []byte, n int, err error) {
	s = f.Stream(t)
	if s == nil {
		return nil, nil, 0, noStream(t)
	}
	data, err := f.readStream(s, 0)
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
// HandleData). It honours SizeOfHeader and SizeOfEntry so that a newer writer's longer
// header or entries still decode; minEntry is the size of the fields this package
// reads. countOff and count64 locate the count within the header.
func (f *File) headedList(t StreamType, minHeader, minEntry int, count64 bool) (s *Stream, data []byte, hdrSize, entrySize, n int, err error) {
	s = f.Stream(t)
	if s == nil {
		return nil, nil, 0, 0, 0, noStream(t)
	}
	data, err = f.readStream(s, 0)
	if len(data) < minHeader {
		if err == nil {
			err = formatErr(t.String(), s.Offset, "stream is %d bytes, too short for its %d-byte header", len(data), minHeader)
		}
		return s, nil, 0, 0, 0, err
	}
	hs := int64(binary.LittleEndian.Uint32(data[0:]))
	es := int64(binary.LittleEndian.Uint32(data[4:]))
	var declared int64
	if count64 {
		c := binary.LittleEndian.Uint64(data[8:])
		if c > 1<<40 {
			c = 1 << 40 // larger than any file; clamped below by the stream size
		}
		declared = int64(c)
	} else {
		declared = int64(binary.LittleEndian.Uint32(data[8:]))
	}
	if hs < int64(minHeader) || hs > int64(len(data)) {
		return s, nil, 0, 0, 0, formatErr(t.String(), s.Offset, "SizeOfHeader %d is invalid (minimum %d, stream %d bytes)", hs, minHeader, len(data))
	}
	if es < int64(minEntry) || es > 1<<20 {
		return s, nil, 0, 0, 0, formatErr(t.String(), s.Offset+4, "SizeOfEntry %d is invalid (minimum %d)", es, minEntry)
	}
	fit := (int64(len(data)) - hs) / es
	count := declared
	if count > fit {
		if err == nil {
			err = formatErr(t.String(), s.Offset, "%d entries declared, only %d fit in the %d-byte stream", declared, fit, len(data))
		}
		count = fit
	}
	return s, data, int(hs), int(es), int(count), err
}
