package main

import (
	"github.com/dumpmap/dumpmap/analysis/process"
	"github.com/dumpmap/dumpmap/analysis/render"
	"github.com/spf13/pflag"
)

func init() {
	register(&command{
		name:    "modules",
		summary: "list the loaded (or unloaded) modules: base, end, size, version, name, PDB identity",
		args:    []string{"FILE"},
		setup: func(fs *pflag.FlagSet) runFunc {
			o := &modulesOpts{}
			fs.BoolVarP(&o.unloaded, "unloaded", "u", false, "list the unloaded modules instead")
			fs.BoolVarP(&o.long, "long", "l", false, "print every field, one block per module")
			return func(e *env, args []string) error { return runModules(e, args, o) }
		},
	})
}

type modulesOpts struct {
	unloaded bool
	long     bool
}

func runModules(e *env, args []string, o *modulesOpts) error {
	d, err := openDump(args[0])
	if err != nil {
		return err
	}
	defer d.Close()
	defer d.flush(e)
	p := d.process(process.Options{})
	if o.unloaded {
		return e.write(render.NewUnloadedModules(d.path, p, &d.warns))
	}
	return e.write(render.NewModules(d.path, p, o.long, &d.warns))
}
