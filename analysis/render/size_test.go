package render

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/dustin/go-humanize"
)

// TestAppendSize checks appendSize against humanize.IBytes, whose output the text
// formats have always had: every value below 2^14, the values around each power of
// 1024 and each rounding boundary, and 200,000 random values of every magnitude.
func TestAppendSize(t *testing.T) {
	check := func(n uint64) {
		if got, want := string(appendSize(nil, n)), humanize.IBytes(n); got != want {
			t.Fatalf("appendSize(%d) = %q, humanize.IBytes = %q", n, got, want)
		}
	}
	for n := range uint64(1 << 14) {
		check(n)
	}
	for e := uint(10); e < 64; e += 10 {
		p := uint64(1) << e
		for _, m := range []uint64{1, 2, 9, 10, 99, 100, 999, 1000, 1023, 1024} {
			for d := -3; d <= 3; d++ {
				// m.95 * 1024^k and neighbours: where one or two decimals round up.
				for _, frac := range []float64{0, 0.05, 0.5, 0.95, 0.995, 0.9995} {
					v := uint64((float64(m) + frac) * float64(p))
					check(v + uint64(d))
				}
			}
		}
	}
	check(^uint64(0))
	rng := rand.New(rand.NewPCG(7, 8))
	for range 200_000 {
		check(rng.Uint64() >> rng.IntN(64))
	}
}

func BenchmarkAppendSize(b *testing.B) {
	var buf []byte
	n := uint64(0x7ffe1000)
	for b.Loop() {
		buf = appendSize(buf[:0], n)
		n += 0x1000
	}
}

func BenchmarkIBytes(b *testing.B) {
	n := uint64(0x7ffe1000)
	for b.Loop() {
		_ = humanize.IBytes(n)
		n += 0x1000
	}
}

// TestAddrFormat checks AddrFormat.Format against the fmt verb it replaces.
func TestAddrFormat(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	for _, a := range []AddrFormat{8, 16} {
		for _, v := range []uint64{0, 1, 0xffffffff, 0x100000000, 0x7ffe0000, ^uint64(0), rng.Uint64(), rng.Uint64() >> 40} {
			if got, want := a.Format(v), fmt.Sprintf("0x%0*x", int(a), v); got != want {
				t.Errorf("AddrFormat(%d).Format(%#x) = %q, want %q", a, v, got, want)
			}
		}
	}
}
