package minidump

import (
	"errors"
	"fmt"
)

// ErrNoStream is returned (wrapped) by an accessor whose stream is not in the dump.
// Test for it with errors.Is.
var ErrNoStream = errors.New("stream not present")

// A FormatError reports that the file is damaged or does not follow the minidump
// format at a given place.
type FormatError struct {
	// Where names the stream or structure being read ("ModuleList", "header",
	// "stream directory", ...).
	Where string
	// Off is the file offset of the offending bytes.
	Off int64
	// Msg says what is wrong.
	Msg string
}

func (e *FormatError) Error() string {
	if e.Where == "" {
		return fmt.Sprintf("minidump: at offset %#x: %s", e.Off, e.Msg)
	}
	return fmt.Sprintf("minidump: %s at offset %#x: %s", e.Where, e.Off, e.Msg)
}

func formatErr(where string, off int64, format string, args ...any) *FormatError {
	return &FormatError{Where: where, Off: off, Msg: fmt.Sprintf(format, args...)}
}

// A NotMinidumpError is returned by New and Open when the file is not a minidump at
// all. LooksLike says what it appears to be instead, for a one-line message such as
// "not a minidump: looks like a Windows kernel dump (PAGEDU64)".
type NotMinidumpError struct {
	LooksLike string
}

func (e *NotMinidumpError) Error() string {
	return "not a minidump: looks like " + e.LooksLike
}

// noStream returns the error an accessor gives when its stream is absent.
func noStream(t StreamType) error {
	return fmt.Errorf("minidump: %v: %w", t, ErrNoStream)
}
