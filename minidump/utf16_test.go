package minidump

import (
	"encoding/binary"
	"math/rand/v2"
	"testing"
	"unicode/utf16"
)

// decodeUTF16Ref is the straightforward decoder decodeUTF16 replaced: the fast one
// must agree with it on every input.
func decodeUTF16Ref(b []byte) string {
	u := make([]uint16, 0, len(b)/2)
	for i := 0; i+1 < len(b); i += 2 {
		c := binary.LittleEndian.Uint16(b[i:])
		if c == 0 {
			break
		}
		u = append(u, c)
	}
	return string(utf16.Decode(u))
}

func TestDecodeUTF16MatchesReference(t *testing.T) {
	units := []uint16{'a', 'Z', 0x7f, 0x80, 0xe9, 0x3b1, 0x4e2d, 0xfffd, 0xffff, 0xd800, 0xdbff, 0xdc00, 0xdfff, 0xd83d, 0xde00, 0}
	rng := rand.New(rand.NewPCG(1, 2))
	for n := range 20000 {
		k := rng.IntN(12)
		b := make([]byte, 0, 2*k+1)
		for range k {
			var c uint16
			if rng.IntN(4) == 0 {
				c = uint16(rng.Uint32())
			} else {
				c = units[rng.IntN(len(units))]
			}
			b = binary.LittleEndian.AppendUint16(b, c)
		}
		if n%3 == 0 {
			b = append(b, 0x41) // an odd trailing byte
		}
		if got, want := decodeUTF16(b), decodeUTF16Ref(b); got != want {
			t.Fatalf("% x: %q, want %q", b, got, want)
		}
	}
	long := make([]byte, 0, 2000)
	for i := range 1000 {
		long = binary.LittleEndian.AppendUint16(long, uint16('a'+i%26))
	}
	if decodeUTF16(long) != decodeUTF16Ref(long) {
		t.Fatal("long string differs")
	}
}

func FuzzDecodeUTF16(f *testing.F) {
	f.Add([]byte{0x3d, 0xd8, 0x00, 0xde, 'a', 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		if got, want := decodeUTF16(b), decodeUTF16Ref(b); got != want {
			t.Fatalf("% x: %q, want %q", b, got, want)
		}
	})
}
