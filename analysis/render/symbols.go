package render

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/dumpmap/dumpmap/analysis/modsym"
	"github.com/dumpmap/dumpmap/analysis/process"
)

// Symbols is `dumpmap symbols`: the symbols matching a module!name pattern, like
// WinDbg's x, and where each module's symbols came from.
type Symbols struct {
	File       string         `json:"file"`
	Pattern    string         `json:"pattern"`
	SymbolPath string         `json:"symbol_path"`
	ImagePath  []string       `json:"image_path"`
	Symbols    []Symbol       `json:"symbols"`
	Modules    []SymbolModule `json:"modules"`
	Warnings   []string       `json:"warnings"`

	pat  modsym.Pattern
	opts process.Options
	af   AddrFormat
}

// Symbol is one symbol found.
type Symbol struct {
	Address   Hex      `json:"address"`
	Module    string   `json:"module"`
	Name      string   `json:"name"`
	Source    string   `json:"source"` // pdb-public, pdb-global or export
	Decorated string   `json:"decorated,omitempty"`
	AlsoIn    []string `json:"also_in,omitempty"`
	RVA       Hex      `json:"rva"`
	Data      bool     `json:"data"`
}

// SymbolModule is one module searched: where its symbols came from, and why a
// source was missing.
type SymbolModule struct {
	Module   string   `json:"module"`
	Base     Hex      `json:"base"`
	PDB      *string  `json:"pdb,omitempty"`   // path of the PDB used; absent if none
	Image    *string  `json:"image,omitempty"` // where the exports came from: "dump memory" or the image file
	Symbols  int      `json:"symbols"`
	Problems []string `json:"problems"`
}

// NewSymbols looks up pat in the modules of process p, shown as file, along p's
// symbol and image paths (modsym.Lookup); the damage met is added to warn. With
// verbose every place looked at is listed among a module's problems. An error
// means the lookup could not run at all.
func NewSymbols(ctx context.Context, file string, p *process.Process, pat modsym.Pattern, verbose bool, warn *Warnings) (*Symbols, error) {
	res, err := modsym.Lookup(ctx, p, pat)
	for _, e := range p.Damage() {
		warn.Add(e)
	}
	if err != nil {
		return nil, err
	}
	syms := make([]Symbol, len(res.Symbols))
	for i, s := range res.Symbols {
		syms[i] = Symbol{Address: Hex(s.Address), Module: s.Module, Name: s.Name, Source: string(s.Source),
			Decorated: s.Decorated, RVA: Hex(s.RVA), Data: s.Data}
		for _, a := range s.AlsoIn {
			syms[i].AlsoIn = append(syms[i].AlsoIn, string(a))
		}
	}
	mods := make([]SymbolModule, len(res.Modules))
	for i, mr := range res.Modules {
		mods[i] = SymbolModule{Module: mr.Module.FileName, Base: Hex(mr.Module.Base), Symbols: mr.Symbols, Problems: []string{}}
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
			if verbose || !strings.HasPrefix(p, "  ") {
				mods[i].Problems = append(mods[i].Problems, strings.TrimSpace(p))
			}
		}
	}
	opts := p.Options()
	return &Symbols{File: file, Pattern: pat.String(), SymbolPath: opts.SymbolPath.String(), ImagePath: nonNil(opts.ImagePath),
		Symbols: syms, Modules: mods, Warnings: warn.List(), pat: pat, opts: opts, af: dumpAddr(p.File())}, nil
}

// WriteJSON writes the JSON object.
func (x *Symbols) WriteJSON(w io.Writer) error { return WriteJSON(w, x) }

// writeHints says which flag would have found more, when one was not given.
func writeHints(w io.Writer, opts process.Options, needPDB, needImage bool) {
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

// WriteText writes the symbols, the modules searched and hints about the flags
// that would find more.
func (x *Symbols) WriteText(w io.Writer) error {
	writeSymbols(w, x.pat, x.Symbols, x.Modules, x.af)
	missingImage := false
	for _, m := range x.Modules {
		missingImage = missingImage || m.Image == nil
	}
	writeHints(w, x.opts, len(x.Modules) > 0, missingImage)
	return nil
}

func writeSymbols(w io.Writer, pat modsym.Pattern, syms []Symbol, mods []SymbolModule, af AddrFormat) {
	switch {
	case len(mods) == 0:
		fmt.Fprintf(w, "No module matches %q.\n", pat.Module)
		return
	default:
		fmt.Fprintf(w, "%s matching %s in %s\n", Plural(len(syms), "symbol"), Clean(pat.String()), Plural(len(mods), "module"))
	}
	if len(syms) > 0 {
		tb := NewTable("ADDRESS", "MODULE", "NAME", "SOURCE")
		for _, s := range syms {
			src := s.Source
			if len(s.AlsoIn) > 0 {
				src += " (also " + strings.Join(s.AlsoIn, ", ") + ")"
			}
			tb.Row(af.Format(uint64(s.Address)), s.Module, s.Name, src)
		}
		fmt.Fprintln(w)
		tb.Print(w, "")
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
			fmt.Fprintln(w, Clean(head+strings.Join(parts, "; ")))
			head = "  " + strings.Repeat(" ", len(m.Module)+len(fmt.Sprint(m.Symbols))+4)
		}
		for _, p := range m.Problems {
			fmt.Fprintln(w, Clean(head+p))
			head = "  " + strings.Repeat(" ", len(m.Module)+len(fmt.Sprint(m.Symbols))+4)
		}
	}
}
