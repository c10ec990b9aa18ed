package minidump

import (
	"encoding/binary"
	"fmt"
)

// Handle is one descriptor of the HandleData stream (MINIDUMP_HANDLE_DESCRIPTOR or
// _2): an open handle of the process.
type Handle struct {
	Handle        uint64
	TypeName      string // "File", "Event", "Section", ...
	ObjectName    string
	Attributes    uint32
	GrantedAccess uint32
	HandleCount   uint32
	PointerCount  uint32
	ObjectInfoRVA uint32 // descriptor version 2 only
}

// Handles decodes the HandleData stream, descriptor versions 1 (32 bytes) and 2
// (40 bytes), with type and object names.
func (f *File) Handles() ([]Handle, error) {
	_, data, hs, es, n, err := f.headedList(StreamHandleData, 16, 32, false)
	errs := newErrList(err)
	out := make([]Handle, n)
	le := binary.LittleEndian
	v2 := es >= 40 // MINIDUMP_HANDLE_DESCRIPTOR_2
	// Names repeat ("File", "Event"...): refs reads each RVA once.
	refs := f.newRefs()
	name := func(rva uint32, i int, what string) string {
		if rva == 0 {
			return ""
		}
		s, nerr := refs.str(int64(rva), fmt.Sprintf("HandleData descriptor %d %s", i, what))
		if nerr != nil {
			refs.utf16[int64(rva)] = s // report a damaged name once
		}
		errs.add(nerr)
		return s
	}
	for i := range out {
		e := data[hs+i*es:]
		h := &out[i]
		h.Handle = le.Uint64(e)
		h.TypeName = name(le.Uint32(e[8:]), i, "type name")
		h.ObjectName = name(le.Uint32(e[12:]), i, "object name")
		h.Attributes, h.GrantedAccess = le.Uint32(e[16:]), le.Uint32(e[20:])
		h.HandleCount, h.PointerCount = le.Uint32(e[24:]), le.Uint32(e[28:])
		if v2 {
			h.ObjectInfoRVA = le.Uint32(e[32:])
		}
	}
	return out, errs.err()
}
