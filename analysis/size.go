package analysis

import (
	"fmt"
	"strconv"
	"strings"
)

// ParseSize parses a size as users write it: plain bytes ("65536"), hex ("0x10000"),
// or a number with a unit: K, KB, KiB, M, MB, MiB, G, GB, GiB, T, TB, TiB (all
// binary, as Windows tools use them: 50K = 50 KB = 51,200 bytes), with an optional
// fraction ("1.5M") and optional "+N" bytes ("1M+1").
func ParseSize(s string) (uint64, error) {
	orig := s
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, fmt.Errorf("empty size")
	}
	if base, extra, ok := strings.Cut(s, "+"); ok {
		a, err := ParseSize(base)
		if err != nil {
			return 0, err
		}
		b, err := ParseSize(extra)
		if err != nil {
			return 0, err
		}
		if a+b < a {
			return 0, fmt.Errorf("size %q overflows", orig)
		}
		return a + b, nil
	}
	s = strings.ReplaceAll(s, "_", "")
	s = strings.ReplaceAll(s, ",", "")
	if strings.HasPrefix(s, "0x") || strings.HasPrefix(s, "0X") {
		v, err := strconv.ParseUint(s[2:], 16, 64)
		if err != nil {
			return 0, fmt.Errorf("bad size %q: %v", orig, err.(*strconv.NumError).Err)
		}
		return v, nil
	}
	i := len(s)
	for i > 0 && (s[i-1] < '0' || s[i-1] > '9') && s[i-1] != '.' {
		i--
	}
	num, unit := s[:i], strings.ToLower(strings.TrimSpace(s[i:]))
	var mult uint64
	switch unit {
	case "", "b", "byte", "bytes":
		mult = 1
	case "k", "kb", "kib":
		mult = 1 << 10
	case "m", "mb", "mib":
		mult = 1 << 20
	case "g", "gb", "gib":
		mult = 1 << 30
	case "t", "tb", "tib":
		mult = 1 << 40
	default:
		return 0, fmt.Errorf("bad size %q: unknown unit %q (use K, M, G, T or bytes)", orig, unit)
	}
	if num == "" {
		return 0, fmt.Errorf("bad size %q: no number", orig)
	}
	if strings.Contains(num, ".") {
		f, err := strconv.ParseFloat(num, 64)
		if err != nil || f < 0 {
			return 0, fmt.Errorf("bad size %q", orig)
		}
		v := f * float64(mult)
		if v >= 1<<64 {
			return 0, fmt.Errorf("size %q overflows", orig)
		}
		return uint64(v), nil
	}
	v, err := strconv.ParseUint(num, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("bad size %q", orig)
	}
	if v != 0 && v*mult/mult != v {
		return 0, fmt.Errorf("size %q overflows", orig)
	}
	return v * mult, nil
}

// ParseAddress parses an address: hex with or without 0x, WinDbg's "`" separator
// ("7ff6`a1b01234"), or a size-like form for round limits ("2G" = 0x80000000).
func ParseAddress(s string) (uint64, error) {
	t := strings.TrimSpace(s)
	t = strings.ReplaceAll(t, "`", "")
	t = strings.ReplaceAll(t, "_", "")
	if t == "" {
		return 0, fmt.Errorf("empty address")
	}
	last := t[len(t)-1]
	if strings.ContainsAny(string(last), "KkMmGgTt") || strings.HasSuffix(strings.ToLower(t), "b") && !isHex(t) {
		return ParseSize(t)
	}
	h := strings.TrimPrefix(strings.TrimPrefix(t, "0x"), "0X")
	v, err := strconv.ParseUint(h, 16, 64)
	if err != nil {
		return 0, fmt.Errorf("bad address %q: want hex like 0x7ffe0000", s)
	}
	return v, nil
}

func isHex(s string) bool {
	s = strings.TrimPrefix(strings.TrimPrefix(s, "0x"), "0X")
	_, err := strconv.ParseUint(s, 16, 64)
	return err == nil
}
