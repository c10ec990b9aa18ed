package overview

import (
	"encoding/binary"
	"fmt"

	"github.com/dumpmap/dumpmap/analysis/process"
	"github.com/dumpmap/dumpmap/minidump"
)

// The counts below read only a list's header, never its entries: a MemoryInfoList can
// be tens of megabytes and the overview must stay cheap. They bound the declared
// count by what the stream can hold, as the minidump package's decoders do, so they
// agree with the number of entries those decoders return.

// readHeader reads the first n bytes of the stream (fewer if the stream is shorter).
func readHeader(f *minidump.File, s *minidump.Stream, n int) []byte {
	n = int(min(int64(n), s.Available))
	if n <= 0 {
		return nil
	}
	b := make([]byte, n)
	got, _ := f.ReaderAt().ReadAt(b, s.Offset)
	return b[:got]
}

// listCount returns the number of entries of a counted list (ThreadList, ...) that fit
// in the stream, the same as the decoder would return.
func listCount(f *minidump.File, t minidump.StreamType) int {
	s := f.Stream(t)
	if s == nil {
		return 0
	}
	var entry int64
	switch t {
	case minidump.StreamThreadList:
		entry = 48
	case minidump.StreamThreadExList:
		entry = 64
	default:
		return 0
	}
	h := readHeader(f, s, 4)
	if len(h) < 4 {
		return 0
	}
	declared := int64(binary.LittleEndian.Uint32(h))
	hdr := int64(4)
	if s.Size == 8+declared*entry {
		hdr = 8
	}
	fit := max((s.Available-hdr)/entry, 0)
	return int(min(declared, fit))
}

// headedCount returns the number of entries of a list with a SizeOfHeader /
// SizeOfEntry / count header (MemoryInfoList, HandleData) that fit in the stream.
func headedCount(f *minidump.File, t minidump.StreamType, minHeader, minEntry int64, count64 bool, w *warnings) int {
	s := f.Stream(t)
	if s == nil {
		return 0
	}
	h := readHeader(f, s, 16)
	if int64(len(h)) < minHeader {
		return 0
	}
	le := binary.LittleEndian
	hs, es := int64(le.Uint32(h)), int64(le.Uint32(h[4:]))
	var declared int64
	if count64 {
		declared = int64(min(le.Uint64(h[8:]), 1<<40))
	} else {
		declared = int64(le.Uint32(h[8:]))
	}
	if hs < minHeader || hs > s.Available || es < minEntry || es > 1<<20 {
		w.add(&minidump.FormatError{Where: t.String(), Off: s.Offset,
			Msg: fmt.Sprintf("header is invalid (SizeOfHeader %d, SizeOfEntry %d): the list cannot be read", hs, es)})
		return 0
	}
	return int(min(declared, (s.Available-hs)/es))
}

// memoryCounts fills the captured-memory counts from MemoryList and Memory64List.
// Their entries are 16 bytes per range, small next to the memory they describe.
func memoryCounts(p *process.Process, c *Counts, w *warnings) {
	for _, get := range []func() ([]minidump.MemoryRange, error){p.MemoryList, p.Memory64List} {
		rs, err := get()
		w.add(err)
		c.MemoryRanges += len(rs)
		for _, r := range rs {
			c.MemoryBytes += r.Available
			c.MissingBytes += r.Size - r.Available
		}
	}
}
