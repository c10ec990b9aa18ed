package main

import (
	"context"

	"github.com/dumpmap/dumpmap/analysis/modsym"
	"github.com/dumpmap/dumpmap/analysis/render"
	"github.com/spf13/pflag"
)

func init() {
	register(&command{
		name:    "symbols",
		summary: "list the symbols matching module!pattern, like WinDbg's x: address, module, name, source",
		args:    []string{"FILE", "PATTERN"},
		help: `
Finds each module's PDB on the symbol path by the CodeView identity the dump records
(PDB name, GUID, age) and its image in the dump's memory or on the image path (file name,
TimeDateStamp and SizeOfImage), and lists the symbols matching PATTERN with their
address in the process: PDB public symbols (pdb-public), PDB global and static data
(pdb-global) and exports (export). A symbol several sources have at the same address is
listed once, under the most specific source, with the others after "also".

PATTERN is module!name as WinDbg's x takes it: * matches any run of characters and ?
one character, case is ignored, the module may be named with or without its extension
(crash or crash.exe), and a pattern without ! searches every module. x86 C names are
shown without their decoration (main for _main), as WinDbg shows them, and match either
way.

The symbol path uses Windows syntax, from --symbol-path or _NT_SYMBOL_PATH: folders
(searched in symbol-store layout, then flat), cache*DIR, and srv*DIR*URL; an HTTP
server is contacted only when the path names one. Module and PDB names from the dump
are reduced to a bare file name before they reach a path or URL (docs/symbols.md).

After the symbols, each module searched is listed with where its symbols came from and
why a source was missing; -v adds every place that was tried.

Examples:
  dumpmap symbols crash.dmp 'crash!main' --symbol-path ./symbols
  dumpmap symbols crash.dmp '*!_crtheap*' --symbol-path 'srv*C:\symcache*https://msdl.microsoft.com/download/symbols'
  dumpmap symbols crash.dmp 'msvcr90!_get_heap_handle' --image-path /mnt/win/System32
  dumpmap symbols --json crash.dmp 'crash!*' | jq -r '.symbols[] | "\(.address) \(.name)"'`,
		setup: func(fs *pflag.FlagSet) runFunc {
			o := &symbolsOpts{sym: addSymbolFlags(fs)}
			fs.BoolVarP(&o.verbose, "verbose", "v", false, "list every place looked at for each module's PDB and image")
			return func(e *env, args []string) error { return runSymbols(e, args, o) }
		},
	})
}

type symbolsOpts struct {
	sym     *symOpts
	verbose bool
}

func runSymbols(e *env, args []string, o *symbolsOpts) error {
	pat, err := modsym.ParsePattern(args[1])
	if err != nil {
		return usageErrorf("%v", err)
	}
	opts, err := o.sym.options()
	if err != nil {
		return err
	}
	d, err := openDump(args[0])
	if err != nil {
		return err
	}
	defer d.Close()
	defer d.flush(e)
	s, err := render.NewSymbols(context.Background(), d.path, d.process(opts), pat, o.verbose, &d.warns)
	if err != nil {
		return &fileError{file: d.path, err: err}
	}
	return e.write(s)
}
