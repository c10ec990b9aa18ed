package main

import (
	"github.com/dumpmap/dumpmap/analysis"
	"github.com/dumpmap/dumpmap/analysis/render"
	"github.com/spf13/pflag"
)

func init() {
	register(&command{
		name:    "regions",
		summary: "list the address space region by region, like WinDbg's !address",
		args:    []string{"FILE"},
		setup: func(fs *pflag.FlagSet) runFunc {
			var o regionOpts
			o.mf = addMapFlags(fs)
			o.mf.addBelowFlag(fs)
			o.mf.addSymbolFlags(fs)
			o.usage = fs.String("usage", "", "only regions of these usages, e.g. Free,Unusable")
			o.state = fs.String("state", "", "only regions in these states: commit, reserve, free")
			o.typ = fs.String("type", "", "only regions of these types: image, mapped, private")
			o.protect = fs.String("protect", "", "only regions whose protection includes one of these, e.g. PAGE_EXECUTE_READWRITE")
			o.minSize = fs.String("min-size", "", "only regions of at least this size (64K, 1M, 0x10000)")
			o.address = fs.String("address", "", "show the region (and its allocation) that holds ADDR")
			o.allocs = fs.Bool("allocations", false, "list whole allocations (VMMap's tree) instead of regions")
			return func(e *env, args []string) error { return runRegions(e, args, o) }
		},
	})
}

type regionOpts struct {
	mf                                           mapFlags
	usage, state, typ, protect, minSize, address *string
	allocs                                       *bool
}

func runRegions(e *env, args []string, o regionOpts) error {
	filter, err := render.ParseRegionFilter(*o.usage, *o.state, *o.typ, *o.protect, *o.minSize)
	if err != nil {
		return usageErrorf("%v", err)
	}
	var addr *uint64
	if *o.address != "" {
		a, err := analysis.ParseAddress(*o.address)
		if err != nil {
			return usageErrorf("--address: %v", err)
		}
		addr = &a
	}
	d, m, err := openMap(e, args[0], o.mf)
	if err != nil {
		return err
	}
	defer d.Close()
	defer d.flush(e)
	if *o.allocs {
		return e.write(render.NewAllocations(d.path, m, filter, addr, &d.warns))
	}
	return e.write(render.NewRegions(d.path, m, filter, addr, &d.warns))
}
