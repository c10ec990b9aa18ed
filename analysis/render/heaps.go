package render

import (
	"fmt"
	"io"
	"strings"

	"github.com/dumpmap/dumpmap/analysis"
	"github.com/dumpmap/dumpmap/analysis/process"
)

// Heaps is `dumpmap heaps`: the process's heaps, their segments and room to
// grow, and which one is the C runtime's.
type Heaps struct {
	File        string   `json:"file"`
	Heaps       []Heap   `json:"heaps"`
	ProcessHeap *Hex     `json:"process_heap,omitempty"` // absent when unknown
	CRTHeap     *Hex     `json:"crt_heap,omitempty"`     // absent when unknown
	CRTHow      string   `json:"crt_how,omitempty"`      // how the CRT heap was identified
	Tried       []string `json:"tried"`
	Warnings    []string `json:"warnings"`

	m    *analysis.Map
	opts process.Options
}

// Heap is one heap: its segments as the region map shows them, and how it was found.
type Heap struct {
	Handle      Hex       `json:"handle"`
	ProcessHeap bool      `json:"process_heap"`
	CRTHeap     bool      `json:"crt_heap"`
	FoundBy     []string  `json:"found_by"`
	Segments    []Segment `json:"segments"`
	Reserved    uint64    `json:"reserved"`
	Committed   uint64    `json:"committed"`
	Uncommitted uint64    `json:"uncommitted"`
	Growable    *bool     `json:"growable,omitempty"` // absent when the header was not captured
	// SegmentReserve is the reserve the next segment asks for (absent: unknown).
	SegmentReserve uint64   `json:"segment_reserve,omitempty"`
	Notes          []string `json:"notes"`
}

// Segment is one segment of a heap.
type Segment struct {
	Base               Hex    `json:"base"`
	End                Hex    `json:"end"`
	Size               uint64 `json:"size"`
	Committed          uint64 `json:"committed"`
	Uncommitted        uint64 `json:"uncommitted"`
	LargestUncommitted uint64 `json:"largest_uncommitted"`
}

// NewHeaps lists the heaps of the map m of process p, shown as file. The text
// hints at --symbol-path and --image-path when p's options lack them and the CRT
// heap was not found.
func NewHeaps(file string, p *process.Process, m *analysis.Map, warn *Warnings) *Heaps {
	hs := m.Heaps
	list := make([]Heap, len(hs.Heaps))
	for i, h := range hs.Heaps {
		res, com, unc := h.Reserved()
		j := Heap{Handle: Hex(h.Handle), ProcessHeap: h.ProcessHeap, CRTHeap: h.CRTHeap,
			FoundBy: nonNil(h.FoundBy), Segments: []Segment{}, Reserved: res, Committed: com, Uncommitted: unc,
			Growable: h.Growable, SegmentReserve: h.SegmentReserve, Notes: nonNil(h.Notes)}
		for _, s := range h.Segments {
			j.Segments = append(j.Segments, Segment{Base: Hex(s.Base), End: Hex(s.Base + s.Size), Size: s.Size,
				Committed: s.Committed, Uncommitted: s.Uncommitted, LargestUncommitted: s.LargestUncommitted})
		}
		list[i] = j
	}
	out := &Heaps{File: file, Heaps: list, CRTHow: hs.CRTHow, Tried: hs.Tried(), Warnings: warn.List(), m: m, opts: p.Options()}
	if hs.Process != 0 {
		v := Hex(hs.Process)
		out.ProcessHeap = &v
	}
	if hs.CRT != 0 {
		v := Hex(hs.CRT)
		out.CRTHeap = &v
	}
	return out
}

// WriteJSON writes the JSON object.
func (x *Heaps) WriteJSON(w io.Writer) error { return WriteJSON(w, x) }

// WriteText writes the heaps, how the CRT heap was identified and the methods
// tried, with hints about the flags that would find more.
func (x *Heaps) WriteText(w io.Writer) error {
	hs, list, af := x.m.Heaps, x.Heaps, mapAddr(x.m)
	fmt.Fprintf(w, "%s\n", Plural(len(list), "heap"))
	for _, h := range list {
		var roles []string
		if h.ProcessHeap {
			roles = append(roles, "process heap")
		}
		if h.CRTHeap {
			roles = append(roles, "CRT heap")
		}
		head := "Heap " + af.Format(uint64(h.Handle))
		if len(roles) > 0 {
			head += "  " + strings.Join(roles, ", ")
		}
		fmt.Fprintf(w, "\n%s\n", head)
		fmt.Fprintf(w, "  found by:  %s\n", Clean(strings.Join(h.FoundBy, "; ")))
		switch {
		case h.Growable == nil:
			fmt.Fprintf(w, "  growable:  unknown (header not captured)\n")
		case *h.Growable:
			fmt.Fprintf(w, "  growable:  yes\n")
		default:
			fmt.Fprintf(w, "  growable:  no (created with a maximum size)\n")
		}
		if h.SegmentReserve != 0 {
			fmt.Fprintf(w, "  next segment reserve: %s\n", Size(h.SegmentReserve))
		}
		if len(h.Segments) == 0 {
			fmt.Fprintf(w, "  segments:  none known\n")
		} else {
			fmt.Fprintf(w, "  segments:  %d, reserved %s, committed %s, uncommitted %s\n", len(h.Segments), Size(h.Reserved), Size(h.Committed), Size(h.Uncommitted))
			tb := NewTable("BASE", "END", ">RESERVED", ">COMMITTED", ">UNCOMMITTED", ">LARGEST UNCOMMITTED")
			for _, s := range h.Segments {
				tb.Row(af.Format(uint64(s.Base)), af.Format(uint64(s.End)), Size(s.Size), Size(s.Committed), Size(s.Uncommitted), Size(s.LargestUncommitted))
			}
			tb.Print(w, "    ")
		}
		for _, n := range h.Notes {
			fmt.Fprintf(w, "  note:      %s\n", Clean(n))
		}
	}
	fmt.Fprintln(w)
	switch {
	case hs.CRT != 0:
		fmt.Fprintf(w, "CRT heap: %s (%s)\n", af.Format(hs.CRT), Clean(hs.CRTHow))
	case hs.CRTHow != "":
		fmt.Fprintf(w, "CRT heap: the process heap, whose address is unknown (%s)\n", Clean(hs.CRTHow))
	default:
		fmt.Fprintf(w, "CRT heap: not identified\n")
	}
	if tried := hs.Tried(); len(tried) > 0 {
		fmt.Fprintf(w, "\nMethods tried:\n")
		for _, t := range tried {
			fmt.Fprintf(w, "  - %s\n", Clean(t))
		}
	}
	if x.m.Space.Windows && hs.CRT == 0 {
		writeHints(w, x.opts, true, true)
	}
	return nil
}
