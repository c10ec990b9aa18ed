package main

import (
	"context"

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
			return func(e *env, args []string) error { return runStack(e, args[0], sym, *tid, *all) }
		},
	})
}

func runStack(e *env, path string, sym *symOpts, tid uint32, all bool) error {
	opts, err := sym.options()
	if err != nil {
		return err
	}
	if all && tid != 0 {
		return usageErrorf("--thread and --all: give one")
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
	var res stack.Result
	switch {
	case all:
		res = sd.WalkAll()
	case tid != 0:
		t, err := sd.WalkThread(tid)
		if err != nil {
			return &fileError{file: d.path, err: err}
		}
		res.Threads = []stack.Thread{t}
	default:
		res, err = render.CrashedStack(sd)
		if err != nil {
			return &fileError{file: d.path, err: err}
		}
	}
	for _, w := range append(sd.Warnings, p.Damage()...) {
		d.warn(w)
	}
	return e.write(render.NewStack(d.path, res, p.PointerSize(), &d.warns))
}
