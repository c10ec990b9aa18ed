package analysis_test

import (
	"testing"

	"github.com/dumpmap/dumpmap/analysis"
)

func TestParseSize(t *testing.T) {
	cases := []struct {
		in   string
		want uint64
		err  bool
	}{
		{"65536", 65536, false}, {"0x10000", 0x10000, false}, {"50K", 50 << 10, false}, {"50KB", 50 << 10, false},
		{"50KiB", 50 << 10, false}, {"1MiB", 1 << 20, false}, {"1M+1", 1<<20 + 1, false}, {"1.5M", 3 << 19, false},
		{"2G", 2 << 30, false}, {"256m", 256 << 20, false}, {"1,024", 1024, false}, {"", 0, true}, {"K", 0, true},
		{"12Q", 0, true}, {"0xZZ", 0, true}, {"99999999999999999999", 0, true}, {"20000000T", 0, true}, {"-1", 0, true},
	}
	for _, c := range cases {
		got, err := analysis.ParseSize(c.in)
		if (err != nil) != c.err || got != c.want {
			t.Errorf("ParseSize(%q) = %d, %v; want %d, err %v", c.in, got, err, c.want, c.err)
		}
	}
}

func TestParseAddress(t *testing.T) {
	cases := []struct {
		in   string
		want uint64
		err  bool
	}{
		{"0x7ffe0000", 0x7ffe0000, false}, {"7ffe0000", 0x7ffe0000, false}, {"7ff6`a1b01234", 0x7ff6a1b01234, false},
		{"2G", 0x80000000, false}, {"4GB", 1 << 32, false}, {"abcdef", 0xabcdef, false}, {"xyz", 0, true}, {"", 0, true},
	}
	for _, c := range cases {
		got, err := analysis.ParseAddress(c.in)
		if (err != nil) != c.err || got != c.want {
			t.Errorf("ParseAddress(%q) = %#x, %v; want %#x, err %v", c.in, got, err, c.want, c.err)
		}
	}
}
