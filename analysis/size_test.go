package analysis_test

import (
	"testing"

	"github.com/dumpmap/dumpmap/analysis"
)

func TestParseSize(t *testing.T) {
	good := map[string]uint64{
		"0": 0, "4096": 4096, "65536": 65536, "0x1000": 4096, "0X1F": 31, "4K": 4096, "4k": 4096, "4KB": 4096, "4KiB": 4096,
		"50K": 50 << 10, "1MiB": 1 << 20, "1.5M": 3 << 19, "2G": 2 << 30, "2GB": 2 << 30, "1T": 1 << 40, "12B": 12,
		"00000000`7ffe0000": 0x7ffe0000, "7ff6`a0000000": 0x7ff6a0000000, "1_000": 1000, "1,024": 1024,
		"0xffffffffffffffff": 1<<64 - 1, "1M+1": 1<<20 + 1, "256m": 256 << 20,
	}
	for in, want := range good {
		got, err := analysis.ParseSize(in)
		if err != nil || got != want {
			t.Errorf("ParseSize(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", "x", "K", "0x", "0xg", "0xZZ", "-1", "1.5", "1.1K", "12Q", "16777216T", "20000000T",
		"0x10000000000000000", "99999999999999999999", "4 KB KB", "1e3K", "NaNK", "InfK", "+", "1M+"} {
		if got, err := analysis.ParseSize(in); err == nil {
			t.Errorf("ParseSize(%q) = %d, want an error", in, got)
		}
	}
}

func TestParseAddress(t *testing.T) {
	good := map[string]uint64{
		"0x7ffe0000": 0x7ffe0000, "7ffe0000": 0x7ffe0000, "7ff6`a1b01234": 0x7ff6a1b01234, "abcdef": 0xabcdef,
		"1000": 0x1000, "2G": 0x80000000, "4GB": 1 << 32, "0x1b": 0x1b,
	}
	for in, want := range good {
		got, err := analysis.ParseAddress(in)
		if err != nil || got != want {
			t.Errorf("ParseAddress(%q) = %#x, %v; want %#x", in, got, err, want)
		}
	}
	for _, in := range []string{"", "xyz", "0x", "12q", "kernel32"} {
		if got, err := analysis.ParseAddress(in); err == nil {
			t.Errorf("ParseAddress(%q) = %#x, want an error", in, got)
		}
	}
}
