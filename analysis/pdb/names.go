package pdb

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
)

// maxNamedStreams bounds the named stream map: real PDBs have a handful
// (/names, /LinkInfo, /src/headerblock, one per embedded source file).
const maxNamedStreams = 1 << 16

// parseNamedStreams decodes the named stream map that follows the PDB info
// stream header: a string buffer, then a hash table of (name offset, stream)
// pairs with present and deleted bit vectors (LLVM's NamedStreamMap and
// HashTable, llvm/lib/DebugInfo/PDB/Native/NamedStreamMap.cpp).
func parseNamedStreams(b []byte) (map[string]int, error) {
	bad := func(format string, args ...any) error {
		return &FormatError{Off: -1, Stream: streamInfo, Msg: "named stream map: " + fmt.Sprintf(format, args...)}
	}
	le := binary.LittleEndian
	r := b[28:]
	u32 := func() (uint32, bool) {
		if len(r) < 4 {
			return 0, false
		}
		v := le.Uint32(r)
		r = r[4:]
		return v, true
	}
	strSize, ok := u32()
	if !ok || uint64(strSize) > uint64(len(r)) {
		return nil, bad("string buffer exceeds the stream")
	}
	strs := r[:strSize]
	r = r[strSize:]
	size, ok1 := u32()
	capacity, ok2 := u32()
	if !ok1 || !ok2 || size > capacity || size > maxNamedStreams {
		return nil, bad("bad hash table size %d of %d", size, capacity)
	}
	bitVector := func() ([]uint32, bool) {
		n, ok := u32()
		if !ok || uint64(n) > uint64(len(r))/4 {
			return nil, false
		}
		w := make([]uint32, n)
		for i := range w {
			w[i] = le.Uint32(r[4*i:])
		}
		r = r[4*n:]
		return w, true
	}
	present, ok1 := bitVector()
	_, ok2 = bitVector() // deleted buckets hold nothing
	if !ok1 || !ok2 {
		return nil, bad("bit vectors exceed the stream")
	}
	out := map[string]int{}
	for w, word := range present {
		for bit := 0; bit < 32; bit++ {
			if word&(1<<bit) == 0 {
				continue
			}
			if uint64(w)*32+uint64(bit) >= uint64(capacity) {
				return out, bad("present bucket beyond the capacity")
			}
			key, ok1 := u32()
			val, ok2 := u32()
			if !ok1 || !ok2 {
				return out, bad("entries exceed the stream")
			}
			if len(out) >= maxNamedStreams {
				return out, bad("too many entries")
			}
			if key >= uint32(len(strs)) {
				continue
			}
			out[cString(strs[key:])] = int(val)
		}
	}
	return out, nil
}

// stringTable is the /names stream: the PDB-wide string table that C13
// file checksums and FRAMEDATA programs point into.
type stringTable struct {
	buf []byte
}

const stringTableMagic = 0xEFFEEFFE

// ErrNoNames is returned when the PDB has no /names stream.
var ErrNoNames = errors.New("pdb: no /names string table")

// parseStringTable reads the header (signature, hash version, byte size)
// and keeps the string buffer; the hash buckets after it are not needed to
// resolve offsets.
func parseStringTable(b []byte, stream int) (*stringTable, error) {
	le := binary.LittleEndian
	if len(b) < 12 || le.Uint32(b) != stringTableMagic {
		return nil, &FormatError{Off: -1, Stream: stream, Msg: "/names: bad string table header"}
	}
	n := le.Uint32(b[8:])
	if uint64(n) > uint64(len(b)-12) {
		return nil, &FormatError{Off: -1, Stream: stream, Msg: fmt.Sprintf("/names: %d bytes of strings in a %d-byte stream", n, len(b))}
	}
	return &stringTable{buf: b[12 : 12+n]}, nil
}

// at returns the NUL-terminated string at offset off.
func (t *stringTable) at(off uint32) (string, bool) {
	if t == nil || uint64(off) >= uint64(len(t.buf)) {
		return "", false
	}
	s := t.buf[off:]
	if i := bytes.IndexByte(s, 0); i >= 0 {
		return string(s[:i]), true
	}
	return string(s), true
}

// stringTable returns the /names table, reading it once.
func (f *File) stringTable() (*stringTable, error) {
	f.namesOnce.Do(func() {
		if f.namedErr != nil && f.named == nil {
			f.namesErr = f.namedErr
			return
		}
		i, ok := f.named["/names"]
		if !ok {
			f.namesErr = ErrNoNames
			return
		}
		if _, ok := f.m.streamSize(i); !ok {
			f.namesErr = ErrNoNames
			return
		}
		b, err := f.m.readStream(i)
		if err != nil {
			f.namesErr = err
			return
		}
		f.names, f.namesErr = parseStringTable(b, i)
	})
	return f.names, f.namesErr
}
