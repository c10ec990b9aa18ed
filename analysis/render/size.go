package render

import (
	"math"
	"strconv"
)

var iecSizes = [...]string{"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"}

// appendSize appends Size(n): exactly what humanize.IBytes (go-humanize v1.1.0)
// returns, computed with the same floating-point steps (so the result is the same
// bit for bit, boundaries included; TestAppendSize checks it against the library)
// but formatted with strconv into the caller's buffer. humanize formats through
// fmt twice and allocates; a listing of a million regions calls this for each.
func appendSize(b []byte, s uint64) []byte {
	if s < 10 {
		b = strconv.AppendUint(b, s, 10)
		return append(b, " B"...)
	}
	e := math.Floor(math.Log(float64(s)) / math.Log(1024))
	suffix := iecSizes[int(e)]
	val := float64(s) / math.Pow(1024, e)
	intDigits := countDigits(int64(val))
	digits := max(2-intDigits, 0)
	rounding := math.Pow10(digits)
	val = math.Floor(val*rounding+0.5) / rounding
	if n := countDigits(int64(val)); n > intDigits {
		digits = max(digits-(n-intDigits), 0)
	}
	b = strconv.AppendFloat(b, val, 'f', digits, 64)
	b = append(b, ' ')
	return append(b, suffix...)
}

func countDigits(n int64) int {
	d := 0
	for n != 0 {
		n /= 10
		d++
	}
	return d
}
