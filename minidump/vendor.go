package minidump

import (
	"bytes"
	"encoding/binary"
	"fmt"

	"github.com/dumpmap/dumpmap/minidump/internal/raw"
)

// BreakpadInfo is Breakpad's info stream: which thread wrote the dump and which asked
// for it.
type BreakpadInfo struct {
	Validity           uint32 // bit 0: DumpThreadID valid; bit 1: RequestingThreadID valid
	DumpThreadID       uint32
	RequestingThreadID uint32
}

// BreakpadInfo decodes the BreakpadInfo stream.
func (f *File) BreakpadInfo() (*BreakpadInfo, error) {
	s := f.Stream(StreamBreakpadInfo)
	if s == nil {
		return nil, noStream(StreamBreakpadInfo)
	}
	data, err := f.readStream(s, 4096)
	p := raw.NewProfile()
	b := p.MD_BREAKPAD_INFO(bytes.NewReader(data), 0)
	if len(data) < b.Size() {
		if err == nil {
			err = formatErr("BreakpadInfo", s.Offset, "stream is %d bytes, need %d", len(data), b.Size())
		}
		return nil, err
	}
	return &BreakpadInfo{Validity: b.Validity(), DumpThreadID: b.DumpThreadId(), RequestingThreadID: b.RequestingThreadId()}, err
}

// CrashpadInfo is Crashpad's info stream: the report and client ids and the process's
// simple annotations (product, version, channel, ...).
type CrashpadInfo struct {
	Version           uint32
	ReportID          GUID
	ClientID          GUID
	SimpleAnnotations map[string]string
}

// maxAnnotations bounds the annotation dictionary.
const maxAnnotations = 4096

// CrashpadInfo decodes the CrashpadInfo stream and its simple annotations.
func (f *File) CrashpadInfo() (*CrashpadInfo, error) {
	s := f.Stream(StreamCrashpadInfo)
	if s == nil {
		return nil, noStream(StreamCrashpadInfo)
	}
	data, err := f.readStream(s, 4096)
	p := raw.NewProfile()
	c := p.MD_CRASHPAD_INFO(bytes.NewReader(data), 0)
	if len(data) < c.Size() {
		if err == nil {
			err = formatErr("CrashpadInfo", s.Offset, "stream is %d bytes, need %d", len(data), c.Size())
		}
		return nil, err
	}
	out := &CrashpadInfo{Version: c.Version()}
	copy(out.ReportID[:], data[4:20])
	copy(out.ClientID[:], data[20:36])
	errs := newErrList(err)
	loc := c.SimpleAnnotations()
	if loc.DataSize() >= 4 {
		out.SimpleAnnotations, err = f.readStringDictionary(int64(loc.Rva()), int64(loc.DataSize()))
		errs.add(err)
	}
	return out, errs.err()
}

// readStringDictionary reads a MinidumpSimpleStringDictionary: u32 count, then pairs of
// RVAs to MinidumpUTF8Strings.
func (f *File) readStringDictionary(off, size int64) (map[string]string, error) {
	const where = "CrashpadInfo simple annotations"
	var cb [4]byte
	if err := f.readAt(cb[:], off, where); err != nil {
		return nil, err
	}
	n := int64(binary.LittleEndian.Uint32(cb[:]))
	if fit := (size - 4) / 8; n > fit || n > maxAnnotations {
		return nil, formatErr(where, off, "%d entries declared, %d fit (limit %d)", n, fit, maxAnnotations)
	}
	buf := make([]byte, n*8)
	if err := f.readAt(buf, off+4, where); err != nil {
		return nil, err
	}
	out := make(map[string]string, n)
	errs := newErrList(nil)
	refs := f.newRefs()
	for i := range n {
		k, err := refs.utf8Str(int64(binary.LittleEndian.Uint32(buf[i*8:])), fmt.Sprintf("%s key %d", where, i))
		errs.add(err)
		v, err := refs.utf8Str(int64(binary.LittleEndian.Uint32(buf[i*8+4:])), fmt.Sprintf("%s value %d", where, i))
		errs.add(err)
		if k != "" {
			out[k] = v
		}
	}
	return out, errs.err()
}
