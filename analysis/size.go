package analysis

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// sizeUnits are the suffixes ParseSize accepts. K, KB and KiB all mean 1024: in a
// Windows address space nobody means 1000.
var sizeUnits = []struct {
	suffix string
	mult   uint64
}{
	{"kib", 1 << 10}, {"mib", 1 << 20}, {"gib", 1 << 30}, {"tib", 1 << 40},
	{"kb", 1 << 10}, {"mb", 1 << 20}, {"gb", 1 << 30}, {"tb", 1 << 40},
	{"k", 1 << 10}, {"m", 1 << 20}, {"g", 1 << 30}, {"t", 1 << 40},
	{"b", 1},
}

// ParseSize parses a size as people write it: decimal bytes (65536), hex with 0x
// (0x10000), WinDbg's 64-bit form with a backtick (hex), a number with a binary unit
// (50K, 50KB, 1.5MiB, 2G: K is always 1024), and a sum ("1M+1"). Thousands
// separators "," and "_" are ignored. A unit never applies to a hex number, and a
// fraction must come out a whole number of bytes.
func ParseSize(s string) (uint64, error) {
	if a, b, ok := strings.Cut(s, "+"); ok {
		x, err := ParseSize(a)
		if err != nil {
			return 0, err
		}
		y, err := ParseSize(b)
		if err != nil {
			return 0, err
		}
		if x+y < x {
			return 0, fmt.Errorf("%q is too large", s)
		}
		return x + y, nil
	}
	in := s
	s = strings.TrimSpace(strings.NewReplacer("_", "", ",", "").Replace(s))
	if s == "" {
		return 0, fmt.Errorf("empty number")
	}
	if strings.Contains(s, "`") || strings.HasPrefix(s, "0x") || strings.HasPrefix(s, "0X") {
		return parseHex(in, s)
	}
	lower := strings.ToLower(s)
	mult := uint64(1)
	for _, u := range sizeUnits {
		if strings.HasSuffix(lower, u.suffix) {
			mult = u.mult
			lower = strings.TrimSpace(strings.TrimSuffix(lower, u.suffix))
			break
		}
	}
	if v, err := strconv.ParseUint(lower, 10, 64); err == nil {
		if v != 0 && mult > math.MaxUint64/v {
			return 0, fmt.Errorf("%q is too large", in)
		}
		return v * mult, nil
	}
	if mult > 1 && isDecimalFraction(lower) {
		if f, err := strconv.ParseFloat(lower, 64); err == nil && f >= 0 {
			v := f * float64(mult)
			if v >= math.MaxUint64 {
				return 0, fmt.Errorf("%q is too large", in)
			}
			if v != math.Trunc(v) {
				return 0, fmt.Errorf("%q is not a whole number of bytes", in)
			}
			return uint64(v), nil
		}
	}
	return 0, fmt.Errorf("%q is not a size (write 4096, 0x1000, 4K or 1MiB)", in)
}

// isDecimalFraction reports whether s is digits, a point and digits: no exponents,
// signs, NaN or Inf, which ParseFloat would accept.
func isDecimalFraction(s string) bool {
	i := strings.IndexByte(s, '.')
	if i <= 0 || i == len(s)-1 {
		return false
	}
	for j := 0; j < len(s); j++ {
		if j != i && (s[j] < '0' || s[j] > '9') {
			return false
		}
	}
	return true
}

func parseHex(in, s string) (uint64, error) {
	h := strings.ReplaceAll(s, "`", "")
	h = strings.TrimPrefix(strings.TrimPrefix(h, "0x"), "0X")
	v, err := strconv.ParseUint(h, 16, 64)
	if err != nil {
		return 0, fmt.Errorf("%q is not a hex number", in)
	}
	return v, nil
}

// ParseAddress parses an address as WinDbg takes it: hex, with or without 0x, with
// WinDbg's "`" separator ("7ff6`a1b01234"); a number with a unit is a round limit
// ("2G" = 0x80000000).
func ParseAddress(s string) (uint64, error) {
	t := strings.TrimSpace(strings.ReplaceAll(s, "_", ""))
	if t == "" {
		return 0, fmt.Errorf("empty address")
	}
	v, err := parseHex(s, t)
	if err == nil {
		return v, nil
	}
	if strings.HasPrefix(t, "0x") || strings.HasPrefix(t, "0X") || strings.Contains(t, "`") {
		return 0, err
	}
	lower := strings.ToLower(t)
	for _, u := range sizeUnits {
		if u.mult > 1 && strings.HasSuffix(lower, u.suffix) {
			return ParseSize(t)
		}
	}
	return 0, fmt.Errorf("%q is not an address: want hex like 0x7ffe0000 or 7ffe0000", s)
}
