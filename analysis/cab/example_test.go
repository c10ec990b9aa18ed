package cab_test

import (
	"bytes"
	"fmt"
	"log"
	"os"
	"strings"

	"github.com/dumpmap/dumpmap/analysis/cab"
)

// List a cabinet's files and extract one, with a limit on its size.
func Example() {
	data, err := os.ReadFile("testdata/multi.cab")
	if err != nil {
		log.Fatal(err)
	}
	c, err := cab.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		log.Fatal(err)
	}
	for _, f := range c.Files {
		// Names come from the file: show them, never use them as paths.
		fmt.Printf("%q %d bytes (%s)\n", strings.ReplaceAll(f.Name, `\`, "/"), f.Size, c.Folders[f.Folder].Compression)
	}
	var out bytes.Buffer
	if err := c.Extract(0, &out, 64<<20); err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%s", strings.SplitAfter(out.String(), "\n")[0])
	// Output:
	// "Report.wer" 21270 bytes (MSZIP)
	// "sub/WERInternalMetadata.xml" 14521 bytes (MSZIP)
	// "memory.bin" 65000 bytes (MSZIP)
	// "empty.txt" 0 bytes (MSZIP)
	// Sig[0].Name=Parameter 0
}
