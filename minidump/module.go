package minidump

import (
	"encoding/binary"
	"fmt"
	"path"
	"runtime/debug"
	"strings"
)

const moduleSize = 108 // sizeof(MINIDUMP_MODULE)

// A Location is a MINIDUMP_LOCATION_DESCRIPTOR: where some data lies in the file.
type Location struct {
	Size uint32
	RVA  uint32
}

// Module is one entry of the ModuleList stream (MINIDUMP_MODULE).
type Module struct {
	Base          uint64
	Size          uint32
	Checksum      uint32
	TimeDateStamp uint32
	Name          string // full path as the writer recorded it
	Version       FixedFileInfo
	CodeView      *CodeView // nil when the module has no CodeView record
	Misc          *MiscRecord
	CvRecord      Location
	MiscRecord    Location
}

// End returns the first address past the module's image.
func (m *Module) End() uint64 { return m.Base + uint64(m.Size) }

// BaseName returns the file name part of Name, accepting both path separators.
func (m *Module) BaseName() string { return BaseName(m.Name) }

// BaseName returns the file-name part of a module path written with either
// separator ("C:\\Windows\\ntdll.dll" -> "ntdll.dll"); "" for an empty path. It is
// the one rule every part of dumpmap names modules by.
func BaseName(p string) string {
	if p == "" {
		return ""
	}
	if p[len(p)-1] != '/' && p[len(p)-1] != '\\' {
		return p[strings.LastIndexAny(p, `\/`)+1:] // the common case, without allocating
	}
	return path.Base(strings.ReplaceAll(p, `\`, "/"))
}

// MiscRecord is a module's IMAGE_DEBUG_MISC record (old-style debug file name).
type MiscRecord struct {
	DataType uint32
	Unicode  bool
	Data     string
}

// Modules decodes the ModuleList stream. Module names, CodeView and misc records are
// read from where the entries point; damage in one of them is reported in the error
// and the module is still returned with what could be read.
func (f *File) Modules() (_ []Module, err error) {
	if f.mapped != nil {
		defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
		defer guardFault(&err)
	}
	_, entries, n, err := f.countedListInPlace(StreamModuleList, moduleSize)
	if n == 0 {
		return nil, err
	}
	errs := newErrList(err)
	mods := make([]Module, n)
	refs := f.newRefsFor(n)
	refs.inPlace = f.mapped != nil // under guardFault (above)
	for i := range mods {
		e := entries[i*moduleSize:]
		m := &mods[i]
		decodeModule(e, m)
		nameRVA := binary.LittleEndian.Uint32(e[20:])
		// The reads are tried with a short label and redone with the entry's full name
		// only when they fail: formatting it for every module of every dump was a tenth
		// of the cost of a batch triage.
		where := func(what string) string { return fmt.Sprintf("ModuleList entry %d %s", i, what) }
		name, nerr := refs.str(int64(nameRVA), "ModuleList")
		if nerr != nil {
			name, nerr = refs.str(int64(nameRVA), where("name"))
		}
		m.Name = name
		errs.add(nerr)
		if m.CvRecord.Size > 0 {
			m.CodeView, nerr = f.readCodeView(m.CvRecord, "ModuleList", refs)
			if nerr != nil {
				m.CodeView, nerr = f.readCodeView(m.CvRecord, where("CodeView record"), refs)
			}
			errs.add(nerr)
		}
		if m.MiscRecord.Size > 0 {
			m.Misc, nerr = f.readMisc(m.MiscRecord, "ModuleList", refs)
			if nerr != nil {
				m.Misc, nerr = f.readMisc(m.MiscRecord, where("misc record"), refs)
			}
			errs.add(nerr)
		}
	}
	return mods, errs.err()
}

// decodeModule decodes the fixed part of a MINIDUMP_MODULE.
func decodeModule(e []byte, m *Module) {
	le := binary.LittleEndian
	m.Base = le.Uint64(e[0:])
	m.Size = le.Uint32(e[8:])
	m.Checksum = le.Uint32(e[12:])
	m.TimeDateStamp = le.Uint32(e[16:])
	// Field by field: a composite literal is copied in with stalls (see
	// decodeMemoryInfo).
	v, x := e[24:24+52], &m.Version
	x.Signature, x.StrucVersion = le.Uint32(v[0:]), le.Uint32(v[4:])
	x.FileVersionMS, x.FileVersionLS = le.Uint32(v[8:]), le.Uint32(v[12:])
	x.ProductVersionMS, x.ProductVersionLS = le.Uint32(v[16:]), le.Uint32(v[20:])
	x.FileFlagsMask, x.FileFlags, x.FileOS = le.Uint32(v[24:]), le.Uint32(v[28:]), le.Uint32(v[32:])
	x.FileType, x.FileSubtype = le.Uint32(v[36:]), le.Uint32(v[40:])
	x.FileDateMS, x.FileDateLS = le.Uint32(v[44:]), le.Uint32(v[48:])
	m.CvRecord = Location{Size: le.Uint32(e[76:]), RVA: le.Uint32(e[80:])}
	m.MiscRecord = Location{Size: le.Uint32(e[84:]), RVA: le.Uint32(e[88:])}
}

func (f *File) readCodeView(loc Location, where string, r *refs) (*CodeView, error) {
	if loc.Size > maxCVRecord {
		return nil, formatErr(where, int64(loc.RVA), "record is %d bytes, more than the %d accepted", loc.Size, maxCVRecord)
	}
	if err := f.checkRange(int64(loc.RVA), int64(loc.Size), where); err != nil {
		return nil, err
	}
	if err := r.take(int64(loc.Size), int64(loc.RVA), where); err != nil {
		return nil, err
	}
	b, err := f.readRef(r, int64(loc.RVA), int(loc.Size), where) // ParseCodeView copies what it keeps
	if err != nil {
		return nil, err
	}
	cv, err := ParseCodeView(b)
	if err != nil {
		return nil, formatErr(where, int64(loc.RVA), "%v", err)
	}
	return cv, nil
}

func (f *File) readMisc(loc Location, where string, r *refs) (*MiscRecord, error) {
	if loc.Size > maxCVRecord {
		return nil, formatErr(where, int64(loc.RVA), "record is %d bytes, more than the %d accepted", loc.Size, maxCVRecord)
	}
	if loc.Size < 12 {
		return nil, formatErr(where, int64(loc.RVA), "record is %d bytes, need at least 12", loc.Size)
	}
	if err := f.checkRange(int64(loc.RVA), int64(loc.Size), where); err != nil {
		return nil, err
	}
	if err := r.take(int64(loc.Size), int64(loc.RVA), where); err != nil {
		return nil, err
	}
	b := make([]byte, loc.Size)
	if err := f.readAt(b, int64(loc.RVA), where); err != nil {
		return nil, err
	}
	m := &MiscRecord{DataType: binary.LittleEndian.Uint32(b), Unicode: b[8] != 0}
	if m.Unicode {
		m.Data = decodeUTF16(b[12:])
	} else {
		d := b[12:]
		for i, c := range d {
			if c == 0 {
				d = d[:i]
				break
			}
		}
		m.Data = string(d)
	}
	return m, nil
}

// UnloadedModule is one entry of the UnloadedModuleList stream.
type UnloadedModule struct {
	Base          uint64
	Size          uint32
	Checksum      uint32
	TimeDateStamp uint32
	Name          string
}

// UnloadedModules decodes the UnloadedModuleList stream.
func (f *File) UnloadedModules() ([]UnloadedModule, error) {
	_, data, hs, es, n, err := f.headedList(StreamUnloadedModuleList, 12, 24, false)
	errs := newErrList(err)
	out := make([]UnloadedModule, n)
	le := binary.LittleEndian
	refs := f.newRefs()
	for i := range out {
		e := data[hs+i*es:]
		u := &out[i]
		u.Base, u.Size, u.Checksum, u.TimeDateStamp = le.Uint64(e), le.Uint32(e[8:]), le.Uint32(e[12:]), le.Uint32(e[16:])
		name, nerr := refs.str(int64(le.Uint32(e[20:])), fmt.Sprintf("UnloadedModuleList entry %d name", i))
		u.Name = name
		errs.add(nerr)
	}
	return out, errs.err()
}
