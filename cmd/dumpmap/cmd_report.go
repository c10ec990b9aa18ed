package main

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/dumpmap/dumpmap/analysis/render"
	"github.com/dumpmap/dumpmap/analysis/report"
	"github.com/spf13/pflag"
)

func init() {
	register(&command{
		name:    "report",
		summary: "write one report for a ticket: Markdown, a self-contained HTML page with pictures, or JSON",
		args:    []string{"FILE"},
		setup: func(fs *pflag.FlagSet) runFunc {
			var o reportOpts
			o.mf = addMapFlags(fs)
			o.mf.addBelowFlag(fs)
			o.mf.addSymbolFlags(fs)
			o.format = fs.String("format", "", "md, html or json (default: from -o's extension, else md)")
			o.sizes = fs.StringArray("size", nil, "a request size to explain (50K, 1MiB, 0x10000); repeat for more")
			o.vias = fs.StringSlice("via", nil, "allocation paths to explain each size for: virtualalloc, reserve, heap, malloc, vector (default virtualalloc,malloc)")
			o.top = fs.Int("top", 10, "how many waste patterns and allocations to list")
			o.out = fs.StringP("output", "o", "", "write the report to this file instead of stdout")
			o.force = fs.Bool("force", false, "with -o: overwrite the file if it exists")
			o.noMax = fs.Bool("no-max", false, "leave out the largest request that would succeed by each path")
			return func(e *env, args []string) error { return runReport(e, args, o) }
		},
	})
}

type reportOpts struct {
	mf           mapFlags
	format, out  *string
	sizes        *[]string
	vias         *[]string
	top          *int
	force, noMax *bool
}

func runReport(e *env, args []string, o reportOpts) error {
	if e.json {
		if *o.format != "" && strings.ToLower(*o.format) != "json" {
			return usageErrorf("--json conflicts with --format %s", strings.ToLower(*o.format))
		}
		*o.format = "json"
	}
	format, err := report.FormatFor(*o.format, *o.out)
	if err != nil {
		return usageErrorf("--format: %v", err)
	}
	if *o.top < 1 {
		return usageErrorf("--top must be at least 1")
	}
	if *o.force && *o.out == "" {
		return usageErrorf("--force only makes sense with -o")
	}
	mapOpt, err := o.mf.options()
	if err != nil {
		return err
	}
	symOpt, err := o.mf.sym.options()
	if err != nil {
		return err
	}
	opt := report.Options{Generator: "dumpmap " + versionString(), Map: mapOpt, Top: *o.top, NoMax: *o.noMax}
	if opt.Sizes, opt.Vias, err = render.ParseSizesVias(*o.sizes, *o.vias); err != nil {
		return usageErrorf("%v", err)
	}
	// Refuse early, before the work, when the output exists.
	if *o.out != "" && !*o.force {
		if _, err := os.Lstat(*o.out); err == nil {
			return &fileError{file: *o.out, err: errors.New("exists (use --force to overwrite it)")}
		}
	}

	d, err := openDump(args[0])
	if err != nil {
		return err
	}
	defer d.Close()
	defer d.flush(e)
	opt.Name = filepath.Base(d.path) // the display name: an archive member's, "<stdin>"
	r, err := report.Build(d.process(symOpt), opt)
	if err != nil {
		return &fileError{file: d.path, err: err}
	}
	for _, w := range r.Warnings {
		d.warn(errors.New(w))
	}
	r.AddWarnings(d.warns.List())

	var buf bytes.Buffer
	if err := r.Write(&buf, format); err != nil {
		return fmt.Errorf("report: %w", err)
	}
	if *o.out == "" {
		_, err = e.stdout.Write(buf.Bytes())
		return err
	}
	return fileErr(render.WriteOutput(*o.out, buf.Bytes(), *o.force))
}

// fileErr turns an error about a file into the CLI's "dumpmap: FILE: ..." form.
func fileErr(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return &fileError{file: pe.Path, err: pe.Err}
	}
	return err
}
