package pe

import "fmt"

// FormatError reports a malformed image. Off is where the bad data is in the
// reader's coordinates: a file offset for the file layout, an RVA for the
// mapped layout; -1 when unknown.
type FormatError struct {
	Off int64
	Msg string
}

// Error formats the message with the offset when known.
func (e *FormatError) Error() string {
	if e.Off < 0 {
		return "pe: " + e.Msg
	}
	return fmt.Sprintf("pe: %s (offset %#x)", e.Msg, e.Off)
}

func formatErr(off int64, format string, args ...any) *FormatError {
	return &FormatError{Off: off, Msg: fmt.Sprintf(format, args...)}
}
