package render

import (
	"bytes"
	"testing"

	"github.com/dumpmap/dumpmap/analysis"
	"github.com/dumpmap/dumpmap/minidump"
)

// TestStreamedJSONEqualsEncoder: the streamed regions JSON is byte for byte what
// encoding/json writes for the regions' shapes (RegionOf), for plain and hostile
// strings and every omitempty field.
func TestStreamedJSONEqualsEncoder(t *testing.T) {
	m := &analysis.Map{Space: analysis.AddressSpace{PointerSize: 8, Granularity: 0x10000, MinAddress: 0x10000, MaxAddress: 0x7ffeffff, End: 0x7fff0000}}
	m.Regions = []analysis.Region{
		{Base: 0, Size: 0x10000, State: minidump.MemFree, Protect: minidump.PageNoAccess, Usage: analysis.UsageUnusable},
		{Base: 0x10000, Size: 0x3000, State: minidump.MemFree, Protect: minidump.PageNoAccess, Usage: analysis.UsageUnusable},
		{Base: 0x7ffe0000, Size: 4096, State: minidump.MemCommit, Type: minidump.MemPrivate, Protect: minidump.PageReadOnly | minidump.PageGuard | 0x10000,
			AllocationBase: 0x7ffe0000, AllocationProtect: minidump.PageReadOnly, Usage: analysis.UsageImage,
			Info:     &analysis.RegionInfo{Detail: "C:\\x\\\"q\"\u2028\x01\x7f<&>é\xff", Module: "évil\n.dll", Heap: 0x340000},
			Unloaded: true, ThreadID: 7, Guard: true, Captured: true},
		{Base: 0x7ffe1000, Size: 0xf000, State: 0x3000, Type: 0x80000, Usage: analysis.UsageUnknown},
	}
	for _, n := range []int{0, 1, 2, 3, 4} {
		list := make([]Region, n)
		for i := range list {
			list[i] = RegionOf(m, &m.Regions[i])
		}
		var want, got bytes.Buffer
		if err := WriteJSON(&want, struct {
			File    string   `json:"file"`
			Regions []Region `json:"regions"`
			Notes   []string `json:"notes"`
		}{"a\"b", list, []string{"x", "y\tz"}}); err != nil {
			t.Fatal(err)
		}
		o := newJSONObject(&got)
		o.field("file", "a\"b")
		var names regionNames
		o.list("regions", n, func(buf []byte, i int) []byte { return names.appendJSON(buf, m, &m.Regions[i]) })
		o.field("notes", []string{"x", "y\tz"})
		if err := o.close(); err != nil {
			t.Fatal(err)
		}
		if got.String() != want.String() {
			t.Errorf("n=%d: streamed\n%s\nencoder\n%s", n, got.String(), want.String())
		}
	}
}
