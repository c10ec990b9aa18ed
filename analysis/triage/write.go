package triage

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/dumpmap/dumpmap/analysis/render"
)

// A Writer is an output format: it takes the records as Run delivers them, then
// the summary.
type Writer interface {
	Record(*Record) error
	Finish(*Summary) error
}

// Summary sums up a run. It is also the JSON object of the NDJSON "summary" line,
// the last line of a finished run.
type Summary struct {
	Kind    string  `json:"kind"` // "summary"
	GroupBy GroupBy `json:"group_by"`
	Shard   string  `json:"shard"` // "i/n"
	// Files is the number of files on disk found in this shard, OtherShards those
	// found that belong to other shards.
	Files       int64 `json:"files"`
	OtherShards int64 `json:"other_shards"`
	// Records, Dumps, Errors and OOM count this run's records; Resumed counts the
	// records a --resume run found in its output file and kept, and Skipped the
	// files and members it left out for that reason. Groups cover both.
	Records    int64            `json:"records"`
	Dumps      int64            `json:"dumps"`
	Errors     int64            `json:"errors"`
	ErrorKinds map[string]int64 `json:"error_kinds"`
	OOM        int64            `json:"oom"`
	Resumed    int64            `json:"resumed"`
	Skipped    int64            `json:"skipped"`
	Loops      int64            `json:"folder_loops"` // folders reached twice through links, walked once
	Groups     int              `json:"groups"`
	Bytes      int64            `json:"bytes"` // bytes of the analysed dumps
	Seconds    float64          `json:"elapsed_seconds"`
	PerSecond  float64          `json:"records_per_second"`
	// Interrupted is set when the run was stopped before the end (Ctrl-C): resume it
	// with --resume.
	Interrupted bool `json:"interrupted"`
}

// NewSummary fills a Summary from a run's Stats.
func NewSummary(st Stats, by GroupBy, shard Shard) *Summary {
	s := &Summary{Kind: "summary", GroupBy: by, Shard: shard.String(), Files: st.Files, OtherShards: st.OtherShards,
		Records: st.Records, Dumps: st.Dumps, Errors: st.Errors, ErrorKinds: st.ErrorKinds, OOM: st.OOM,
		Skipped: st.Skipped, Loops: st.Loops, Bytes: st.Bytes, Seconds: st.Elapsed.Seconds(), Interrupted: st.Interrupted}
	if s.ErrorKinds == nil {
		s.ErrorKinds = map[string]int64{}
	}
	if s.Seconds > 0 {
		s.PerSecond = float64(st.Records) / s.Seconds
	}
	return s
}

// NDJSONWriter writes one JSON object per line: every record as it completes
// ("kind":"record"), then at the end the groups ("kind":"group", most frequent
// first) and the summary ("kind":"summary"). Each line is written with one Write
// call, so a run that is killed leaves whole lines but perhaps the last.
type NDJSONWriter struct {
	w   io.Writer
	g   *Grouper
	buf bytes.Buffer
	enc *json.Encoder
}

// NewNDJSONWriter returns a writer that groups by g's grouping; g may already hold
// the records of an earlier run (--resume).
func NewNDJSONWriter(w io.Writer, g *Grouper) *NDJSONWriter {
	n := &NDJSONWriter{w: w, g: g}
	n.enc = json.NewEncoder(&n.buf)
	n.enc.SetEscapeHTML(false) // "<Unloaded_x.dll>+0x10" stays readable
	return n
}

func (n *NDJSONWriter) line(v any) error {
	n.buf.Reset()
	if err := n.enc.Encode(v); err != nil { // one line, ending in '\n'
		return err
	}
	_, err := n.w.Write(n.buf.Bytes())
	return err
}

// Record writes rec.
func (n *NDJSONWriter) Record(rec *Record) error {
	n.g.Add(rec)
	return n.line(rec)
}

// Finish writes the groups and the summary.
func (n *NDJSONWriter) Finish(s *Summary) error {
	groups := n.g.Groups()
	s.Groups = len(groups)
	for i := range groups {
		if err := n.line(&groups[i]); err != nil {
			return err
		}
	}
	return n.line(s)
}

// JSONWriter writes one indented JSON object at the end, the shape every
// `dumpmap --json` command prints: the paths, the summary and the groups (not the
// records: for those, NDJSON or CSV, whose memory does not grow with the run).
type JSONWriter struct {
	w     io.Writer
	g     *Grouper
	paths []string
}

// Report is the object JSONWriter writes.
type Report struct {
	Paths    []string `json:"paths"`
	Summary  *Summary `json:"summary"`
	Groups   []Group  `json:"groups"`
	Warnings []string `json:"warnings"` // always empty: every problem is in a record
}

// NewJSONWriter returns a writer for the run over paths.
func NewJSONWriter(w io.Writer, g *Grouper, paths []string) *JSONWriter {
	return &JSONWriter{w: w, g: g, paths: paths}
}

// Record counts rec in its group.
func (j *JSONWriter) Record(rec *Record) error {
	j.g.Add(rec)
	return nil
}

// Finish writes the object.
func (j *JSONWriter) Finish(s *Summary) error {
	groups := j.g.Groups()
	s.Groups = len(groups)
	enc := json.NewEncoder(j.w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(Report{Paths: j.paths, Summary: s, Groups: groups, Warnings: []string{}})
}

// CSVColumns are the columns of the CSV output, one row per record. Lists
// (oom_reasons, capture) are joined with ";", frames with " | "; unknown values
// are empty. New columns are added at the end.
var CSVColumns = []string{
	"file", "member", "container", "size", "sha256", "time", "os", "arch", "product", "product_version",
	"exception_code", "exception_name", "fault_module", "fault_offset", "signature", "oom", "oom_reasons",
	"verdict", "map", "largest_usable_free", "usable_free", "fits_64k", "fits_1m", "capture", "error_kind", "error",
	"frame_signature", "frames", "request_path", "request_size", "request_heap", "request_verdict", "request_evidence",
}

// CSVWriter writes a header and one row per record (RFC 4180). The text cells
// (paths, names and messages that come from the dump or the file system) are
// sanitised by render.Clean, as in every output meant for people: a spreadsheet
// or a terminal shows a bidirectional override or an escape sequence as \u202e or
// \x1b rather than obeying it (NDJSON keeps the exact values for programs). Text
// that then starts with = + - @ is prefixed with ' so that a spreadsheet does not
// run it as a formula.
type CSVWriter struct {
	w *csv.Writer
}

// NewCSVWriter returns a CSV writer; the header is written at once.
func NewCSVWriter(w io.Writer) (*CSVWriter, error) {
	c := &CSVWriter{w: csv.NewWriter(w)}
	return c, c.w.Write(CSVColumns)
}

// Record writes rec's row.
func (c *CSVWriter) Record(r *Record) error {
	row := []string{
		safe(r.File), safe(r.Member), r.Container, strconv.FormatInt(r.Size, 10), r.SHA256, timeString(r.Time, time.RFC3339),
		safe(r.OS), safe(r.Arch), safe(r.Product), safe(r.ProductVersion),
		hexString(r.ExceptionCode), safe(r.ExceptionName), safe(r.FaultModule), hexString(r.FaultOffset), safe(r.Signature),
		strconv.FormatBool(r.OOM), strings.Join(r.OOMReasons, ";"),
		string(r.Verdict), r.MapSource, uintString(r.LargestUsableFree), uintString(r.UsableFree), boolString(r.Fits64K), boolString(r.Fits1M),
		strings.Join(r.Capture, ";"), string(r.ErrorKind), safe(r.Error),
		safe(r.FrameSignature), safe(strings.Join(r.Frames, " | ")),
	}
	if fr := r.FailedRequest; fr != nil {
		size := ""
		if fr.Size != 0 {
			size = strconv.FormatUint(fr.Size, 10)
		}
		row = append(row, fr.Path, size, hexString(fr.Heap), r.RequestVerdict, strings.Join(fr.Evidence, ";"))
	} else {
		row = append(row, "", "", "", "", "")
	}
	return c.w.Write(row)
}

// Finish flushes the rows.
func (c *CSVWriter) Finish(*Summary) error {
	c.w.Flush()
	return c.w.Error()
}

// safe sanitises a text cell and defuses a formula.
func safe(s string) string {
	s = render.Clean(s)
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}

func hexString(h *Hex) string {
	if h == nil {
		return ""
	}
	return h.String()
}

func uintString(v *uint64) string {
	if v == nil {
		return ""
	}
	return strconv.FormatUint(*v, 10)
}

func boolString(v *bool) string {
	if v == nil {
		return ""
	}
	return strconv.FormatBool(*v)
}

func timeString(t time.Time, layout string) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(layout)
}

// TableWriter writes the groups as a text table, most frequent first, after a
// line that sums up the run. It keeps only the groups, whatever the number of
// records.
type TableWriter struct {
	w io.Writer
	g *Grouper
}

// NewTableWriter returns a table writer grouping with g.
func NewTableWriter(w io.Writer, g *Grouper) *TableWriter { return &TableWriter{w: w, g: g} }

// Record counts rec in its group.
func (t *TableWriter) Record(rec *Record) error {
	t.g.Add(rec)
	return nil
}

// Finish writes the table.
func (t *TableWriter) Finish(s *Summary) error {
	groups := t.g.Groups()
	s.Groups = len(groups)
	var b strings.Builder
	fmt.Fprintf(&b, "%s from %s: %s analysed, %s could not be",
		render.Plural(int(s.Records+s.Resumed), "record"), render.Plural(int(s.Files), "file"), render.Plural(int(s.Dumps), "dump"), count(s.Errors))
	if len(s.ErrorKinds) > 0 {
		kinds := make([]string, 0, len(s.ErrorKinds))
		for k := range s.ErrorKinds {
			kinds = append(kinds, k)
		}
		sort.Strings(kinds)
		b.WriteString(" (")
		for i, k := range kinds {
			if i > 0 {
				b.WriteString(", ")
			}
			fmt.Fprintf(&b, "%d %s", s.ErrorKinds[k], k)
		}
		b.WriteString(")")
	}
	fmt.Fprintf(&b, "; %s like out-of-memory.\n", plural2(s.OOM, "looks", "look"))
	if s.Resumed > 0 {
		fmt.Fprintf(&b, "%s were recorded by an earlier run (--resume).\n", count(s.Resumed))
	}
	if s.OtherShards > 0 {
		fmt.Fprintf(&b, "Shard %s: %s belong to other shards.\n", s.Shard, render.Plural(int(s.OtherShards), "file"))
	}
	if s.Interrupted {
		b.WriteString("Interrupted: the files not reached have no record.\n")
	}
	fmt.Fprintf(&b, "Grouped by %s, most frequent first.\n\n", s.GroupBy)
	if _, err := io.WriteString(t.w, b.String()); err != nil {
		return err
	}
	tb := render.NewTable(">COUNT", ">OOM", strings.ToUpper(string(s.GroupBy)), "FIRST SEEN", "LAST SEEN", "EXAMPLE")
	for _, g := range groups {
		ex := g.Example
		if g.ExampleMember != "" {
			ex += "!" + g.ExampleMember
		}
		tb.Row(strconv.FormatInt(g.Count, 10), strconv.FormatInt(g.OOM, 10), g.Key,
			render.OrDash(timeString(g.FirstSeen, "2006-01-02 15:04")), render.OrDash(timeString(g.LastSeen, "2006-01-02 15:04")), ex)
	}
	return tb.Print(t.w, "")
}

func count(n int64) string { return strconv.FormatInt(n, 10) }

func plural2(n int64, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return count(n) + " " + many
}

// NewWriter returns the writer of a format: "table", "csv", "ndjson" or "json"
// (one object: the summary and the groups of the run over paths).
func NewWriter(format string, w io.Writer, g *Grouper, paths []string) (Writer, error) {
	switch format {
	case "csv":
		return NewCSVWriter(w)
	case "ndjson":
		return NewNDJSONWriter(w, g), nil
	case "json":
		return NewJSONWriter(w, g, paths), nil
	case "table":
		return NewTableWriter(w, g), nil
	}
	return nil, fmt.Errorf("bad --format %q: want table, csv or ndjson", format)
}
