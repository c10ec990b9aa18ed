package render

import (
	"io"

	"github.com/dumpmap/dumpmap/minidump"
)

// Output is one command's result: the value a NewXxx function returns. Its
// exported fields are the command's JSON object.
type Output interface {
	// WriteText writes the text `dumpmap COMMAND` prints.
	WriteText(w io.Writer) error
	// WriteJSON writes the one JSON object `dumpmap COMMAND --json` prints.
	WriteJSON(w io.Writer) error
}

// TimeLayout is how the text output writes a time: "2006-01-02 15:04:05 UTC".
const TimeLayout = "2006-01-02 15:04:05 UTC"

// dumpAddr returns the address format of the dump in p: its architecture's
// pointer width (a WOW64 process's dump is 64-bit), 64-bit when unknown.
func dumpAddr(f *minidump.File) AddrFormat {
	if si, err := f.SystemInfo(); err == nil && si.Arch.PointerSize() == 4 {
		return AddrFormatFor(32)
	}
	return AddrFormatFor(64)
}
