package minidump

import (
	"bytes"

	"github.com/dumpmap/dumpmap/minidump/internal/raw"
)

// Exception is the Exception stream (MINIDUMP_EXCEPTION_STREAM): the exception that
// made the process write the dump, and the thread it happened on.
type Exception struct {
	ThreadID uint32
	Code     ExceptionCode
	Flags    uint32
	// Record is the address of a chained EXCEPTION_RECORD in the process, usually 0.
	Record     uint64
	Address    uint64
	Parameters []uint64
	Context    Location
}

// AccessViolation decodes an access violation's parameters: the operation ("read",
// "write" or "execute (DEP)") and the address accessed.
func (e *Exception) AccessViolation() (op string, addr uint64, ok bool) {
	if (e.Code != ExceptionAccessViolation && e.Code != ExceptionInPageError) || len(e.Parameters) < 2 {
		return "", 0, false
	}
	switch e.Parameters[0] {
	case 0:
		op = "read"
	case 1:
		op = "write"
	case 8:
		op = "execute (DEP)"
	default:
		op = "access"
	}
	return op, e.Parameters[1], true
}

// Exception decodes the Exception stream.
func (f *File) Exception() (*Exception, error) {
	s := f.Stream(StreamException)
	if s == nil {
		return nil, noStream(StreamException)
	}
	data, err := f.readStream(s, 64<<10)
	p := raw.NewProfile()
	es := p.MINIDUMP_EXCEPTION_STREAM(bytes.NewReader(data), 0)
	if len(data) < es.Size() {
		if err == nil {
			err = formatErr("Exception", s.Offset, "stream is %d bytes, need %d", len(data), es.Size())
		}
		return nil, err
	}
	rec := es.ExceptionRecord()
	ctx := es.ThreadContext()
	e := &Exception{
		ThreadID: es.ThreadId(),
		Code:     ExceptionCode(rec.ExceptionCode()),
		Flags:    rec.ExceptionFlags(),
		Record:   rec.ExceptionRecord(),
		Address:  rec.ExceptionAddress(),
		Context:  Location{Size: ctx.DataSize(), RVA: ctx.Rva()},
	}
	params := rec.ExceptionInformation()
	np := int(rec.NumberParameters())
	if np > len(params) {
		if err == nil {
			err = formatErr("Exception", s.Offset+8+24, "NumberParameters is %d, at most %d exist", np, len(params))
		}
		np = len(params)
	}
	e.Parameters = params[:np]
	return e, err
}
