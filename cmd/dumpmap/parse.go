package main

import (
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
)

var decimalRe = regexp.MustCompile(`^[0-9]+\.[0-9]+$`)

// sizeUnits are the suffixes parseNumber accepts. K, KB and KiB all mean 1024: in a
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

// parseNumber parses an address or size as people write them: decimal (4096), hex
// with 0x (0x1000), WinDbg's 64-bit form with a backtick (00000000`7ffe0000, hex),
// or a number with a binary unit (4K, 64KB, 1.5MiB, 2G). A unit never applies to a
// hex number.
func parseNumber(s string) (uint64, error) {
	in := s
	s = strings.TrimSpace(strings.ReplaceAll(s, "_", ""))
	if s == "" {
		return 0, fmt.Errorf("empty number")
	}
	if strings.Contains(s, "`") {
		h := strings.ReplaceAll(s, "`", "")
		h = strings.TrimPrefix(strings.TrimPrefix(h, "0x"), "0X")
		v, err := strconv.ParseUint(h, 16, 64)
		if err != nil {
			return 0, fmt.Errorf("%q is not a hex address", in)
		}
		return v, nil
	}
	if strings.HasPrefix(s, "0x") || strings.HasPrefix(s, "0X") {
		v, err := strconv.ParseUint(s[2:], 16, 64)
		if err != nil {
			return 0, fmt.Errorf("%q is not a hex number", in)
		}
		return v, nil
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
	if mult > 1 && decimalRe.MatchString(lower) {
		if f, err := strconv.ParseFloat(lower, 64); err == nil && f >= 0 && !math.IsInf(f, 0) && !math.IsNaN(f) {
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
	return 0, fmt.Errorf("%q is not a number (write 4096, 0x1000, 4K or 1MiB)", in)
}
