package main

import (
	"github.com/dumpmap/dumpmap/analysis/render"
	"github.com/spf13/pflag"
)

func init() {
	register(&command{
		name:    "heaps",
		summary: "list the process's heaps, their segments and room to grow, and which one is the C runtime's",
		args:    []string{"FILE"},
		help: `
Lists the heaps the dump shows: the process heap and the heap list of the PEB (found from
a thread's TEB in captured memory), and the C runtime's heap, which malloc and operator
new allocate from. For each heap: its handle, whether it is the process heap or the CRT
heap and how that was found, its segments as the region map shows them (reserved,
committed, and the reserved-but-uncommitted room it can still commit without new address
space, with the largest uncommitted range), and whether it can grow when its header was
captured. Then every method that was tried, with what it found or why it failed.

The CRT heap is identified, stopping at the first method that works:
  1. the UCRT rule: the Universal CRT (ucrtbase.dll) allocates from the process heap;
     the main module's import table (from the dump or --image-path) says which DLL its
     malloc comes from, which confirms or withdraws the rule;
  2. the globals _crtheap / __acrt_heap in the PDBs of the main module and of its CRT
     DLL (--symbol-path), their value read from the dump;
  3. the code of an old CRT DLL's exported _get_heap_handle (msvcr80-msvcr120,
     msvcrt.dll), which loads the global it returns, from the dump or --image-path.
A handle is accepted only if it lies in committed private memory and, when its header
was captured, carries a heap signature. explain --via malloc uses the same heap.

Examples:
  dumpmap heaps crash.dmp
  dumpmap heaps crash.dmp --symbol-path ./symbols --image-path ./binaries
  dumpmap heaps --json crash.dmp | jq '.heaps[] | select(.crt_heap)'`,
		setup: func(fs *pflag.FlagSet) runFunc {
			mf := addMapFlags(fs)
			mf.addSymbolFlags(fs)
			return func(e *env, args []string) error { return runHeaps(e, args, mf) }
		},
	})
}

func runHeaps(e *env, args []string, mf mapFlags) error {
	if _, err := mf.sym.options(); err != nil {
		return err // a bad symbol path is reported before the dump is opened
	}
	d, m, err := openMap(e, args[0], mf)
	if err != nil {
		return err
	}
	defer d.Close()
	defer d.flush(e)
	return e.write(render.NewHeaps(d.path, d.p, m, &d.warns))
}
