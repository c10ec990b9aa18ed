package main

import (
	"context"
	"slices"

	"github.com/dumpmap/dumpmap/analysis/render"
	"github.com/dumpmap/dumpmap/analysis/stack"
	"github.com/spf13/pflag"
)

func init() {
	register(&command{
		name: "stack", summary: "show call stacks like WinDbg's k: the crashing thread's, one thread's or all",
		args: []string{"FILE"},
		setup: func(fs *pflag.FlagSet) runFunc {
			sym := addSymbolFlags(fs)
			tid := fs.Uint32("thread", 0, "the thread with this `TID` (default: the crashing thread)")
			all := fs.Bool("all", false, "every thread")
			format := fs.String("format", "text", "output `FORMAT`: text, json (as --json) or stackwalk-json (minidump-stackwalk --json, every thread)")
			return func(e *env, args []string) error { return runStack(e, args[0], sym, *tid, *all, *format) }
		},
	})
}

func runStack(e *env, path string, sym *symOpts, tid uint32, all bool, format string) error {
	opts, err := sym.options()
	if err != nil {
		return err
	}
	switch {
	case all && tid != 0:
		return usageErrorf("--thread and --all: give one")
	case format == "json":
		e.json = true
	case format == "stackwalk-json" && (e.json || tid != 0):
		return usageErrorf("--format stackwalk-json is its own JSON of every thread: no --json or --thread")
	case format != "text" && format != "stackwalk-json":
		return usageErrorf("--format %q: give text, json or stackwalk-json", format)
	}
	d, err := openDump(path)
	if err != nil {
		return err
	}
	defer d.Close()
	defer d.flush(e)
	p := d.process(opts)
	sd, err := stack.ForProcess(context.Background(), p, stack.Options{})
	if err != nil {
		return &fileError{file: d.path, err: err}
	}
	var sw *render.Stackwalk
	var res stack.Result
	if format == "stackwalk-json" {
		sw, err = render.NewStackwalk(context.Background(), p, sd)
	} else {
		res, err = render.WalkStacks(sd, tid, all)
	}
	if err != nil {
		return &fileError{file: d.path, err: err}
	}
	for _, w := range slices.Concat(sd.Warnings, p.Damage(), sw.Warnings()) {
		d.warn(w)
	}
	if sw != nil {
		return sw.WriteJSON(e.stdout)
	}
	return e.write(render.NewStack(d.path, res, p.PointerSize(), &d.warns))
}
