package render

import (
	"bytes"
	"testing"
)

// TestStreamedJSONEqualsEncoder: the streamed regions JSON is byte for byte what
// encoding/json writes, for plain and hostile strings and every omitempty field.
func TestStreamedJSONEqualsEncoder(t *testing.T) {
	list := []Region{
		{Base: 0, End: 0x10000, Size: 0x10000, State: "MEM_FREE", Protect: "PAGE_NOACCESS", Usage: "Unusable", Detail: "below"},
		{Base: 0x7ffe0000, End: 0x7ffe1000, Size: 4096, State: "MEM_COMMIT", Type: "MEM_PRIVATE", Protect: "PAGE_READONLY",
			AllocationBase: 0x7ffe0000, AllocationProtect: "PAGE_READONLY", Usage: "Image", Detail: "C:\\x\\\"q\"\u2028\x01\x7f<&>é\xff",
			Module: "évil\n.dll", Unloaded: true, ThreadID: 7, Guard: true, Heap: 0x340000, InDump: true},
	}
	for _, n := range []int{0, 1, 2} {
		var want, got bytes.Buffer
		if err := WriteJSON(&want, struct {
			File    string   `json:"file"`
			Regions []Region `json:"regions"`
			Notes   []string `json:"notes"`
		}{"a\"b", list[:n], []string{"x", "y\tz"}}); err != nil {
			t.Fatal(err)
		}
		o := newJSONObject(&got)
		o.field("file", "a\"b")
		o.list("regions", n, func(buf []byte, i int) []byte { return appendRegion(buf, list[i]) })
		o.field("notes", []string{"x", "y\tz"})
		if err := o.close(); err != nil {
			t.Fatal(err)
		}
		if got.String() != want.String() {
			t.Errorf("n=%d: streamed\n%s\nencoder\n%s", n, got.String(), want.String())
		}
	}
}
