package render

import (
	"bytes"
	"testing"

	"github.com/dumpmap/dumpmap/minidump"
)

// TestHexdump checks the layout against xxd's: "xxd -g 2" of the same bytes prints
// the same columns (with offsets for addresses), and missing bytes are "??".
func TestHexdump(t *testing.T) {
	var b bytes.Buffer
	buf := []byte("MZ\x90\x00ABCDEFGHIJKLMNOPQRSTUVWXYZ")
	hexdump(&b, 0x401000, buf, []minidump.AddrRange{{Start: 0x401004, End: 0x401006}}, 8, 16, 2)
	want := "00401000: 4d5a 9000 ???? 4344 4546 4748 494a 4b4c  MZ..??CDEFGHIJKL\n" +
		"00401010: 4d4e 4f50 5152 5354 5556 5758 595a       MNOPQRSTUVWXYZ\n"
	if b.String() != want {
		t.Errorf("hexdump:\n%s\nwant:\n%s", b.String(), want)
	}
	b.Reset()
	hexdump(&b, 0x10, []byte{1, 2, 3, 4, 5}, nil, 16, 4, 4)
	if want := "0000000000000010: 01020304  ....\n0000000000000014: 05        .\n"; b.String() != want {
		t.Errorf("hexdump cols 4:\n%q\nwant\n%q", b.String(), want)
	}
}
