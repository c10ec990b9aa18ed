package minidump

import (
	"encoding/binary"
	"fmt"
	"io"
	"runtime/debug"
	"slices"
	"sort"
	"strings"

	"github.com/dumpmap/dumpmap/internal/keysort"
)

// A MemoryRange is a range of process memory captured in the dump (an entry of the
// MemoryList or Memory64List stream).
type MemoryRange struct {
	Start uint64 // virtual address
	Size  uint64 // bytes the writer declared
	// Offset is where the bytes are in the file; Available is how many of them the
	// file really holds (less than Size when the dump is truncated).
	Offset    int64
	Available uint64
	// Source is StreamMemoryList or StreamMemory64List.
	Source StreamType
}

// End returns the first virtual address past the range.
func (r MemoryRange) End() uint64 { return r.Start + r.Size }

// MemoryList decodes the MemoryList stream.
func (f *File) MemoryList() (_ []MemoryRange, err error) {
	if f.mapped != nil {
		defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
		defer guardFault(&err)
	}
	_, entries, n, err := f.countedListInPlace(StreamMemoryList, 16)
	errs := newErrList(err)
	out := make([]MemoryRange, n)
	le := binary.LittleEndian
	for i := range out {
		e := entries[i*16:]
		r := MemoryRange{Start: le.Uint64(e), Size: uint64(le.Uint32(e[8:])), Offset: int64(le.Uint32(e[12:])), Source: StreamMemoryList}
		r.Available = f.available(r.Offset, r.Size)
		if r.Available < r.Size {
			errs.add(formatErr(fmt.Sprintf("MemoryList entry %d", i), r.Offset,
				"data for %#x+%#x extends past the end of the file: %d of %d bytes present", r.Start, r.Size, r.Available, r.Size))
		}
		out[i] = r
	}
	return out, errs.err()
}

// available returns how many of size bytes at off exist in the file.
func (f *File) available(off int64, size uint64) uint64 {
	if off < 0 || off >= f.size {
		return 0
	}
	return min(size, uint64(f.size-off))
}

// Memory64List decodes the Memory64List stream of a full-memory dump. The data of the
// ranges lies back to back from the list's BaseRva.
func (f *File) Memory64List() ([]MemoryRange, error) {
	s := f.Stream(StreamMemory64List)
	if s == nil {
		return nil, noStream(StreamMemory64List)
	}
	data, err := f.readStream(s, 0)
	if len(data) < 16 {
		if err == nil {
			err = formatErr("Memory64List", s.Offset, "stream is %d bytes, too short for its 16-byte header", len(data))
		}
		return nil, err
	}
	le := binary.LittleEndian
	declared := le.Uint64(data)
	base := le.Uint64(data[8:])
	fit := uint64(len(data)-16) / 16
	count := declared
	if count > fit {
		if err == nil {
			err = formatErr("Memory64List", s.Offset, "%d ranges declared, only %d fit in the %d-byte stream", declared, fit, len(data))
		}
		count = fit
	}
	errs := newErrList(err)
	out := make([]MemoryRange, count)
	off := base
	reported := false
	for i := range out {
		e := data[16+i*16:]
		r := MemoryRange{Start: le.Uint64(e), Size: le.Uint64(e[8:]), Source: StreamMemory64List}
		if off > uint64(f.size) {
			r.Offset = f.size
		} else {
			r.Offset = int64(off)
		}
		r.Available = f.available(r.Offset, r.Size)
		if r.Available < r.Size && !reported {
			// One message is enough: every later range is missing too.
			errs.add(formatErr("Memory64List", r.Offset, "range %d (%#x+%#x) and those after it extend past the end of the file (%#x): the dump is truncated", i, r.Start, r.Size, f.size))
			reported = true
		}
		out[i] = r
		if off+r.Size < off {
			errs.add(formatErr("Memory64List", s.Offset+16+int64(i)*16, "range sizes overflow"))
			out = out[:i+1]
			break
		}
		off += r.Size
	}
	return out, errs.err()
}

// Memory gives access to the process memory captured in a dump, by virtual address.
type Memory struct {
	r      io.ReaderAt
	ranges []MemoryRange // sorted by Start, overlaps trimmed
}

// Memory collects the MemoryList and Memory64List ranges into a reader by virtual
// address. The error reports damage in either list; the ranges that are intact are
// still readable. Where ranges overlap (a thread's stack captured twice, say) the
// first range wins.
func (f *File) Memory() (*Memory, error) {
	var all []MemoryRange // the lists just decoded: newMemory may filter them in place
	errs := newErrList(nil)
	if f.HasStream(StreamMemoryList) {
		r, err := f.MemoryList()
		all = r
		errs.add(err)
	}
	if f.HasStream(StreamMemory64List) {
		r, err := f.Memory64List()
		all = append(all, r...)
		errs.add(err)
	}
	return newMemory(f.r, all), errs.err()
}

// NewMemory builds the reader by virtual address from lists of captured ranges
// already decoded (the MemoryList's and the Memory64List's, in that order), as
// Memory does: a caller that keeps the lists need not decode them twice.
func (f *File) NewMemory(lists ...[]MemoryRange) *Memory {
	var all []MemoryRange
	for _, l := range lists {
		all = append(all, l...)
	}
	return newMemory(f.r, all)
}

// newMemory takes all, a slice its callers made for it: it is filtered in place.
func newMemory(r io.ReaderAt, all []MemoryRange) *Memory {
	rs := all[:0]
	for _, x := range all {
		if x.Size > 0 && x.End() > x.Start {
			rs = append(rs, x)
		}
	}
	// The ranges of a MiniDumpNormal are in the order the writer found them; a
	// radix sort keeps 60,000 of them from costing more than the rest of the dump.
	rs = keysort.Sorted(rs, func(r *MemoryRange) uint64 { return r.Start })
	// Trim overlaps so lookups can binary-search disjoint ranges.
	out := rs[:0]
	for _, x := range rs {
		if n := len(out); n > 0 && x.Start < out[n-1].End() {
			prev := out[n-1]
			if x.End() <= prev.End() {
				continue
			}
			cut := prev.End() - x.Start
			x.Start += cut
			x.Size -= cut
			x.Offset += int64(cut)
			if x.Available > cut {
				x.Available -= cut
			} else {
				x.Available = 0
			}
		}
		out = append(out, x)
	}
	return &Memory{r: r, ranges: out}
}

// Ranges returns the captured ranges, sorted and without overlaps.
func (m *Memory) Ranges() []MemoryRange { return m.ranges }

// TotalSize returns the number of bytes captured.
func (m *Memory) TotalSize() uint64 {
	var t uint64
	for _, r := range m.ranges {
		t += r.Available
	}
	return t
}

// find returns the index of the first range whose end is above va.
func (m *Memory) find(va uint64) int {
	return sort.Search(len(m.ranges), func(i int) bool { return m.ranges[i].End() > va })
}

// Contains reports whether every byte of [va, va+n) was captured.
func (m *Memory) Contains(va, n uint64) bool {
	return len(m.missing(va, n)) == 0
}

// An AddrRange is a half-open range of virtual addresses [Start, End).
type AddrRange struct{ Start, End uint64 }

func (a AddrRange) String() string { return fmt.Sprintf("%#x-%#x", a.Start, a.End) }

// A MissingMemoryError reports the parts of a read that the dump did not capture.
type MissingMemoryError struct {
	Addr    uint64      // start of the read
	Len     uint64      // length of the read
	Missing []AddrRange // exactly the addresses that were not captured, in order
}

func (e *MissingMemoryError) Error() string {
	if len(e.Missing) == 0 {
		return fmt.Sprintf("minidump: memory %#x+%#x: the read runs past the top of the address space", e.Addr, e.Len)
	}
	parts := make([]string, 0, min(len(e.Missing), 4))
	for i, r := range e.Missing {
		if i == 4 {
			parts = append(parts, fmt.Sprintf("and %d more", len(e.Missing)-4))
			break
		}
		parts = append(parts, r.String())
	}
	var miss uint64
	for _, r := range e.Missing {
		miss += r.End - r.Start
	}
	return fmt.Sprintf("minidump: memory %#x+%#x: %d bytes not captured in the dump (%s)", e.Addr, e.Len, miss, strings.Join(parts, ", "))
}

// missing lists the addresses of [va, va+n) that no range holds.
func (m *Memory) missing(va, n uint64) []AddrRange {
	end := va + n
	if end < va {
		end = ^uint64(0)
	}
	var miss []AddrRange
	cur := va
	for i := m.find(va); cur < end; i++ {
		if i >= len(m.ranges) || m.ranges[i].Start >= end {
			miss = append(miss, AddrRange{cur, end})
			break
		}
		r := m.ranges[i]
		if r.Start > cur {
			miss = append(miss, AddrRange{cur, r.Start})
		}
		availEnd := r.Start + r.Available
		if availEnd < r.End() && availEnd < end {
			// The file was cut short inside this range.
			miss = append(miss, AddrRange{max(cur, availEnd), min(r.End(), end)})
		}
		cur = r.End()
	}
	return mergeRanges(miss)
}

func mergeRanges(rs []AddrRange) []AddrRange {
	out := rs[:0]
	for _, r := range rs {
		if r.End <= r.Start {
			continue
		}
		if n := len(out); n > 0 && out[n-1].End >= r.Start {
			out[n-1].End = max(out[n-1].End, r.End)
			continue
		}
		out = append(out, r)
	}
	return out
}

// ReadAt reads len(p) bytes of process memory starting at virtual address va,
// crossing from one captured range into the next where they are adjacent. It fills
// every byte the dump captured and returns how many that was. If any byte was not
// captured, those bytes of p are zeroed and the error is a *MissingMemoryError that
// lists exactly which addresses are missing; a file read error is returned as is.
func (m *Memory) ReadAt(p []byte, va uint64) (n int, err error) {
	clear(p)
	want := len(p)
	end := va + uint64(len(p))
	if end < va {
		// Addresses past the top of the address space do not exist: the bytes
		// for them stay zero and the read is short.
		end = ^uint64(0)
		p = p[:end-va]
	}
	for i := m.find(va); i < len(m.ranges) && m.ranges[i].Start < end; i++ {
		r := m.ranges[i]
		lo := max(va, r.Start)
		hi := min(end, r.Start+r.Available)
		if hi <= lo {
			continue
		}
		dst := p[lo-va : hi-va]
		got, rerr := m.r.ReadAt(dst, r.Offset+int64(lo-r.Start))
		n += got
		if got < len(dst) {
			if rerr == nil || rerr == io.EOF {
				rerr = io.ErrUnexpectedEOF
			}
			return n, fmt.Errorf("minidump: reading memory %#x from file offset %#x: %w", lo, r.Offset+int64(lo-r.Start), rerr)
		}
	}
	if n < want {
		return n, &MissingMemoryError{Addr: va, Len: uint64(want), Missing: m.missing(va, uint64(len(p)))}
	}
	return n, nil
}

// Read returns n bytes at va; see ReadAt. n is capped at 64 MiB.
func (m *Memory) Read(va uint64, n int) ([]byte, error) {
	if n < 0 || n > 64<<20 {
		return nil, fmt.Errorf("minidump: read of %d bytes refused (limit 64 MiB)", n)
	}
	p := make([]byte, n)
	_, err := m.ReadAt(p, va)
	return p, err
}

// ReadUint32 reads a little-endian uint32 at va.
func (m *Memory) ReadUint32(va uint64) (uint32, error) {
	var b [4]byte
	if _, err := m.ReadAt(b[:], va); err != nil {
		return 0, err
	}
	return binary.LittleEndian.Uint32(b[:]), nil
}

// ReadUint64 reads a little-endian uint64 at va.
func (m *Memory) ReadUint64(va uint64) (uint64, error) {
	var b [8]byte
	if _, err := m.ReadAt(b[:], va); err != nil {
		return 0, err
	}
	return binary.LittleEndian.Uint64(b[:]), nil
}

// ReadPointer reads a pointer of size bytes (4 or 8) at va.
func (m *Memory) ReadPointer(va uint64, size int) (uint64, error) {
	if size == 4 {
		v, err := m.ReadUint32(va)
		return uint64(v), err
	}
	return m.ReadUint64(va)
}

// Covering returns the captured ranges that overlap [va, va+n).
func (m *Memory) Covering(va, n uint64) []MemoryRange {
	end := va + n
	var out []MemoryRange
	for i := m.find(va); i < len(m.ranges) && m.ranges[i].Start < end; i++ {
		out = append(out, m.ranges[i])
	}
	return slices.Clip(out)
}
