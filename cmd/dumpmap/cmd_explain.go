package main

import (
	"context"

	"github.com/dumpmap/dumpmap/analysis"
	"github.com/dumpmap/dumpmap/analysis/crash"
	"github.com/dumpmap/dumpmap/analysis/render"
	"github.com/spf13/pflag"
)

func init() {
	register(&command{
		name:    "explain",
		summary: "say why the crash's allocation failed, or whether one of a given size would have",
		args:    []string{"FILE"},
		setup: func(fs *pflag.FlagSet) runFunc {
			var o explainOpts
			o.mf = addMapFlags(fs)
			o.mf.addSymbolFlags(fs)
			o.size = fs.String("size", "", "the request size (50K, 1MiB, 0x10000, bytes); default: the allocation the crash shows failing")
			o.via = fs.String("via", "virtualalloc", "the allocation path: virtualalloc, reserve, heap, malloc or vector")
			o.heap = fs.String("heap", "", "with --via heap: the heap's handle (default: the process heap)")
			o.elem = fs.String("element-size", "1", "with --via vector: the element size in bytes")
			o.stl = fs.String("stl", "msvc", "with --via vector: msvc (grows by 1.5x) or libstdc++ (2x)")
			o.below = fs.String("below", "", "only addresses below ADDR may be used (e.g. 2G, 0x80000000)")
			o.max = fs.Bool("max", false, "print the largest request that would succeed by each path")
			return func(e *env, args []string) error {
				o.viaSet = fs.Changed("via")
				return runExplain(e, args, o)
			}
		},
	})
}

type explainOpts struct {
	mf                                mapFlags
	size, via, heap, elem, stl, below *string
	max                               *bool
	viaSet                            bool
}

func runExplain(e *env, args []string, o explainOpts) error {
	fromCrash := *o.size == "" && !*o.max
	size := *o.size
	if fromCrash {
		size = "1" // checks the other flags; the size comes from the crash
	}
	req, err := render.ParseRequest(size, *o.via, *o.heap, *o.elem, *o.stl, *o.below)
	if err != nil {
		return usageErrorf("%v", err)
	}
	d, m, err := openMap(e, args[0], o.mf)
	if err != nil {
		return err
	}
	defer d.Close()
	defer d.flush(e)
	if *o.max {
		return e.write(render.NewMaxRequests(d.path, m, req, &d.warns))
	}
	if !fromCrash {
		return e.write(render.NewExplain(d.path, m, req, &d.warns))
	}
	popt, _ := o.mf.sym.options() // already checked by openMap
	a := crash.Analyze(context.Background(), d.process(popt))
	var override *analysis.Request
	if o.viaSet {
		override = &req // --via (and its --heap, --below) still decide the path
	}
	ex, err := render.NewFailedExplain(d.path, m, a, override, &d.warns)
	if err != nil {
		return usageErrorf("%v", err)
	}
	return e.write(ex)
}
