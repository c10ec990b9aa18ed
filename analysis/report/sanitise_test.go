package report_test

import (
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/dumpmap/dumpmap/analysis/report"
)

// TestReportSanitisesFormatCharacters: module names carrying a right-to-left
// override, a line separator, a C1 control and an invalid byte reach the Markdown
// and the HTML as render.Clean's escapes (\u202e, \u2028, \x9b), never raw, while
// the JSON keeps the names as the dump holds them (encoding/json escapes U+2028
// itself). Module names are UTF-16 in a dump, so invalid UTF-8 cannot come from
// one: render's tests cover it.
func TestReportSanitisesFormatCharacters(t *testing.T) {
	exe := "C:\\app\\gpj\u202eexe.exe"
	dll := "C:\\x\\sep\u2028c1\u009b[31mend.dll"
	r := build(t, openBytes(t, withOOM(seedBuilder(50, exe, dll)).Bytes()), "bidi.dmp", report.Options{})
	md, page, js := renderAll(t, r)
	for name, out := range map[string]string{"Markdown": md, "HTML": page} {
		if !utf8.ValidString(out) {
			t.Errorf("%s is not valid UTF-8", name)
		}
		for _, raw := range []string{"\u202e", "\u2028", "\u009b"} {
			if strings.Contains(out, raw) {
				t.Errorf("%s contains %q raw", name, raw)
			}
		}
		for _, esc := range []string{`gpj\u202eexe.exe`, `sep\u2028c1\x9b`} {
			if !strings.Contains(out, esc) {
				t.Errorf("%s lacks the escaped name %s", name, esc)
			}
		}
	}
	var v struct {
		Overview struct {
			MainModule struct {
				Path string `json:"path"`
			} `json:"main_module"`
		} `json:"overview"`
	}
	if err := json.Unmarshal([]byte(js), &v); err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(v.Overview.MainModule.Path, exe) {
		t.Errorf("JSON main module path = %q, want it to end in the raw %q", v.Overview.MainModule.Path, exe)
	}
	if strings.Contains(js, "\u2028") {
		t.Errorf("JSON holds a raw U+2028")
	}
}
