package process

import (
	"fmt"
	"strconv"
	"strings"
)

// Hex is an address (or another number people read in hex, such as an exception code)
// that JSON shows the way the project's JSON always does: a lower-case hex string with
// a "0x" prefix, "0x7ffe0000". Sizes are not Hex: they are plain integers.
type Hex uint64

// String returns "0x..." in lower-case hex.
func (h Hex) String() string { return "0x" + strconv.FormatUint(uint64(h), 16) }

// MarshalJSON encodes h as a "0x..." string.
func (h Hex) MarshalJSON() ([]byte, error) {
	return []byte(`"` + h.String() + `"`), nil
}

// UnmarshalJSON decodes a "0x..." string (or a plain JSON number, for leniency).
func (h *Hex) UnmarshalJSON(b []byte) error {
	s := string(b)
	if unq, err := strconv.Unquote(s); err == nil {
		s = unq
	}
	s = strings.TrimPrefix(strings.TrimPrefix(s, "0x"), "0X")
	base := 16
	if len(b) > 0 && b[0] != '"' {
		base = 10
	}
	v, err := strconv.ParseUint(s, base, 64)
	if err != nil {
		return fmt.Errorf("bad hex value %s", b)
	}
	*h = Hex(v)
	return nil
}
