package symstore

import (
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	tests := []struct {
		in      string
		want    string // elements as "kind|dir|stores|url" joined by " ; "
		wantErr string
	}{
		{"", "", ""},
		{`C:\syms`, `folder|C:\syms||`, ""},
		{"/srv/syms;/opt/more", "folder|/srv/syms|| ; folder|/opt/more||", ""},
		{" ; ;/a; ", "folder|/a||", ""},
		{"cache*/tmp/c", "cache|/tmp/c||", ""},
		{"cache*", "cache|||", ""},
		{"srv*https://msdl.example/download/symbols", "srv|||https://msdl.example/download/symbols", ""},
		{"SRV*/cache*https://sym.example/", "srv||/cache|https://sym.example", ""},
		{`srv*C:\cache*\\share\store*http://s.example/sym`, `srv||C:\cache,\\share\store|http://s.example/sym`, ""},
		{"srv*/local/store", "srv||/local/store|", ""},
		{"srv**https://s.example", "srv|||https://s.example", ""},
		{"symsrv*symsrv.dll*/cache*https://s.example", "srv||/cache|https://s.example", ""},
		{"cache*/c;srv*https://s.example;/flat", "cache|/c|| ; srv|||https://s.example ; folder|/flat||", ""},
		{"srv*", "", "no store or server"},
		{"symsrv*symsrv.dll", "", "needs a DLL name and a store"},
		{"srv*https://a.example*/cache", "", "must be the last tier"},
		{"srv*/cache*ftp://a.example", "", "only http and https"},
		{"cache*/a*/b", "", "one folder"},
		{"weird*x", "", "unknown element keyword"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			p, err := Parse(tt.in)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, e := range p {
				got = append(got, strings.Join([]string{e.Kind.String(), map[bool]string{true: e.Dir}[e.Kind != Server], strings.Join(e.Stores, ","), e.URL}, "|"))
			}
			if g := strings.Join(got, " ; "); g != tt.want {
				t.Errorf("Parse(%q) = %q, want %q", tt.in, g, tt.want)
			}
			// String round-trips through Parse.
			p2, err := Parse(p.String())
			if err != nil || p2.String() != p.String() {
				t.Errorf("round trip %q -> %q (%v)", p.String(), p2.String(), err)
			}
			if p.HasServer() != strings.Contains(tt.want, "http") {
				t.Errorf("HasServer = %v", p.HasServer())
			}
		})
	}
}

func TestSafeName(t *testing.T) {
	long := strings.Repeat("a", 252) + ".pdb"
	tests := []struct {
		in, want string // want "" means rejected
	}{
		{"crash.pdb", "crash.pdb"},
		{`C:\projects\breakpad-tools\windows\Release\crash.pdb`, "crash.pdb"},
		{`C:\a\b.pdb`, "b.pdb"},
		{`..\..\x.pdb`, "x.pdb"},
		{"a/../../b.pdb", "b.pdb"},
		{"/etc/passwd", "passwd"},
		{`\\server\share\evil.pdb`, "evil.pdb"},
		{"my symbols+v2.pdb", "my symbols+v2.pdb"},
		{"ünïcode.pdb", "ünïcode.pdb"},
		{"", ""},
		{"..", ""},
		{".", ""},
		{"a/..", ""},
		{`x\..`, ""},
		{"...", ""},
		{". .", ""},
		{"dir/", ""},
		{`C:b.pdb`, ""},
		{"C:", ""},
		{"%2e%2e", ""},
		{"%2e%2e%2fx.pdb", ""},
		{"..%5c..%5cx.pdb", ""},
		{"a\x00b.pdb", ""},
		{"a\nb.pdb", ""},
		{"a\x7fb.pdb", ""},
		{"con?.pdb", ""},
		{"a*b.pdb", ""},
		{"trailing.pdb.", ""},
		{"trailing.pdb ", ""},
		{"\xff\xfe.pdb", ""},
		{long, ""},
		{strings.Repeat("a", 251) + ".pdb", strings.Repeat("a", 251) + ".pdb"},
		{strings.Repeat("../", 5000) + "x.pdb", "x.pdb"},
	}
	for _, tt := range tests {
		got, err := SafeName(tt.in)
		if tt.want == "" {
			if err == nil {
				t.Errorf("SafeName(%q) = %q, want rejection", truncate(tt.in), got)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("SafeName(%q) = %q, %v; want %q", truncate(tt.in), got, err, tt.want)
		}
	}
}

func TestKey(t *testing.T) {
	var g [16]byte
	copy(g[:], []byte{0x9D, 0xD9, 0x49, 0x32, 0x40, 0x0C, 0x31, 0x49, 0x86, 0x10, 0xF4, 0xE4, 0xFB, 0x0B, 0x69, 0x36})
	for _, tt := range []struct {
		age  uint32
		want string
	}{{1, "3249D99D0C4049318610F4E4FB0B69361"}, {0x1a, "3249D99D0C4049318610F4E4FB0B69361A"}, {0, "3249D99D0C4049318610F4E4FB0B69360"}} {
		if got := Key(g, tt.age); got != tt.want {
			t.Errorf("Key(age %d) = %s, want %s", tt.age, got, tt.want)
		}
	}
}
