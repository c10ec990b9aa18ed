package main

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/dumpmap/dumpmap/analysis/modsym"
	"github.com/dumpmap/dumpmap/analysis/process"
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

// symbolJSON is one symbol of `dumpmap symbols --json`.
type symbolJSON struct {
	Address   hexNum   `json:"address"`
	Module    string   `json:"module"`
	Name      string   `json:"name"`
	Source    string   `json:"source"` // pdb-public, pdb-global or export
	Decorated string   `json:"decorated,omitempty"`
	AlsoIn    []string `json:"also_in,omitempty"`
	RVA       hexNum   `json:"rva"`
	Data      bool     `json:"data"`
}

// symModuleJSON is one module searched.
type symModuleJSON struct {
	Module   string   `json:"module"`
	Base     hexNum   `json:"base"`
	PDB      *string  `json:"pdb,omitempty"`   // path of the PDB used; absent if none
	Image    *string  `json:"image,omitempty"` // where the exports came from: "dump memory" or the image file
	Symbols  int      `json:"symbols"`
	Problems []string `json:"problems"`
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

	p := d.process(opts)
	res, err := modsym.Lookup(context.Background(), p, pat)
	for _, e := range p.Damage() {
		d.warn(e)
	}
	if err != nil {
		return &fileError{file: d.path, err: err}
	}
	syms := make([]symbolJSON, len(res.Symbols))
	for i, s := range res.Symbols {
		syms[i] = symbolJSON{Address: hexNum(s.Address), Module: s.Module, Name: s.Name, Source: string(s.Source),
			Decorated: s.Decorated, RVA: hexNum(s.RVA), Data: s.Data}
		for _, a := range s.AlsoIn {
			syms[i].AlsoIn = append(syms[i].AlsoIn, string(a))
		}
	}
	mods := make([]symModuleJSON, len(res.Modules))
	for i, mr := range res.Modules {
		mods[i] = symModuleJSON{Module: mr.Module.FileName, Base: hexNum(mr.Module.Base), Symbols: mr.Symbols, Problems: []string{}}
		if p := mr.Module.PDBPath(); p != "" {
			mods[i].PDB = &p
		}
		for _, s := range mr.Sources {
			if src, ok := strings.CutPrefix(s, "exports ("); ok {
				src = strings.TrimSuffix(strings.TrimSuffix(src, ")"), ": none")
				mods[i].Image = &src
			}
		}
		for _, p := range mr.Problems {
			if o.verbose || !strings.HasPrefix(p, "  ") {
				mods[i].Problems = append(mods[i].Problems, strings.TrimSpace(p))
			}
		}
	}
	if e.json {
		return writeJSON(e.stdout, struct {
			File       string          `json:"file"`
			Pattern    string          `json:"pattern"`
			SymbolPath string          `json:"symbol_path"`
			ImagePath  []string        `json:"image_path"`
			Symbols    []symbolJSON    `json:"symbols"`
			Modules    []symModuleJSON `json:"modules"`
			Warnings   []string        `json:"warnings"`
		}{d.path, pat.String(), opts.SymbolPath.String(), nonNil(opts.ImagePath), syms, mods, d.warnings()})
	}
	printSymbols(e.stdout, pat, syms, mods, newAddrFmt(d.pointerBits()))
	missingImage := false
	for _, m := range mods {
		missingImage = missingImage || m.Image == nil
	}
	printHints(e.stdout, opts, len(mods) > 0, missingImage)
	return nil
}

// printHints says which flag would have found more, when one was not given.
func printHints(w io.Writer, opts process.Options, needPDB, needImage bool) {
	var hints []string
	if needPDB && len(opts.SymbolPath) == 0 {
		hints = append(hints, "no symbol path: give --symbol-path or set _NT_SYMBOL_PATH to read PDBs")
	}
	if needImage && len(opts.ImagePath) == 0 {
		hints = append(hints, "no image path: give --image-path or set _NT_EXECUTABLE_IMAGE_PATH to read modules the dump did not capture")
	}
	if len(hints) > 0 {
		fmt.Fprintln(w)
		for _, h := range hints {
			fmt.Fprintf(w, "Hint: %s\n", h)
		}
	}
}

func printSymbols(w io.Writer, pat modsym.Pattern, syms []symbolJSON, mods []symModuleJSON, af addrFmt) {
	switch {
	case len(mods) == 0:
		fmt.Fprintf(w, "No module matches %q.\n", pat.Module)
		return
	default:
		fmt.Fprintf(w, "%s matching %s in %s\n", plural(len(syms), "symbol"), clean(pat.String()), plural(len(mods), "module"))
	}
	if len(syms) > 0 {
		tb := newTable("ADDRESS", "MODULE", "NAME", "SOURCE")
		for _, s := range syms {
			src := s.Source
			if len(s.AlsoIn) > 0 {
				src += " (also " + strings.Join(s.AlsoIn, ", ") + ")"
			}
			tb.row(af.f(uint64(s.Address)), s.Module, s.Name, src)
		}
		fmt.Fprintln(w)
		tb.write(w, "")
	}
	fmt.Fprintf(w, "\nModules searched:\n")
	for _, m := range mods {
		var parts []string
		if m.PDB != nil {
			parts = append(parts, "PDB "+*m.PDB)
		}
		if m.Image != nil {
			parts = append(parts, "exports from "+*m.Image)
		}
		head := fmt.Sprintf("  %s (%d): ", m.Module, m.Symbols)
		if len(parts) > 0 {
			fmt.Fprintln(w, clean(head+strings.Join(parts, "; ")))
			head = "  " + strings.Repeat(" ", len(m.Module)+len(fmt.Sprint(m.Symbols))+4)
		}
		for _, p := range m.Problems {
			fmt.Fprintln(w, clean(head+p))
			head = "  " + strings.Repeat(" ", len(m.Module)+len(fmt.Sprint(m.Symbols))+4)
		}
	}
}
