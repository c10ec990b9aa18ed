package main

import (
	"github.com/dumpmap/dumpmap/analysis"
	"github.com/dumpmap/dumpmap/analysis/process"
	"github.com/dumpmap/dumpmap/analysis/render"

	"github.com/spf13/pflag"
)

// maxRead bounds one read; the minidump package refuses more.
const maxRead = 64 << 20

func init() {
	register(&command{
		name:    "read",
		summary: "hexdump process memory at a virtual address, like xxd",
		args:    []string{"FILE", "ADDR", "[LEN]"},
		setup: func(fs *pflag.FlagSet) runFunc {
			o := &readOpts{}
			fs.IntVarP(&o.cols, "cols", "c", 16, "bytes per line (1-256)")
			fs.IntVarP(&o.group, "group", "g", 2, "bytes per group (1-256)")
			return func(e *env, args []string) error { return runRead(e, args, o) }
		},
	})
}

type readOpts struct {
	cols, group int
}

func runRead(e *env, args []string, o *readOpts) error {
	if o.cols < 1 || o.cols > 256 {
		return usageErrorf("--cols must be 1-256, not %d", o.cols)
	}
	if o.group < 1 || o.group > 256 {
		return usageErrorf("--group must be 1-256, not %d", o.group)
	}
	length := uint64(256)
	if len(args) > 2 {
		n, err := analysis.ParseSize(args[2])
		if err != nil {
			return usageErrorf("bad LEN: %v", err)
		}
		if n == 0 || n > maxRead {
			return usageErrorf("bad LEN: %s is not between 1 byte and 64 MiB", args[2])
		}
		length = n
	}
	d, err := openDump(args[0])
	if err != nil {
		return err
	}
	defer d.Close()
	defer d.flush(e)
	p := d.process(process.Options{})
	af := render.AddrFormatFor(8 * p.DumpPointerSize())
	addr, err := render.ParseAddressArg(p, args[1])
	if err != nil {
		return usageErrorf("bad ADDR: %v", err)
	}
	if addr+length < addr {
		return usageErrorf("bad ADDR/LEN: %s+%#x wraps past the end of the address space", af.Format(addr), length)
	}

	r, err := render.NewRead(d.path, p, addr, length, o.cols, o.group, &d.warns)
	if err != nil {
		return &fileError{file: d.path, err: err}
	}
	return e.write(r)
}
