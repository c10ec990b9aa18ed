package pdb

import "fmt"

// FormatError reports a malformed PDB. Off is the file offset of the bad
// data when it is known, or -1; Stream is the MSF stream it belongs to, or -1.
type FormatError struct {
	Off    int64
	Stream int
	Msg    string
}

// Error formats the message with the stream and file offset when known.
func (e *FormatError) Error() string {
	switch {
	case e.Stream >= 0 && e.Off >= 0:
		return fmt.Sprintf("pdb: stream %d: %s (file offset %#x)", e.Stream, e.Msg, e.Off)
	case e.Stream >= 0:
		return fmt.Sprintf("pdb: stream %d: %s", e.Stream, e.Msg)
	case e.Off >= 0:
		return fmt.Sprintf("pdb: %s (file offset %#x)", e.Msg, e.Off)
	}
	return "pdb: " + e.Msg
}

func formatErr(off int64, format string, args ...any) *FormatError {
	return &FormatError{Off: off, Stream: -1, Msg: fmt.Sprintf(format, args...)}
}
