package main

import (
	"fmt"
	"io"
	"strings"

	"github.com/dumpmap/dumpmap/analysis"
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

// heapJSON is one heap of `dumpmap heaps --json`.
type heapJSON struct {
	Handle      hexNum        `json:"handle"`
	ProcessHeap bool          `json:"process_heap"`
	CRTHeap     bool          `json:"crt_heap"`
	FoundBy     []string      `json:"found_by"`
	Segments    []segmentJSON `json:"segments"`
	Reserved    uint64        `json:"reserved"`
	Committed   uint64        `json:"committed"`
	Uncommitted uint64        `json:"uncommitted"`
	Growable    *bool         `json:"growable,omitempty"` // absent when the header was not captured
	// SegmentReserve is the reserve the next segment asks for (absent: unknown).
	SegmentReserve uint64   `json:"segment_reserve,omitempty"`
	Notes          []string `json:"notes"`
}

type segmentJSON struct {
	Base               hexNum `json:"base"`
	End                hexNum `json:"end"`
	Size               uint64 `json:"size"`
	Committed          uint64 `json:"committed"`
	Uncommitted        uint64 `json:"uncommitted"`
	LargestUncommitted uint64 `json:"largest_uncommitted"`
}

func runHeaps(e *env, args []string, mf mapFlags) error {
	opts, err := mf.sym.options()
	if err != nil {
		return err
	}
	d, err := openDump(args[0])
	if err != nil {
		return err
	}
	defer d.Close()
	defer d.flush(e)
	m, err := loadMap(d, mf)
	if err != nil {
		return err
	}
	hs := m.Heaps

	list := make([]heapJSON, len(hs.Heaps))
	for i, h := range hs.Heaps {
		res, com, unc := h.Reserved()
		j := heapJSON{Handle: hexNum(h.Handle), ProcessHeap: h.ProcessHeap, CRTHeap: h.CRTHeap,
			FoundBy: nonNil(h.FoundBy), Segments: []segmentJSON{}, Reserved: res, Committed: com, Uncommitted: unc,
			Growable: h.Growable, SegmentReserve: h.SegmentReserve, Notes: nonNil(h.Notes)}
		for _, s := range h.Segments {
			j.Segments = append(j.Segments, segmentJSON{Base: hexNum(s.Base), End: hexNum(s.Base + s.Size), Size: s.Size,
				Committed: s.Committed, Uncommitted: s.Uncommitted, LargestUncommitted: s.LargestUncommitted})
		}
		list[i] = j
	}
	if e.json {
		var proc, crt *hexNum
		if hs.Process != 0 {
			v := hexNum(hs.Process)
			proc = &v
		}
		if hs.CRT != 0 {
			v := hexNum(hs.CRT)
			crt = &v
		}
		return writeJSON(e.stdout, struct {
			File        string     `json:"file"`
			Heaps       []heapJSON `json:"heaps"`
			ProcessHeap *hexNum    `json:"process_heap,omitempty"` // absent when unknown
			CRTHeap     *hexNum    `json:"crt_heap,omitempty"`     // absent when unknown
			CRTHow      string     `json:"crt_how,omitempty"`      // how the CRT heap was identified
			Tried       []string   `json:"tried"`
			Warnings    []string   `json:"warnings"`
		}{d.path, list, proc, crt, hs.CRTHow, hs.Tried(), d.warnings()})
	}
	printHeaps(e.stdout, hs, list, newAddrFmt(m.Space.PointerSize*8))
	if m.Space.Windows && hs.CRT == 0 {
		printHints(e.stdout, opts, true, true)
	}
	return nil
}

func printHeaps(w io.Writer, hs *analysis.HeapSet, list []heapJSON, af addrFmt) {
	fmt.Fprintf(w, "%s\n", plural(len(list), "heap"))
	for _, h := range list {
		var roles []string
		if h.ProcessHeap {
			roles = append(roles, "process heap")
		}
		if h.CRTHeap {
			roles = append(roles, "CRT heap")
		}
		head := "Heap " + af.f(uint64(h.Handle))
		if len(roles) > 0 {
			head += "  " + strings.Join(roles, ", ")
		}
		fmt.Fprintf(w, "\n%s\n", head)
		fmt.Fprintf(w, "  found by:  %s\n", clean(strings.Join(h.FoundBy, "; ")))
		switch {
		case h.Growable == nil:
			fmt.Fprintf(w, "  growable:  unknown (header not captured)\n")
		case *h.Growable:
			fmt.Fprintf(w, "  growable:  yes\n")
		default:
			fmt.Fprintf(w, "  growable:  no (created with a maximum size)\n")
		}
		if h.SegmentReserve != 0 {
			fmt.Fprintf(w, "  next segment reserve: %s\n", size(h.SegmentReserve))
		}
		if len(h.Segments) == 0 {
			fmt.Fprintf(w, "  segments:  none known\n")
		} else {
			fmt.Fprintf(w, "  segments:  %d, reserved %s, committed %s, uncommitted %s\n", len(h.Segments), size(h.Reserved), size(h.Committed), size(h.Uncommitted))
			tb := newTable("BASE", "END", ">RESERVED", ">COMMITTED", ">UNCOMMITTED", ">LARGEST UNCOMMITTED")
			for _, s := range h.Segments {
				tb.row(af.f(uint64(s.Base)), af.f(uint64(s.End)), size(s.Size), size(s.Committed), size(s.Uncommitted), size(s.LargestUncommitted))
			}
			tb.write(w, "    ")
		}
		for _, n := range h.Notes {
			fmt.Fprintf(w, "  note:      %s\n", clean(n))
		}
	}
	fmt.Fprintln(w)
	switch {
	case hs.CRT != 0:
		fmt.Fprintf(w, "CRT heap: %s (%s)\n", af.f(hs.CRT), clean(hs.CRTHow))
	case hs.CRTHow != "":
		fmt.Fprintf(w, "CRT heap: the process heap, whose address is unknown (%s)\n", clean(hs.CRTHow))
	default:
		fmt.Fprintf(w, "CRT heap: not identified\n")
	}
	if tried := hs.Tried(); len(tried) > 0 {
		fmt.Fprintf(w, "\nMethods tried:\n")
		for _, t := range tried {
			fmt.Fprintf(w, "  - %s\n", clean(t))
		}
	}
}
