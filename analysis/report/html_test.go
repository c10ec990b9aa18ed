package report_test

import (
	"bytes"
	"encoding/xml"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/dumpmap/dumpmap/analysis/process"

	"github.com/dumpmap/dumpmap/analysis/report"
	"github.com/dumpmap/dumpmap/minidump"
)

// hostile names a dump could carry: each tries to end the context it lands in and
// start markup or script.
const (
	hostileExe = `"><script>alert(1)</script><img src=x onerror=alert(2)>.exe`
	hostileDLL = "</style></title><svg onload=alert(3)>|*_[x](javascript:alert(4))`` <!-- \x1b[31m.dll"
)

func hostileDump() []byte { return withOOM(seedBuilder(50, hostileExe, hostileDLL)).Bytes() }

func renderAll(t testing.TB, r *report.Report) (md, html, js string) {
	t.Helper()
	var a, b, c bytes.Buffer
	if err := r.WriteMarkdown(&a); err != nil {
		t.Fatal(err)
	}
	if err := r.WriteHTML(&b); err != nil {
		t.Fatal(err)
	}
	if err := r.WriteJSON(&c); err != nil {
		t.Fatal(err)
	}
	return a.String(), b.String(), c.String()
}

var (
	tagRe  = regexp.MustCompile(`<([A-Za-z][A-Za-z0-9]*)`)
	attrRe = regexp.MustCompile(`<[A-Za-z][^>]*\s(on[a-z]+|src|href|xlink:href|style|formaction)\s*=\s*"([^"]*)"`)
)

// allowedTags are the elements the page is made of; anything else came from a dump.
var allowedTags = map[string]bool{
	"html": true, "head": true, "meta": true, "title": true, "style": true, "body": true, "main": true, "header": true, "nav": true,
	"a": true, "section": true, "h1": true, "h2": true, "h3": true, "p": true, "ul": true, "ol": true, "li": true, "span": true,
	"div": true, "table": true, "caption": true, "thead": true, "tbody": true, "tr": true, "th": true, "td": true, "code": true,
	"strong": true, "br": true, "figure": true, "figcaption": true, "footer": true, "script": true,
	"svg": true, "defs": true, "pattern": true, "rect": true, "path": true, "text": true,
}

// stripCodeSpans removes Markdown code spans: a run of backticks up to the next run
// of the same length.
func stripCodeSpans(md string) string {
	var b strings.Builder
	for i := 0; i < len(md); {
		if md[i] != '`' {
			b.WriteByte(md[i])
			i++
			continue
		}
		n := 0
		for i+n < len(md) && md[i+n] == '`' {
			n++
		}
		fence := strings.Repeat("`", n)
		j := i + n
		end := -1
		for k := j; k < len(md); {
			p := strings.Index(md[k:], fence)
			if p < 0 {
				break
			}
			p += k
			q := p + n
			if (p == 0 || md[p-1] != '`') && (q >= len(md) || md[q] != '`') {
				end = q
				break
			}
			k = q
			for k < len(md) && md[k] == '`' {
				k++
			}
		}
		if end < 0 {
			b.WriteString(fence)
			i = j
			continue
		}
		i = end
	}
	return b.String()
}

// checkPageStructure checks that the page holds only the elements and attributes it
// is built from: one script (the table sorter), no event handlers, no links but the
// page's own anchors, no external resources.
func checkPageStructure(t *testing.T, page string) {
	t.Helper()
	for _, m := range tagRe.FindAllStringSubmatch(page, -1) {
		if !allowedTags[strings.ToLower(m[1])] {
			t.Errorf("unexpected element <%s> in the page", m[1])
		}
	}
	if n := strings.Count(page, "<script"); n != 1 {
		t.Errorf("%d script elements, want 1 (the table sorter)", n)
	}
	for _, m := range attrRe.FindAllStringSubmatch(page, -1) {
		switch {
		case m[1] == "href" && strings.HasPrefix(m[2], "#"):
		default:
			t.Errorf("attribute %s=%q in the page", m[1], m[2])
		}
	}
	for _, bad := range []string{"@import", "url(http", "url(//", "<link", "<iframe", "<object", "<embed"} {
		if strings.Contains(strings.ToLower(page), bad) {
			t.Errorf("the page contains %q", bad)
		}
	}
	for _, id := range []string{`id="addrmap"`, `id="usagebar"`} {
		if !strings.Contains(page, id) {
			t.Errorf("the page lacks the SVG %s", id)
		}
	}
	// Each SVG picture is well-formed XML.
	for _, name := range []string{"addrmap", "usagebar", "histogram", "overview"} {
		i := strings.Index(page, `<svg id="`+name+`"`)
		if i < 0 {
			continue
		}
		j := strings.Index(page[i:], "</svg>")
		d := xml.NewDecoder(strings.NewReader(page[i : i+j+len("</svg>")]))
		d.Strict = true
		for {
			_, err := d.Token()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Errorf("SVG %s is not well-formed XML: %v", name, err)
				break
			}
		}
	}
}

func TestHTMLHostileNames(t *testing.T) {
	r := build(t, openBytes(t, hostileDump()), `x"><script>alert(5)</script>.dmp`, report.Options{})
	md, page, js := renderAll(t, r)
	checkPageStructure(t, page)
	for _, raw := range []string{"<script>alert", "<img", "<svg onload", "</style></title>", "\x1b"} {
		if strings.Contains(page, raw) {
			t.Errorf("HTML contains %q unescaped", raw)
		}
	}
	// The names are there, escaped, so the reader still sees them.
	if !strings.Contains(page, "&lt;script&gt;alert(1)&lt;/script&gt;") || !strings.Contains(page, `\x1b[31m`) {
		t.Errorf("HTML lacks the escaped module names")
	}
	// Markdown: outside code spans (whose text is literal) nothing may start markup.
	plain := stripCodeSpans(md)
	for _, raw := range []string{"<script>", "<img", "<svg", "</style>", "[x](javascript:", "\x1b", "<!--"} {
		if regexp.MustCompile(`(^|[^\\])` + regexp.QuoteMeta(raw)).MatchString(plain) {
			t.Errorf("Markdown contains %q unescaped outside code spans", raw)
		}
	}
	if !strings.Contains(md, `\<img src=x onerror=alert(2)\>`) || !strings.Contains(md, `\x1b[31m`) {
		t.Errorf("Markdown lacks the escaped names")
	}
	validate(t, []byte(js))
	if !strings.Contains(js, `\u003cscript\u003ealert(1)`) && !strings.Contains(js, `<script>alert(1)`) {
		t.Errorf("JSON lacks the module name")
	}
}

// TestMarkdownTableCells checks that a pipe or a line break from the dump cannot
// break a Markdown table row.
func TestMarkdownTableCells(t *testing.T) {
	r := build(t, openBytes(t, hostileDump()), "hostile.dmp", report.Options{})
	md, _, _ := renderAll(t, r)
	inTable := false
	cols := 0
	for _, line := range strings.Split(md, "\n") {
		if !strings.HasPrefix(line, "|") {
			inTable = false
			continue
		}
		n := len(regexp.MustCompile(`(^|[^\\])\|`).FindAllString(line, -1))
		if !inTable {
			inTable, cols = true, n
			continue
		}
		if n != cols {
			t.Errorf("table row has %d cells, the header %d: %s", n, cols, line)
		}
	}
}

func TestHTMLCorpus(t *testing.T) {
	for _, gc := range goldenCases {
		t.Run(gc.name, func(t *testing.T) {
			r := build(t, gc.open(t), gc.name+".dmp", gc.opt)
			_, page, _ := renderAll(t, r)
			checkPageStructure(t, page)
			if len(page) > 400<<10 {
				t.Errorf("page is %d KiB", len(page)>>10)
			}
		})
	}
}

// TestHugeMap builds a report of a 200,000-region map: the page stays small (the
// picture aggregates cells, the tables are cut to the top entries) and the report
// is quick.
func TestHugeMap(t *testing.T) {
	data := hugeBuilder(100000).Bytes()
	f := openBytes(t, data)
	start := time.Now()
	r := build(t, f, "huge.dmp", report.Options{})
	md, page, js := renderAll(t, r)
	took := time.Since(start)
	if r.Map.Regions < 200000 {
		t.Fatalf("only %d regions", r.Map.Regions)
	}
	t.Logf("200,000 regions: %v; HTML %d KiB, Markdown %d KiB, JSON %d KiB", took, len(page)>>10, len(md)>>10, len(js)>>10)
	if len(page) > 300<<10 || len(md) > 200<<10 || len(js) > 200<<10 {
		t.Errorf("too large: HTML %d KiB, Markdown %d KiB, JSON %d KiB", len(page)>>10, len(md)>>10, len(js)>>10)
	}
	checkPageStructure(t, page)
	validate(t, []byte(js))
}

// TestLarge200k runs the report on the peers' 200,000-region dump when it is there.
func TestLarge200k(t *testing.T) {
	home, _ := os.UserHomeDir()
	p := filepath.Join(home, ".cache", "minidump-peers", "inputs", "large-200k.dmp")
	if _, err := os.Stat(p); err != nil {
		t.Skip("large-200k.dmp not found (../shared/peers/build-inputs.sh makes it)")
	}
	f, err := minidump.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	start := time.Now()
	r := build(t, f, "large-200k.dmp", report.Options{})
	md, page, js := renderAll(t, r)
	t.Logf("large-200k: %v; HTML %d KiB, Markdown %d KiB, JSON %d KiB", time.Since(start), len(page)>>10, len(md)>>10, len(js)>>10)
	if len(page) > 300<<10 {
		t.Errorf("HTML is %d KiB", len(page)>>10)
	}
	checkPageStructure(t, page)
	validate(t, []byte(js))
}

// TestCorpusEveryDump reports on every dump of the corpus, malformed ones included:
// Build fails only when there is nothing to map, every JSON report validates, and
// every page has the expected structure.
func TestCorpusEveryDump(t *testing.T) {
	root := corpusDir()
	if root == "" {
		t.Skip("../shared/corpus not found")
	}
	n := 0
	filepath.Walk(root, func(p string, info os.FileInfo, err error) error {
		if err != nil || info.IsDir() || info.Size() > 64<<20 {
			return nil
		}
		f, err := minidump.Open(p)
		if err != nil {
			return nil // not a minidump
		}
		defer f.Close()
		rel, _ := filepath.Rel(root, p)
		r, err := report.Build(process.New(f, process.Options{}), report.Options{Name: filepath.Base(p), NoMax: true})
		if err != nil {
			t.Logf("%s: no report: %v", rel, err)
			return nil
		}
		n++
		t.Run(rel, func(t *testing.T) {
			_, page, js := renderAll(t, r)
			validate(t, []byte(js))
			checkPageStructure(t, page)
		})
		return nil
	})
	if n < 10 {
		t.Errorf("only %d reports", n)
	}
}
