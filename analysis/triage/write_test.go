package triage

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"strings"
	"testing"
)

// TestWritersSanitise: names a hostile dump or archive carries (an escape
// sequence, a right-to-left override, a line separator, a formula) reach the
// table and the CSV as render.Clean's escapes, while NDJSON keeps them exactly.
func TestWritersSanitise(t *testing.T) {
	sig := "evil\x1b[2J\u202egpj.exe+0x10"
	rec := &Record{Kind: "record", File: "dumps/a\u2028b.dmp", Member: "x\u202e.dmp", Product: "=cmd|' /C calc'!A0",
		FaultModule: "evil\x1b[2J.dll", Signature: sig, ExceptionName: "EXCEPTION\u009b"}
	raws := []string{"\x1b", "\u202e", "\u2028", "\u009b"}

	var tb bytes.Buffer
	tw := NewTableWriter(&tb, NewGrouper(BySignature))
	if err := tw.Record(rec); err != nil {
		t.Fatal(err)
	}
	if err := tw.Finish(&Summary{GroupBy: BySignature, ErrorKinds: map[string]int64{}}); err != nil {
		t.Fatal(err)
	}
	var cb bytes.Buffer
	cw, err := NewCSVWriter(&cb)
	if err != nil {
		t.Fatal(err)
	}
	if err := cw.Record(rec); err != nil {
		t.Fatal(err)
	}
	if err := cw.Finish(nil); err != nil {
		t.Fatal(err)
	}
	for name, out := range map[string]string{"table": tb.String(), "CSV": cb.String()} {
		for _, raw := range raws {
			if strings.Contains(out, raw) {
				t.Errorf("%s holds %q raw:\n%s", name, raw, out)
			}
		}
	}
	if !strings.Contains(tb.String(), `evil\x1b[2J\u202egpj.exe+0x10`) || !strings.Contains(tb.String(), `dumps/a\u2028b.dmp!x\u202e.dmp`) {
		t.Errorf("table lacks the escaped signature or example:\n%s", tb.String())
	}
	rows, err := csv.NewReader(&cb).ReadAll()
	if err != nil || len(rows) != 2 {
		t.Fatalf("CSV: %v, %d rows", err, len(rows))
	}
	row := map[string]string{}
	for i, c := range CSVColumns {
		row[c] = rows[1][i]
	}
	for col, want := range map[string]string{"file": `dumps/a\u2028b.dmp`, "member": `x\u202e.dmp`, "product": "'=cmd|' /C calc'!A0",
		"signature": `evil\x1b[2J\u202egpj.exe+0x10`, "exception_name": `EXCEPTION\x9b`} {
		if row[col] != want {
			t.Errorf("CSV %s = %q, want %q", col, row[col], want)
		}
	}

	var nb bytes.Buffer
	nw := NewNDJSONWriter(&nb, NewGrouper(BySignature))
	if err := nw.Record(rec); err != nil {
		t.Fatal(err)
	}
	var back Record
	if err := json.Unmarshal(bytes.SplitN(nb.Bytes(), []byte("\n"), 2)[0], &back); err != nil {
		t.Fatal(err)
	}
	if back.Signature != sig || back.File != rec.File || back.Member != rec.Member {
		t.Errorf("NDJSON changed the values: %+v", back)
	}
}
