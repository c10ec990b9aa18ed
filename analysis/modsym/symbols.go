package modsym

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"

	"github.com/dumpmap/dumpmap/analysis/pdb"
	"github.com/dumpmap/dumpmap/analysis/pe"
	"github.com/dumpmap/dumpmap/analysis/process"
)

// Source says where a symbol came from.
type Source string

// Symbol sources, from the most specific to the least.
const (
	SourcePDBGlobal Source = "pdb-global" // S_GDATA32 or S_LDATA32: a data symbol with its type
	SourcePDBPublic Source = "pdb-public" // S_PUB32: the linker's public symbol
	SourceExport    Source = "export"     // the image's export table
)

func (s Source) rank() int {
	switch s {
	case SourcePDBGlobal:
		return 0
	case SourcePDBPublic:
		return 1
	}
	return 2
}

// Symbol is a symbol of a module at its address in the process.
type Symbol struct {
	Address uint64
	RVA     uint32
	// Module is the module's file name ("crash.exe").
	Module string
	// Name is the symbol's name as WinDbg shows it: x86 C names without their
	// decoration ("main" for the public "_main", "Sleep" for "_Sleep@4"); C++
	// names stay mangled.
	Name string
	// Decorated is the name as stored, when it differs from Name.
	Decorated string
	// Source is the most specific source that has the symbol; AlsoIn lists
	// the others that have it at the same address under the same name.
	Source Source
	AlsoIn []Source
	// Data is set for data symbols (globals, and publics without the code
	// or function flag); false for code and for exports, which do not say.
	Data bool
}

// ModuleResult is what a lookup found in one module, and what it tried.
type ModuleResult struct {
	Module  *process.Module
	Symbols int // symbols matched in this module
	// Sources lists the sources read ("PDB /path/x.pdb", "exports (dump memory)").
	Sources []string
	// Problems says what could not be read and why.
	Problems []string
}

// Result is the outcome of Lookup.
type Result struct {
	Pattern Pattern
	Symbols []Symbol
	// Modules are the modules whose name matched the pattern's module part.
	Modules []ModuleResult
}

// lookupParallel bounds the modules whose symbols are fetched at once (PDB
// downloads are the slow part).
const lookupParallel = 4

// Lookup lists the symbols of the modules matching pat, from their PDBs
// (publics and globals) and export tables, sorted by address. The same
// address and name from several sources is listed once, under the most
// specific source (PDB global, then PDB public, then export), with the others
// in AlsoIn. Modules without symbols are reported in Result.Modules with why.
// PDBs come from the symbol path and images from the image path the process was
// built with.
func Lookup(ctx context.Context, p *process.Process, pat Pattern) (*Result, error) {
	res := &Result{Pattern: pat}
	var mods []*process.Module
	for _, m := range p.Modules() {
		if pat.MatchModule(m.FileName) {
			mods = append(mods, m)
		}
	}
	perMod := make([][]Symbol, len(mods))
	res.Modules = make([]ModuleResult, len(mods))
	sem := make(chan struct{}, lookupParallel)
	var wg sync.WaitGroup
	for i, m := range mods {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			perMod[i], res.Modules[i] = moduleSymbols(ctx, m, pat)
		}()
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	for _, s := range perMod {
		res.Symbols = append(res.Symbols, s...)
	}
	sort.SliceStable(res.Symbols, func(i, j int) bool {
		a, b := res.Symbols[i], res.Symbols[j]
		if a.Address != b.Address {
			return a.Address < b.Address
		}
		return a.Name < b.Name
	})
	return res, nil
}

// moduleSymbols reads one module's matching symbols.
func moduleSymbols(ctx context.Context, m *process.Module, pat Pattern) ([]Symbol, ModuleResult) {
	mr := ModuleResult{Module: m}
	x86 := false
	type key struct {
		rva  uint32
		name string
	}
	found := map[key]*Symbol{}
	var order []key
	add := func(rva uint32, stored string, src Source, data bool) {
		name := stored
		if x86 && src == SourcePDBPublic {
			name = UndecorateC(stored)
		}
		if !pat.MatchSymbol(name) && !pat.MatchSymbol(stored) {
			return
		}
		k := key{rva, name}
		if s := found[k]; s != nil {
			switch {
			case src == s.Source || containsSource(s.AlsoIn, src):
			case src.rank() < s.Source.rank():
				s.AlsoIn = append(s.AlsoIn, s.Source)
				s.Source = src
				if stored != name {
					s.Decorated = stored
				}
			default:
				s.AlsoIn = append(s.AlsoIn, src)
			}
			s.Data = s.Data || data
			return
		}
		s := &Symbol{Address: m.Base + uint64(rva), RVA: rva, Module: m.FileName, Name: name, Source: src, Data: data}
		if stored != name {
			s.Decorated = stored
		}
		found[k] = s
		order = append(order, k)
	}

	pd, err := m.PDB(ctx)
	x86 = m.Is32()
	if err != nil {
		mr.Problems = append(mr.Problems, "no PDB: "+err.Error())
		for _, t := range m.PDBTried() {
			mr.Problems = append(mr.Problems, "  tried "+t)
		}
	} else {
		mr.Sources = append(mr.Sources, "PDB "+m.PDBPath())
		if tried := m.PDBTried(); len(tried) > 1 {
			// Where the PDB was not, before it was found: with -v the CLI shows it.
			for _, t := range tried[:len(tried)-1] {
				mr.Problems = append(mr.Problems, "  passed over "+t)
			}
		}
		pubs, perr := pd.Publics()
		for _, s := range pubs {
			if s.HasRVA {
				add(s.RVA, s.Name, SourcePDBPublic, s.Flags.IsData())
			}
		}
		globs, gerr := pd.Globals()
		for _, s := range globs {
			if s.HasRVA {
				add(s.RVA, s.Name, SourcePDBGlobal, true)
			}
		}
		if perr != nil {
			mr.Problems = append(mr.Problems, "PDB symbols damaged: "+perr.Error())
		} else if gerr != nil {
			mr.Problems = append(mr.Problems, "PDB globals damaged: "+gerr.Error())
		}
	}

	var exps *pe.ExportDirectory
	src, err := m.Image(func(img *pe.File) error {
		d, err := img.Exports()
		exps = d
		return err
	})
	if err != nil {
		mr.Problems = append(mr.Problems, "no exports ("+err.Error()+")")
		if m.DiskTried() != nil {
			for _, t := range m.DiskTried() {
				mr.Problems = append(mr.Problems, "  tried "+t)
			}
		}
	} else {
		where := "exports (" + src + ")"
		if exps == nil {
			where = "exports (" + src + ": none)"
		}
		mr.Sources = append(mr.Sources, where)
		if exps != nil {
			for _, e := range exps.Exports {
				if e.Name != "" && e.Forwarder == "" {
					add(e.RVA, e.Name, SourceExport, false)
				}
			}
		}
	}
	out := make([]Symbol, 0, len(order))
	for _, k := range order {
		out = append(out, *found[k])
	}
	mr.Symbols = len(out)
	return out, mr
}

func containsSource(list []Source, s Source) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// UndecorateC removes the decoration x86 compilers add to C names: the
// leading underscore of __cdecl and __stdcall names and the "@bytes" suffix
// of __stdcall and __fastcall ones ("_main" -> "main", "_Sleep@4" -> "Sleep",
// "@f@8" -> "f"). C++ names ("?...") and import slots ("__imp_...") are
// returned as they are.
func UndecorateC(name string) string {
	switch {
	case strings.HasPrefix(name, "?"), strings.HasPrefix(name, "__imp_"):
		return name
	case strings.HasPrefix(name, "_") && len(name) > 1:
		return stripArgBytes(name[1:])
	case strings.HasPrefix(name, "@") && len(name) > 1:
		if n := stripArgBytes(name[1:]); n != name[1:] {
			return n
		}
	}
	return name
}

// stripArgBytes removes a trailing "@digits".
func stripArgBytes(s string) string {
	i := strings.LastIndexByte(s, '@')
	if i <= 0 || i == len(s)-1 {
		return s
	}
	for _, c := range s[i+1:] {
		if c < '0' || c > '9' {
			return s
		}
	}
	return s[:i]
}

// LookupData finds the data symbol named name (undecorated, as in C) in the
// module's PDB: a global first, then a public ("_crtheap" finds the global
// "_crtheap" and the x86 public "__crtheap"). It returns the symbol's RVA.
func LookupData(p *pdb.File, name string) (pdb.Symbol, bool, error) {
	syms, err := p.Lookup(name)
	for _, s := range syms {
		if s.HasRVA {
			return s, true, err
		}
	}
	return pdb.Symbol{}, false, err
}

// String formats the symbol as WinDbg's x does, with its source.
func (s Symbol) String() string {
	return fmt.Sprintf("%#x %s!%s (%s)", s.Address, s.Module, s.Name, s.Source)
}
