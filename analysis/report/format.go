package report

import (
	"fmt"
	"io"
	"path/filepath"
	"strings"
)

// Format is one of the report's formats.
type Format string

// The formats.
const (
	Markdown Format = "md"
	HTML     Format = "html"
	JSON     Format = "json"
)

// FormatFor picks the format: the one named ("md", "markdown", "html", "json"),
// else the one the output file's extension says (.html, .htm, .json), else
// Markdown.
func FormatFor(name, outPath string) (Format, error) {
	switch n := strings.ToLower(name); n {
	case "":
		switch strings.ToLower(filepath.Ext(outPath)) {
		case ".html", ".htm":
			return HTML, nil
		case ".json":
			return JSON, nil
		}
		return Markdown, nil
	case "md", "markdown":
		return Markdown, nil
	case "html", "json":
		return Format(n), nil
	}
	return "", fmt.Errorf("want md, html or json, not %q", name)
}

// Write writes the report in format f.
func (r *Report) Write(w io.Writer, f Format) error {
	switch f {
	case HTML:
		return r.WriteHTML(w)
	case JSON:
		return r.WriteJSON(w)
	}
	return r.WriteMarkdown(w)
}
