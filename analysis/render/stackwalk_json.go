package render

import (
	"bytes"
	"encoding/json"
	"math"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// This file writes JSON the way serde_json writes rust-minidump's output, so that
// `dumpmap stack --format stackwalk-json` is byte for byte what
// `minidump-stackwalk --json` (compact) and `--json --pretty` print:
//
//   - object keys in byte order: serde_json's default map is a BTreeMap (the
//     crate's "preserve_order" feature is off in minidump-processor), which is why
//     the snapshots list "crash_info" before "crashing_thread";
//   - pretty output as serde_json's PrettyFormatter: two spaces per level,
//     `"key": value`, "{}" and "[]" for empty containers;
//   - strings escaped as serde_json's ESCAPE table does: `"` and `\`, the control
//     characters U+0000-U+001F as \b \t \n \f \r or \u00xx (lower-case hex), and
//     nothing else (encoding/json would also escape U+2028 and U+2029);
//   - floating-point numbers as the ryu crate formats them (serde_json's float
//     output): shortest digits, "1.0" for integral values, exponent form outside
//     1e-5..1e16.

// swObject is a JSON object; swWrite writes its keys sorted.
type swObject = map[string]any

// swMaxDepth is serde_json's recursion limit: a document nested deeper does not
// parse (see parseSoftErrors).
const swMaxDepth = 128

// swWrite appends v to b, compact or pretty. v is nil, a bool, a string, an
// integer, a float64, a json.Number, a swObject or a []any, nested at most
// swMaxDepth+8 levels (the deepest tree the builder makes is a parsed soft-errors
// document under three levels of its own).
func swWrite(b *bytes.Buffer, v any, pretty bool, level int) {
	switch x := v.(type) {
	case nil:
		b.WriteString("null")
	case bool:
		b.WriteString(strconv.FormatBool(x))
	case string:
		swString(b, x)
	case int:
		b.WriteString(strconv.Itoa(x))
	case int64:
		b.WriteString(strconv.FormatInt(x, 10))
	case uint32:
		b.WriteString(strconv.FormatUint(uint64(x), 10))
	case uint64:
		b.WriteString(strconv.FormatUint(x, 10))
	case float64:
		b.WriteString(swFloat(x))
	case json.Number:
		swNumber(b, x)
	case swObject:
		if len(x) == 0 {
			b.WriteString("{}")
			return
		}
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		slices.Sort(keys) // byte order, as Rust's String Ord
		b.WriteByte('{')
		for i, k := range keys {
			if i > 0 {
				b.WriteByte(',')
			}
			swNewline(b, pretty, level+1)
			swString(b, k)
			b.WriteByte(':')
			if pretty {
				b.WriteByte(' ')
			}
			swWrite(b, x[k], pretty, level+1)
		}
		swNewline(b, pretty, level)
		b.WriteByte('}')
	case []any:
		if len(x) == 0 {
			b.WriteString("[]")
			return
		}
		b.WriteByte('[')
		for i, e := range x {
			if i > 0 {
				b.WriteByte(',')
			}
			swNewline(b, pretty, level+1)
			swWrite(b, e, pretty, level+1)
		}
		swNewline(b, pretty, level)
		b.WriteByte(']')
	default:
		// Every value the builder makes is one of the above; a programming error
		// shows up in the output rather than as a panic on hostile input.
		b.WriteString("null")
	}
}

func swNewline(b *bytes.Buffer, pretty bool, level int) {
	if pretty {
		b.WriteByte('\n')
		for range level {
			b.WriteString("  ")
		}
	}
}

// swString writes s as a JSON string with serde_json's escapes. Bytes that are
// not UTF-8 (a Go string may hold them; a Rust String cannot) are written as
// U+FFFD, as encoding/json does.
func swString(b *bytes.Buffer, s string) {
	const hexDigits = "0123456789abcdef"
	b.WriteByte('"')
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"':
				b.WriteString(`\"`)
			case c == '\\':
				b.WriteString(`\\`)
			case c == '\b':
				b.WriteString(`\b`)
			case c == '\t':
				b.WriteString(`\t`)
			case c == '\n':
				b.WriteString(`\n`)
			case c == '\f':
				b.WriteString(`\f`)
			case c == '\r':
				b.WriteString(`\r`)
			case c < 0x20:
				b.WriteString(`\u00`)
				b.WriteByte(hexDigits[c>>4])
				b.WriteByte(hexDigits[c&0xf])
			default:
				b.WriteByte(c)
			}
			i++
			continue
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && n == 1 {
			b.WriteString("\ufffd")
		} else {
			b.WriteString(s[i : i+n])
		}
		i += n
	}
	b.WriteByte('"')
}

// swNumber writes a number read from a JSON document as serde_json would after
// parsing it into a serde_json::Value: integers that fit a u64, or an i64 below
// zero, as they are; everything else as an f64.
func swNumber(b *bytes.Buffer, n json.Number) {
	s := string(n)
	if !strings.ContainsAny(s, ".eE") {
		// serde_json makes "-0" a float (-0.0): a negative literal must come out
		// below zero to stay an integer (de.rs, parse_integer).
		if v, err := strconv.ParseInt(s, 10, 64); err == nil && (v != 0 || s[0] != '-') {
			b.WriteString(strconv.FormatInt(v, 10))
			return
		}
		if v, err := strconv.ParseUint(s, 10, 64); err == nil {
			b.WriteString(strconv.FormatUint(v, 10))
			return
		}
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
		// serde_json refuses numbers out of the f64 range; the document was
		// accepted by encoding/json, so this is such a number: null.
		b.WriteString("null")
		return
	}
	b.WriteString(swFloat(f))
}

// swFloat formats f as the ryu crate's Buffer::format_finite does: the shortest
// digits d1..dn that read back as f, with value d × 10^k and kk = n + k the
// position of the decimal point, laid out as "ddd00.0" (0 <= k, kk <= 16),
// "dd.dd" (0 < kk <= 16), "0.000dd" (-5 < kk <= 0), "de-7" (one digit) or
// "d.ddde-7" (ryu's src/pretty/mod.rs, format64).
func swFloat(f float64) string {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return "null" // serde_json writes non-finite floats as null
	}
	var sign string
	if math.Signbit(f) {
		sign, f = "-", -f
	}
	if f == 0 {
		return sign + "0.0"
	}
	e := strconv.FormatFloat(f, 'e', -1, 64) // "d.ddde±xx"
	mant, exp, _ := strings.Cut(e, "e")
	digits := strings.Replace(mant, ".", "", 1)
	x, _ := strconv.Atoi(exp)
	n := len(digits)
	k := x - (n - 1)
	kk := n + k
	switch {
	case k >= 0 && kk <= 16:
		return sign + digits + strings.Repeat("0", k) + ".0"
	case kk > 0 && kk <= 16:
		return sign + digits[:kk] + "." + digits[kk:]
	case kk > -5 && kk <= 0:
		return sign + "0." + strings.Repeat("0", -kk) + digits
	case n == 1:
		return sign + digits + "e" + strconv.Itoa(kk-1)
	default:
		return sign + digits[:1] + "." + digits[1:] + "e" + strconv.Itoa(kk-1)
	}
}

// parseSoftErrors parses the MozSoftErrors stream (a JSON document minidump-writer
// records) into values swWrite writes as serde_json re-serialises them: objects
// with sorted keys, numbers normalised. It returns nil, written as null, where
// rust-minidump has none: text that is not UTF-8 or not JSON, or nested deeper than
// serde_json's recursion limit.
func parseSoftErrors(data []byte) any {
	if !utf8.Valid(data) {
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil
	}
	if len(bytes.Trim(data[dec.InputOffset():], " \t\n\r")) > 0 {
		return nil // trailing data: serde_json::from_str refuses it
	}
	if swDepth(v, 0) > swMaxDepth {
		return nil
	}
	return v
}

// swDepth returns how deeply v nests, stopping once past swMaxDepth.
func swDepth(v any, d int) int {
	if d > swMaxDepth {
		return d
	}
	max := d
	switch x := v.(type) {
	case map[string]any:
		for _, e := range x {
			if n := swDepth(e, d+1); n > max {
				max = n
			}
		}
	case []any:
		for _, e := range x {
			if n := swDepth(e, d+1); n > max {
				max = n
			}
		}
	}
	return max
}
