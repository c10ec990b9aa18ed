package render

import (
	"fmt"
	"io"

	"github.com/dumpmap/dumpmap/analysis"
	"github.com/dumpmap/dumpmap/analysis/process"
)

// LoadMap builds the region map of p as the map commands do: the damage met while
// reading the streams, and the map's own damage, are added to warn (its notes are
// not warnings: the commands print them). An error means the dump holds nothing a
// map can be built from.
func LoadMap(p *process.Process, opt analysis.Options, warn *Warnings) (*analysis.Map, error) {
	m, err := analysis.NewMap(p, opt)
	for _, e := range p.Damage() {
		warn.Add(e)
	}
	if err != nil {
		return nil, err
	}
	for _, e := range m.Damage {
		warn.Add(e)
	}
	return m, nil
}

// mapAddr returns the address format of the map's process.
func mapAddr(m *analysis.Map) AddrFormat { return AddrFormatFor(m.Space.PointerSize * 8) }

// writeMapHeader writes what the map is built from and what it had to assume.
func writeMapHeader(w io.Writer, m *analysis.Map) {
	fmt.Fprintf(w, "Address space: %s\n", m.Space.Describe())
	fmt.Fprintf(w, "Built from:    %s", m.Source)
	if m.Partial {
		fmt.Fprint(w, " (PARTIAL: what the dump does not describe is Unknown, not Free)")
	}
	fmt.Fprintln(w)
	for _, n := range m.Notes {
		fmt.Fprintf(w, "Note:          %s\n", n)
	}
	fmt.Fprintln(w)
}
