package render

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"strconv"
	"unicode/utf8"

	"github.com/dumpmap/dumpmap/analysis/overview"
)

// Hex is an address or a code in JSON: a lower-case "0x..." string.
type Hex = overview.Hex

// WriteJSON writes v as every command's JSON object is written: indented by two
// spaces, with <, > and & left as they are (a module "<Unloaded_x.dll>" stays
// readable), and a final line feed. Strings are not passed through Clean: see
// Clean for why JSON keeps the values as they are.
func WriteJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}

// jsonObject writes one indented JSON object field by field, byte for byte as
// WriteJSON would, so that a command can stream a list of a million entries instead
// of building it in memory first.
type jsonObject struct {
	w     *bufio.Writer
	first bool
	err   error
}

func newJSONObject(w io.Writer) *jsonObject {
	o := &jsonObject{w: bufio.NewWriterSize(w, 256<<10), first: true}
	o.w.WriteString("{")
	return o
}

func (o *jsonObject) key(k string) {
	if !o.first {
		o.w.WriteString(",")
	}
	o.first = false
	o.w.WriteString("\n  ")
	o.w.Write(appendJSONString(nil, k))
	o.w.WriteString(": ")
}

// field writes a field whose value is encoded by encoding/json.
func (o *jsonObject) field(k string, v any) {
	o.key(k)
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetIndent("  ", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil && o.err == nil {
		o.err = err
	}
	o.w.Write(bytes.TrimRight(buf.Bytes(), "\n"))
}

// list writes a field holding an array of n elements; elem appends the i-th
// element's object fields (as appendField calls) to a buffer.
func (o *jsonObject) list(k string, n int, elem func(buf []byte, i int) []byte) {
	o.key(k)
	if n == 0 {
		o.w.WriteString("[]")
		return
	}
	o.w.WriteString("[")
	var buf []byte
	for i := 0; i < n; i++ {
		buf = append(buf[:0], "\n    {"...)
		buf = elem(buf, i)
		buf = append(buf, "\n    }"...)
		if i < n-1 {
			buf = append(buf, ',')
		}
		o.w.Write(buf)
	}
	o.w.WriteString("\n  ]")
}

func (o *jsonObject) close() error {
	o.w.WriteString("\n}\n")
	if err := o.w.Flush(); err != nil {
		return err
	}
	return o.err
}

// Field appenders for list elements: fields of an object nested two levels deep.
func appendKey(buf []byte, first bool, k string) []byte {
	if !first {
		buf = append(buf, ',')
	}
	buf = append(buf, "\n      "...)
	buf = appendJSONString(buf, k)
	return append(buf, ": "...)
}

func appendStrField(buf []byte, first bool, k, v string) []byte {
	return appendJSONString(appendKey(buf, first, k), v)
}

func appendHexField(buf []byte, k string, v uint64) []byte {
	buf = append(appendKey(buf, false, k), `"0x`...)
	buf = strconv.AppendUint(buf, v, 16)
	return append(buf, '"')
}

func appendUintField(buf []byte, k string, v uint64) []byte {
	return strconv.AppendUint(appendKey(buf, false, k), v, 10)
}

func appendBoolField(buf []byte, k string, v bool) []byte {
	return strconv.AppendBool(appendKey(buf, false, k), v)
}

// appendJSONString appends s quoted as encoding/json quotes it with HTML escaping
// off; plain ASCII takes a fast path, anything else goes through the encoder.
func appendJSONString(buf []byte, s string) []byte {
	plain := true
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= utf8.RuneSelf || c == '"' || c == '\\' {
			plain = false
			break
		}
	}
	if plain {
		buf = append(buf, '"')
		buf = append(buf, s...)
		return append(buf, '"')
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.Encode(s)
	return append(buf, bytes.TrimRight(b.Bytes(), "\n")...)
}
