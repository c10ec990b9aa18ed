package symstore

import (
	"io"

	"github.com/dumpmap/dumpmap/analysis/cab"
)

// isCAB reports whether the file at r starts with the cabinet magic. The
// cabinets themselves (the "name.pd_" files servers serve and stores keep) are
// read by package cab.
func isCAB(r io.ReaderAt) bool {
	var m [4]byte
	_, err := r.ReadAt(m[:], 0)
	return err == nil && string(m[:]) == cab.Magic
}
