package main

import (
	"fmt"
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

// The JSON shape is shared with the report (package report).
type explanationJSON = render.Explanation

// explanationOf shapes an explanation for JSON, as the report does.
func explanationOf(x *analysis.Explanation) explanationJSON { return render.ExplanationOf(x) }

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
	d, err := openDump(args[0])
	if err != nil {
		return err
	}
	defer d.Close()
	defer d.flush(e)
	m, err := loadMap(d, o.mf)
	if err != nil {
		return err
	}
	if *o.max {
		return printMax(e, d, m, req)
	}
	x := m.Explain(req)
	if e.json {
		return writeJSON(e.stdout, struct {
			File string `json:"file"`
			explanationJSON
			Partial  bool     `json:"partial"`
			Warnings []string `json:"warnings"`
		}{d.path, explanationOf(x), m.Partial, d.warnings()})
	}
	writeExplanation(e, m, x)
	return nil
}

// requestText names a request in words: "malloc(50 KiB)".
func requestText(r analysis.Request) string { return render.RequestText(r) }

func writeExplanation(e *env, m *analysis.Map, x *analysis.Explanation) {
	w := e.stdout
	af := newAddrFmt(m.Space.PointerSize * 8)
	req := requestText(x.Request)
	if x.Request.Below != 0 {
		req += fmt.Sprintf(", below %#x", x.Request.Below)
	}
	fmt.Fprintf(w, "Request: %s\n", req)
	verdict := strings.ToUpper(string(x.Verdict))
	if x.Condition != "" {
		verdict += ": " + x.Condition
	}
	fmt.Fprintf(w, "Verdict: %s\n", verdict)
	if m.Partial {
		fmt.Fprintln(w, "         (partial map: the dump has no MemoryInfoList)")
	}
	fmt.Fprintln(w, "\nWhy:")
	for i, r := range x.Reasons {
		fmt.Fprintf(w, "%s\n", wrapText(fmt.Sprintf("%2d. %s", i+1, r), 88, "    "))
	}
	if len(x.Candidates) > 0 {
		fmt.Fprintf(w, "\nFree runs that can take it (%d in all):\n", x.CandidateCount)
		tb := newTable("RUN", "", ">SIZE", "USABLE FROM", ">USABLE")
		for _, c := range x.Candidates {
			tb.row(af.f(c.Base), af.f(c.End()), size(c.Size), af.f(c.UsableBase), size(c.UsableSize))
		}
		tb.write(w, "  ")
	}
	if len(x.NearMisses) > 0 {
		fmt.Fprintln(w, "\nNearest misses:")
		for _, n := range x.NearMisses {
			fmt.Fprintf(w, "%s\n", wrapText(fmt.Sprintf("  %s-%s  %s", af.f(n.Run.Base), af.f(n.Run.End()), n.Why), 88, "      "))
		}
	}
	if len(x.Unknown) > 0 {
		fmt.Fprintln(w, "\nWhat the dump could not show:")
		for _, u := range x.Unknown {
			fmt.Fprintf(w, "%s\n", wrapText("  - "+u, 88, "    "))
		}
	}
	if len(x.Remedies) > 0 {
		fmt.Fprintln(w, "\nWhat would have made it succeed:")
		for _, r := range x.Remedies {
			fmt.Fprintf(w, "%s\n", wrapText("  - "+r, 88, "    "))
		}
	}
}

// wrapText wraps s at width, indenting continuation lines.
func wrapText(s string, width int, indent string) string {
	words := strings.Fields(s)
	if len(words) == 0 {
		return ""
	}
	lead := s[:len(s)-len(strings.TrimLeft(s, " "))]
	var lines []string
	line := lead + clean(words[0])
	for _, word := range words[1:] {
		word = clean(word)
		if len(line)+1+len(word) > width {
			lines = append(lines, line)
			line = indent + word
			continue
		}
		line += " " + word
	}
	return strings.Join(append(lines, line), "\n")
}

type maxJSON = render.Max

func printMax(e *env, d *dumpFile, m *analysis.Map, req analysis.Request) error {
	var out []maxJSON
	for _, via := range []analysis.Via{analysis.ViaVirtualAlloc, analysis.ViaReserve, analysis.ViaHeap, analysis.ViaMalloc, analysis.ViaVector} {
		r := req
		r.Via = via
		n, ok := m.MaxRequest(r)
		out = append(out, maxJSON{Via: string(via), Max: n, Possible: ok})
	}
	if e.json {
		return writeJSON(e.stdout, struct {
			File     string    `json:"file"`
			Below    hexNum    `json:"below,omitempty"`
			Max      []maxJSON `json:"max"`
			Partial  bool      `json:"partial"`
			Warnings []string  `json:"warnings"`
		}{d.path, hexNum(req.Below), out, m.Partial, d.warnings()})
	}
	fmt.Fprintln(e.stdout, "Largest request that would still succeed, by path:")
	tb := newTable("PATH", ">LARGEST", ">BYTES")
	for _, x := range out {
		if !x.Possible {
			tb.row(x.Via, "none", "-")
			continue
		}
		tb.row(x.Via, size(x.Max), fmt.Sprint(x.Max))
	}
	tb.write(e.stdout, "  ")
	fmt.Fprintln(e.stdout, "\n(For vector, the size of a vector that could still grow once. 'none' also covers verdicts that depend on the heap's free blocks.)")
	return nil
}
