package report_test

import (
	"bytes"
	"context"
	"encoding/json"
	"html"
	"image"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/dumpmap/dumpmap/analysis/report"
	"github.com/dumpmap/dumpmap/minidump"
)

// The browser test opens each report in Debian's Chromium, headless: the page must
// load without a console error or a failed resource, draw the address-space SVG at
// the size the layout computed, keep its tables sortable, and look like something
// in a screenshot. It skips where /usr/bin/chromium is not installed (CI installs
// it) and with -short.
//
// DUMPMAP_CHROMIUM names another browser binary; DUMPMAP_SCREENSHOTS=DIR keeps the
// screenshots (DIR/NAME.png) for looking at.

func chromiumPath(t *testing.T) string {
	if testing.Short() {
		t.Skip("-short: no browser test")
	}
	p := os.Getenv("DUMPMAP_CHROMIUM")
	if p == "" {
		p = "/usr/bin/chromium"
	}
	if _, err := os.Stat(p); err != nil {
		t.Skipf("%s not installed: no browser test", p)
	}
	return p
}

// runChromium runs the browser headless, as root in a container must: no sandbox,
// no GPU, and none of the background connections a closed network refuses.
func runChromium(t *testing.T, bin string, args ...string) (stdout, stderr string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	base := []string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync", "--disable-extensions",
		"--user-data-dir=" + t.TempDir(), "--hide-scrollbars", "--enable-logging=stderr", "--v=0"}
	cmd := exec.CommandContext(ctx, bin, append(base, args...)...)
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	cmd.Env = append(os.Environ(), "HOME="+t.TempDir())
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s %v: %v\n%s", bin, args, err, tail(e.String(), 2000))
	}
	return o.String(), e.String()
}

func tail(s string, n int) string {
	if len(s) > n {
		return "..." + s[len(s)-n:]
	}
	return s
}

// probeScript is put at the start of a copy of the page. It records every error
// the page causes (exceptions, console.error and console.warn, failed resources,
// dialogs a hostile name might open), then measures the page and sorts a table,
// and leaves the results in an attribute of <html> for --dump-dom to print.
const probeScript = `<script>
(function () {
  var errs = [];
  window.addEventListener("error", function (e) {
    var t = e.target;
    errs.push(t && t !== window ? "resource: " + (t.src || t.href || t.tagName) : "error: " + e.message);
  }, true);
  window.addEventListener("unhandledrejection", function (e) { errs.push("rejection: " + e.reason); });
  document.addEventListener("securitypolicyviolation", function (e) { errs.push("csp: " + e.blockedURI); });
  ["error", "warn"].forEach(function (k) {
    var orig = console[k];
    console[k] = function () { errs.push("console." + k + ": " + Array.prototype.join.call(arguments, " ")); orig.apply(console, arguments); };
  });
  ["alert", "confirm", "prompt"].forEach(function (k) { window[k] = function (m) { errs.push("dialog " + k + ": " + m); }; });
  window.addEventListener("load", function () {
    var out = {errors: errs};
    var svg = document.getElementById("addrmap");
    if (svg) {
      var r = svg.getBoundingClientRect();
      out.map = {width: r.width, height: r.height, attrWidth: svg.getAttribute("width"), attrHeight: svg.getAttribute("height"),
        rects: svg.querySelectorAll("rect").length};
    }
    out.svgs = document.querySelectorAll("svg").length;
    out.resources = performance.getEntriesByType("resource").map(function (e) { return e.name; });
    out.sortable = document.querySelectorAll("th.sort").length;
    out.title = document.title;
    // Sort the first table with a numeric column and at least three rows, both ways.
    var tables = document.querySelectorAll("table.sortable");
    for (var i = 0; i < tables.length && !out.sort; i++) {
      var t = tables[i], rows = t.tBodies[0].rows;
      if (rows.length < 3) continue;
      var ths = t.tHead.rows[0].cells;
      for (var c = 0; c < ths.length; c++) {
        if (!rows[0].cells[c] || rows[0].cells[c].getAttribute("data-v") === null) continue;
        var keys = function () { return Array.prototype.map.call(t.tBodies[0].rows, function (r) { return parseFloat(r.cells[c].getAttribute("data-v")); }); };
        ths[c].click();
        var up = keys();
        ths[c].click();
        var down = keys();
        var asc = up.every(function (v, j) { return j === 0 || up[j - 1] <= v; });
        var desc = down.every(function (v, j) { return j === 0 || down[j - 1] >= v; });
        out.sort = {table: t.caption ? t.caption.textContent : "", column: ths[c].textContent, ascending: asc, descending: desc, rows: up.length};
        break;
      }
    }
    document.documentElement.setAttribute("data-probe", JSON.stringify(out));
  });
})();
</script>`

type probeResult struct {
	Errors []string `json:"errors"`
	Map    *struct {
		Width, Height         float64
		AttrWidth, AttrHeight string
		Rects                 int
	} `json:"map"`
	SVGs      int      `json:"svgs"`
	Resources []string `json:"resources"`
	Sortable  int      `json:"sortable"`
	Title     string   `json:"title"`
	Sort      *struct {
		Table, Column         string
		Ascending, Descending bool
		Rows                  int
	} `json:"sort"`
}

var probeRe = regexp.MustCompile(`data-probe="([^"]*)"`)

// consoleRe matches the lines Chromium logs for console messages and uncaught
// exceptions with --enable-logging=stderr.
// ("...:INFO:CONSOLE:12] "message", source: ..." in Chromium 120 and later,
// "...:INFO:CONSOLE(12)] ..." before).
var consoleRe = regexp.MustCompile(`(?m)^.*:CONSOLE(:\d+|\(\d+\))\].*$|Uncaught .*`)

func TestChromium(t *testing.T) {
	bin := chromiumPath(t)
	keep := os.Getenv("DUMPMAP_SCREENSHOTS")
	cases := []struct {
		name    string
		open    func(t *testing.T) *minidump.File
		hostile bool
	}{
		{"seed", func(t *testing.T) *minidump.File { return openBytes(t, seedDump()) }, false},
		{"fixture-seed", func(t *testing.T) *minidump.File { return goldenCase{fixture: "seed.dmp"}.open(t) }, false},
		{"hostile", func(t *testing.T) *minidump.File { return openBytes(t, hostileDump()) }, true},
		{"windows-x86", func(t *testing.T) *minidump.File { return openCorpus(t, "mozilla-pgo/windows-x86.dmp") }, false},
		{"stability-report", func(t *testing.T) *minidump.File { return openCorpus(t, "rust-minidump/stability-report.dmp") }, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel() // each runs its own browser
			var opt report.Options
			if tc.name == "fixture-seed" {
				opt = fixtureSeedOptions
			}
			r := build(t, tc.open(t), tc.name+".dmp", opt)
			var page bytes.Buffer
			if err := r.WriteHTML(&page); err != nil {
				t.Fatal(err)
			}
			dir := t.TempDir()
			pagePath := filepath.Join(dir, "report.html")
			if err := os.WriteFile(pagePath, page.Bytes(), 0o644); err != nil {
				t.Fatal(err)
			}
			probed := strings.Replace(page.String(), "<head>", "<head>\n"+probeScript, 1)
			probePath := filepath.Join(dir, "probe.html")
			if err := os.WriteFile(probePath, []byte(probed), 0o644); err != nil {
				t.Fatal(err)
			}

			dom, logs := runChromium(t, bin, "--virtual-time-budget=5000", "--dump-dom", "file://"+probePath)
			m := probeRe.FindStringSubmatch(dom)
			if m == nil {
				t.Fatalf("the probe left no result; the page did not load?\n%s", tail(logs, 2000))
			}
			var p probeResult
			if err := json.Unmarshal([]byte(html.UnescapeString(m[1])), &p); err != nil {
				t.Fatalf("probe result: %v", err)
			}
			if len(p.Errors) > 0 {
				t.Errorf("the page caused errors: %q", p.Errors)
			}
			if c := consoleRe.FindAllString(logs, -1); len(c) > 0 {
				t.Errorf("console messages: %q", c)
			}
			if len(p.Resources) > 0 {
				t.Errorf("the page loaded resources: %q", p.Resources)
			}
			w, h := r.MapSize()
			if p.Map == nil {
				t.Fatalf("no SVG #addrmap in the page")
			}
			if p.Map.Width != float64(w) || p.Map.Height != float64(h) || p.Map.Rects < 2 {
				t.Errorf("the map SVG is drawn %vx%v with %d rects; the layout says %dx%d", p.Map.Width, p.Map.Height, p.Map.Rects, w, h)
			}
			if p.SVGs < 4 {
				t.Errorf("%d SVG elements, want the map, the usage bar, the histogram and the patterns", p.SVGs)
			}
			if p.Sortable == 0 {
				t.Errorf("no sortable table headers: the script did not run")
			}
			if p.Sort == nil || !p.Sort.Ascending || !p.Sort.Descending {
				t.Errorf("sorting a table: %+v", p.Sort)
			}
			if !strings.HasPrefix(p.Title, "dumpmap report: ") {
				t.Errorf("title %q", p.Title)
			}
			if tc.hostile {
				return
			}

			shot := filepath.Join(dir, "shot.png")
			if keep != "" {
				shot = filepath.Join(keep, tc.name+".png")
			}
			_, logs = runChromium(t, bin, "--screenshot="+shot, "--window-size=1280,2400", "file://"+pagePath)
			f, err := os.Open(shot)
			if err != nil {
				t.Fatalf("no screenshot: %v\n%s", err, tail(logs, 2000))
			}
			defer f.Close()
			img, err := png.Decode(f)
			if err != nil {
				t.Fatalf("screenshot: %v", err)
			}
			if b := img.Bounds(); b.Dx() != 1280 || b.Dy() != 2400 {
				t.Errorf("screenshot is %dx%d", b.Dx(), b.Dy())
			}
			if n := colours(img); n < 12 {
				t.Errorf("the screenshot has %d colours: blank?", n)
			}
		})
	}
}

// colours counts the distinct colours of an image (up to 1,000).
func colours(img image.Image) int {
	seen := map[[4]uint32]bool{}
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y += 3 {
		for x := b.Min.X; x < b.Max.X; x += 3 {
			r, g, bl, a := img.At(x, y).RGBA()
			seen[[4]uint32{r >> 8, g >> 8, bl >> 8, a >> 8}] = true
			if len(seen) >= 1000 {
				return len(seen)
			}
		}
	}
	return len(seen)
}
