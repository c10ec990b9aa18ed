package breakpad_test

import (
	"bytes"
	"os"
	"path/filepath"

	"github.com/dumpmap/dumpmap/analysis/breakpad"
	"github.com/dumpmap/dumpmap/analysis/cab"
	"github.com/dumpmap/dumpmap/analysis/internal/sharedtest"
)

// init adds the corpus CAB store's Breakpad file to the fuzz seeds, read in
// place.
func init() {
	d, ok := sharedtest.Find()
	if !ok {
		return
	}
	fh, err := os.Open(filepath.Join(d, crashCAB))
	if err != nil {
		return
	}
	defer fh.Close()
	st, err := fh.Stat()
	if err != nil {
		return
	}
	c, err := cab.NewReader(fh, st.Size())
	if err != nil {
		return
	}
	var buf bytes.Buffer
	if err := c.Extract(0, &buf, 16<<20); err == nil {
		breakpad.ExternalSeeds = append(breakpad.ExternalSeeds, buf.Bytes())
	}
}
