package main

import (
	"strings"

	"github.com/dumpmap/dumpmap/analysis"
	"github.com/dumpmap/dumpmap/analysis/render"
	"github.com/spf13/pflag"
)

func init() {
	register(&command{
		name:    "explain",
		summary: "say whether an allocation of a given size would have failed, and why",
		args:    []string{"FILE"},
		help: `
Answers "would this allocation have succeeded in this process, and if not, why?"
with a verdict (succeed, fail, or depends, with the condition it depends on) and
the chain of reasons, with the addresses that prove each step:

  virtualalloc  VirtualAlloc(MEM_RESERVE|MEM_COMMIT): pages rounded to 4 KB, placed
                at a 64 KB-aligned address in a free run
  reserve       VirtualAlloc(MEM_RESERVE)
  heap          HeapAlloc on the process heap (or --heap HANDLE): block header and
                rounding, the virtual-memory threshold (508 KB on x86, 1020 KB on
                x64) above which the heap calls VirtualAlloc itself, uncommitted room
                in its segments, or a new segment
  malloc        malloc/new: HeapAlloc on the C runtime's heap, identified as
                dumpmap heaps does (give --symbol-path and --image-path to let it
                use PDBs and module files)
  vector        a std::vector of --size bytes growing: a new buffer 1.5x (MSVC) or 2x
                (--stl libstdc++) as large, while the old one is still held

SIZE accepts 50K, 50KB, 1MiB, 0x10000, 1M+1 or plain bytes. --below ADDR restricts
the request to addresses below ADDR, as NtAllocateVirtualMemory's ZeroBits or a
32-bit allocator in a 64-bit process do (--below 2G). --max prints, for each path,
the largest request that would still succeed.

Examples:
  dumpmap explain --size 50K crash.dmp
  dumpmap explain --size 64 --via malloc crash.dmp
  dumpmap explain --size 100M --via vector --element-size 8 crash.dmp
  dumpmap explain --size 1M --below 2G --json crash.dmp
  dumpmap explain --max crash.dmp`,
		setup: func(fs *pflag.FlagSet) runFunc {
			var o explainOpts
			o.mf = addMapFlags(fs)
			o.mf.addSymbolFlags(fs)
			o.size = fs.String("size", "", "the request size (50K, 1MiB, 0x10000, bytes)")
			o.via = fs.String("via", "virtualalloc", "the allocation path: virtualalloc, reserve, heap, malloc or vector")
			o.heap = fs.String("heap", "", "with --via heap: the heap's handle (default: the process heap)")
			o.elem = fs.String("element-size", "1", "with --via vector: the element size in bytes")
			o.stl = fs.String("stl", "msvc", "with --via vector: msvc (grows by 1.5x) or libstdc++ (2x)")
			o.below = fs.String("below", "", "only addresses below ADDR may be used (e.g. 2G, 0x80000000)")
			o.max = fs.Bool("max", false, "print the largest request that would succeed by each path")
			return func(e *env, args []string) error { return runExplain(e, args, o) }
		},
	})
}

type explainOpts struct {
	mf                                mapFlags
	size, via, heap, elem, stl, below *string
	max                               *bool
}

func runExplain(e *env, args []string, o explainOpts) error {
	var req analysis.Request
	via, ok := analysis.ParseVia(*o.via)
	if !ok {
		return usageErrorf("--via: unknown path %q (virtualalloc, reserve, heap, malloc, vector)", *o.via)
	}
	req.Via = via
	if *o.size == "" && !*o.max {
		return usageErrorf("--size is required (or --max)")
	}
	var err error
	if *o.size != "" {
		if req.Size, err = analysis.ParseSize(*o.size); err != nil {
			return usageErrorf("--size: %v", err)
		}
		if req.Size == 0 {
			return usageErrorf("--size: the size must be at least 1 byte")
		}
	}
	if *o.heap != "" {
		if req.Heap, err = analysis.ParseAddress(*o.heap); err != nil {
			return usageErrorf("--heap: %v", err)
		}
	}
	if req.ElementSize, err = analysis.ParseSize(*o.elem); err != nil || req.ElementSize == 0 {
		return usageErrorf("--element-size: want a size of at least 1 byte")
	}
	switch strings.ToLower(*o.stl) {
	case "msvc", "libstdc++", "libc++":
		req.Growth = strings.ToLower(*o.stl)
	default:
		return usageErrorf("--stl: want msvc or libstdc++, not %q", *o.stl)
	}
	if *o.below != "" {
		if req.Below, err = analysis.ParseAddress(*o.below); err != nil {
			return usageErrorf("--below: %v", err)
		}
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
	return e.write(render.NewExplain(d.path, m, req, &d.warns))
}
