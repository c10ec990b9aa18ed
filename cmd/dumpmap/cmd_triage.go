package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/dumpmap/dumpmap/analysis"
	"github.com/dumpmap/dumpmap/analysis/stack"
	"github.com/dumpmap/dumpmap/analysis/triage"
	"github.com/spf13/pflag"
	"golang.org/x/term"
)

func init() {
	register(&command{
		name:    "triage",
		summary: "analyse folders of dumps in parallel: one record per dump, grouped by crash signature",
		args:    []string{"PATH..."},
		setup: func(fs *pflag.FlagSet) runFunc {
			var o triageFlags
			o.mf = addMapFlags(fs)
			o.mf.addBelowFlag(fs)
			o.mf.addSymbolFlags(fs)
			fs.IntVarP(&o.jobs, "jobs", "j", 0, "files analysed at once (default: one per core)")
			fs.StringVar(&o.format, "format", "table", "output format: table, csv or ndjson")
			fs.StringVarP(&o.out, "output", "o", "", "write to this file instead of stdout (it must not exist)")
			fs.BoolVar(&o.force, "force", false, "overwrite the -o file if it exists")
			fs.StringVar(&o.groupBy, "group-by", "frames", "group by frames (the stack's crash signature), signature (module+offset), module, verdict or version")
			fs.StringVar(&o.sigRules, "signature-rules", "", "extend the frames a crash signature skips with this `FILE` ([irrelevant] and [prefix] patterns, docs/triage.md)")
			fs.StringVar(&o.resume, "resume", "", "continue the NDJSON output `OUT` of an interrupted run: skip what it holds, append")
			fs.StringVar(&o.shard, "shard", "", "triage only part `i/n` of the files (0 <= i < n)")
			fs.DurationVar(&o.timeout, "timeout", triage.DefaultTimeout, "time limit of one file or archive member")
			fs.StringVar(&o.maxUnpacked, "max-unpacked", "4GiB", "largest `SIZE` one archive member may decompress to")
			return func(e *env, args []string) error {
				o.formatSet = fs.Changed("format")
				return runTriage(e, args, o)
			}
		},
	})
}

type triageFlags struct {
	mf                                  mapFlags
	force                               bool
	jobs                                int
	format, out, groupBy, resume, shard string
	sigRules                            string
	formatSet                           bool // --format was given
	timeout                             time.Duration
	maxUnpacked                         string
}

func runTriage(e *env, paths []string, f triageFlags) error {
	if e.json {
		if f.formatSet || f.resume != "" {
			return usageErrorf("--json prints one object (the summary and the groups): leave out --format and --resume, or use --format ndjson for the records")
		}
		f.format = "json"
	}
	if _, err := triage.NewWriter(f.format, io.Discard, nil, nil); err != nil {
		return usageErrorf("%v", err)
	}
	by, err := triage.ParseGroupBy(f.groupBy)
	if err != nil {
		return usageErrorf("%v", err)
	}
	opt := triage.Options{Jobs: f.jobs, Timeout: f.timeout, Ordered: f.format == "csv"}
	if opt.Signature, err = stack.LoadSignatureRules(f.sigRules); err != nil {
		return usageErrorf("--signature-rules: %v", err)
	}
	if opt.Map, err = f.mf.options(); err != nil {
		return err
	}
	if opt.Process, err = f.mf.sym.options(); err != nil {
		return err
	}
	if f.jobs < 0 {
		return usageErrorf("--jobs must be at least 1")
	}
	if f.timeout <= 0 {
		return usageErrorf("--timeout must be positive")
	}
	if f.shard != "" {
		if opt.Shard, err = triage.ParseShard(f.shard); err != nil {
			return usageErrorf("--shard: %v", err)
		}
	}
	n, err := analysis.ParseSize(f.maxUnpacked)
	if err != nil || n == 0 || n > 1<<62 {
		return usageErrorf("bad --max-unpacked %q", f.maxUnpacked)
	}
	opt.MaxUnpacked = int64(n)

	if f.resume != "" {
		if f.out != "" && f.out != f.resume {
			return usageErrorf("--resume writes to its own file: leave out -o, or give the same file")
		}
		if f.format != "ndjson" && f.formatSet {
			return usageErrorf("--resume writes NDJSON: leave out --format, or give --format ndjson")
		}
		f.format = "ndjson"
	}
	g := triage.NewGrouper(by)
	o, err := triage.OpenOutput(e.stdout, f.out, f.resume, f.force, g)
	if err != nil {
		if f.resume != "" {
			return &fileError{file: f.resume, err: err}
		}
		return fileErr(err)
	}
	defer o.Close()
	opt.Exclude, opt.Skip = o.Exclude, o.Skip
	out := o.W
	w, err := triage.NewWriter(f.format, out, g, paths)
	if err != nil {
		return err
	}

	var bar *triage.Bar
	if t, ok := e.stderr.(*os.File); ok && term.IsTerminal(int(t.Fd())) {
		bar = triage.NewBar(t)
		opt.Progress = bar.Update
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	st, runErr := triage.Run(ctx, paths, opt, w.Record)
	if bar != nil {
		bar.Done()
	}
	s := triage.NewSummary(st, by, opt.Shard)
	s.Resumed = o.Resumed
	if err := w.Finish(s); err != nil {
		return &fileError{file: o.Name, err: err}
	}
	if err := o.Close(); err != nil {
		return &fileError{file: o.Name, err: err}
	}
	if bar != nil {
		fmt.Fprintf(e.stderr, "dumpmap triage: %d records (%d errors) from %d files in %s: %.0f records/s\n",
			st.Records, st.Errors, st.Files, st.Elapsed.Round(time.Millisecond), s.PerSecond)
	}
	if st.Interrupted {
		msg := "interrupted"
		if f.format == "ndjson" && o.Name != "stdout" {
			msg += fmt.Sprintf("; the records so far are in %s: run again with --resume %[1]s to finish", o.Name)
		}
		return fmt.Errorf("%s", msg)
	}
	if runErr != nil {
		return &fileError{file: o.Name, err: runErr}
	}
	return nil
}
