// Package report builds the document `dumpmap report` writes: everything the
// analyses know about one dump, in one place a bug ticket can hold.
//
// Build runs the analyses (the overview, the region map, the summary tables, the
// fragmentation report, the heaps, and an explanation for each request size) and
// returns a Report, which renders itself as Markdown (WriteMarkdown), as one
// self-contained HTML page with an address-space picture (WriteHTML), or as one JSON
// object (WriteJSON; the object is documented in docs/report.md and described by the
// JSON Schema docs/report.schema.json).
//
// Everything in a report that comes from the dump (module names and paths, thread
// names, exception text) is hostile input: the renderers escape it for their format,
// so a crafted dump cannot inject markup or script into the HTML or the Markdown.
package report

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/dumpmap/dumpmap/analysis"
	"github.com/dumpmap/dumpmap/analysis/overview"
	"github.com/dumpmap/dumpmap/analysis/process"
	"github.com/dumpmap/dumpmap/analysis/render"
	"github.com/dumpmap/dumpmap/analysis/stack"
	"github.com/dumpmap/dumpmap/minidump"
)

// Version is the version of the report's JSON object (report_version). It changes
// only when a field changes meaning or goes away; new fields may appear within a
// version.
const Version = 1

// Options tune Build.
type Options struct {
	// Name is the file name the report shows for the dump (by default "dump").
	Name string
	// Generator names the program that wrote the report, e.g. "dumpmap v1.2.0".
	Generator string
	// Sizes are the request sizes to explain. Empty: the sizes the crash most likely
	// asked for (the size an out-of-memory exception carries), else StandardSizes.
	Sizes []uint64
	// Vias are the allocation paths each size is explained for. Empty: virtualalloc
	// and malloc, and heap too when the exception is STATUS_NO_MEMORY (which
	// HeapAlloc raises).
	Vias []analysis.Via
	// Map tunes the region map: a WOW64 process's native view, an end of the
	// address space below its real end (Below: a 64-bit process confined below 2 GB
	// is analysed as a 2 GB one, requests included), free ranges known to be
	// unallocatable.
	Map analysis.Options
	// Top is how many waste patterns and allocations the report lists (default 10).
	Top int
	// NoMax leaves out the "largest request that would still succeed" table, which
	// bisects over the explanations (a few hundred milliseconds on a huge map).
	NoMax bool
}

// StandardSizes are the request sizes a report explains when neither the options
// nor the exception name any: one allocation granule, a typical large buffer and a
// big one.
var StandardSizes = []uint64{64 << 10, 1 << 20, 16 << 20}

// DefaultVias are the allocation paths explained when the options name none.
var DefaultVias = []analysis.Via{analysis.ViaVirtualAlloc, analysis.ViaMalloc}

// Report is the whole report. Its exported fields are the JSON object described in
// docs/report.md.
type Report struct {
	// File is the dump's file name, without its directory (a report is shared).
	File          string `json:"file"`
	ReportVersion int    `json:"report_version"`
	Generator     string `json:"generator,omitempty"`
	// Title names the product the dump is of: "firefox.exe 86.0.0.7677".
	Title string `json:"title"`
	// Dump is what `dumpmap info --json` shows: identity, exception, capture, findings.
	Dump *overview.Overview `json:"overview"`
	Map  MapInfo            `json:"map"`
	// Summary holds WinDbg's !address -summary tables.
	Summary SummaryInfo `json:"summary"`
	// Fragmentation is `dumpmap frag`'s report.
	Fragmentation FragInfo  `json:"fragmentation"`
	Heaps         HeapsInfo `json:"heaps"`
	// Requests says which requests are explained and why those.
	Requests RequestsInfo `json:"requests"`
	// CrashingStack is the crashing thread's stack (stack.Crash), as `dumpmap
	// stack --json` shows a thread; absent without an exception.
	CrashingStack *stack.Thread `json:"crashing_stack,omitempty"`
	// FailedExplanation explains the allocation the crash shows failing (the
	// overview's exception.failed_request), when its size is known.
	FailedExplanation *render.Explanation `json:"failed_explanation,omitempty"`
	// Explanations holds one explanation per request size and path, in the order
	// of Requests.Sizes, then Requests.Vias.
	Explanations []render.Explanation `json:"explanations"`
	// Max is the largest request that would still succeed, per path (empty with
	// Options.NoMax).
	Max []render.Max `json:"max"`
	// Picture is the address-space picture the HTML draws, as letters per cell.
	Picture  Picture  `json:"picture"`
	Warnings []string `json:"warnings"`

	m     *analysis.Map
	small Picture // the coarser picture the Markdown shows as text
	usage [numUsages]uint64
}

// MapInfo says what the region map was built from.
type MapInfo struct {
	Source  string       `json:"source"`
	Partial bool         `json:"partial"`
	Space   render.Space `json:"space"`
	Regions int          `json:"regions"`
	Notes   []string     `json:"notes"`
}

// SummaryInfo is the !address -summary tables.
type SummaryInfo struct {
	Total          uint64              `json:"total"`
	Busy           uint64              `json:"busy"`
	Unknown        uint64              `json:"unknown"`
	Usage          []render.SummaryRow `json:"usage"`
	Type           []render.SummaryRow `json:"type"`
	State          []render.SummaryRow `json:"state"`
	Protect        []render.SummaryRow `json:"protect"`
	LargestByUsage []render.Largest    `json:"largest_by_usage"`
}

// FragInfo is the fragmentation report.
type FragInfo struct {
	FreeTotal         uint64              `json:"free_total"`
	UsableFreeTotal   uint64              `json:"usable_free_total"`
	FreeRuns          int                 `json:"free_runs"`
	UnusableRuns      int                 `json:"unusable_runs"`
	LargestFree       render.Block        `json:"largest_free"`
	LargestUsableFree render.UsableBlock  `json:"largest_usable_free"`
	UnusableTotal     uint64              `json:"unusable_total"`
	SizeClasses       []render.SizeClass  `json:"free_size_classes"`
	Fits              []render.Fit        `json:"fits"`
	Waste             []render.Waste      `json:"waste"`
	WastePatterns     int                 `json:"waste_patterns"`
	WasteTotal        uint64              `json:"waste_total"`
	ByUsage           []render.SummaryRow `json:"by_usage"`
	ByAllocation      []render.Allocation `json:"by_allocation"`
	Allocations       int                 `json:"allocations"`
	Plentiful         bool                `json:"plentiful"`
	Commit            *render.Commit      `json:"commit"`
}

// HeapsInfo is the process's heaps as far as the dump shows them.
type HeapsInfo struct {
	Process render.Hex        `json:"process_heap,omitempty"`
	CRT     render.Hex        `json:"crt_heap,omitempty"`
	CRTHow  string            `json:"crt_how,omitempty"`
	Tried   []string          `json:"tried"`
	Heaps   []render.HeapInfo `json:"heaps"`
}

// RequestsInfo says which requests the report explains and why.
type RequestsInfo struct {
	// ChosenBy is "options" (given by the user), "exception" (the size an
	// out-of-memory exception carries) or "standard" (StandardSizes).
	ChosenBy string   `json:"chosen_by"`
	Why      string   `json:"why"`
	Sizes    []uint64 `json:"sizes"`
	Vias     []string `json:"vias"`
	// Below is the end the map was given (Options.Map.Below): no request can be
	// placed above it.
	Below render.Hex `json:"below,omitempty"`
}

// Build runs the analyses on process p and returns the report. It fails only when the dump
// holds nothing to build a region map from; damage met on the way is listed in
// Warnings.
func Build(p *process.Process, opt Options) (*Report, error) {
	if opt.Name == "" {
		opt.Name = "dump"
	}
	if opt.Top <= 0 {
		opt.Top = 10
	}
	r := &Report{ReportVersion: Version, Generator: opt.Generator, File: opt.Name, Warnings: []string{}}
	seen := map[string]bool{}
	warn := func(err error) {
		for _, e := range process.Flatten(err) {
			if errors.Is(e, minidump.ErrNoStream) {
				continue
			}
			msg := describe(e)
			if !seen[msg] {
				seen[msg] = true
				r.Warnings = append(r.Warnings, msg)
			}
		}
	}
	r.Dump = overview.Of(p)
	for _, w := range r.Dump.Warnings {
		warn(w)
	}
	r.Title = title(r.Dump)

	m, err := analysis.NewMap(p, opt.Map)
	if err != nil {
		return nil, err
	}
	r.m = m
	r.Map = MapInfo{Source: m.Source.String(), Partial: m.Partial, Space: render.SpaceOf(m.Space), Regions: len(m.Regions), Notes: m.NoteTexts()}
	for _, e := range m.Damage {
		warn(e)
	}
	heaps := m.Heaps
	vm, _ := p.VMCounters()
	smi, _ := p.SystemMemoryInfo()

	s := m.Summary()
	r.Summary = SummaryInfo{Total: s.Total, Busy: s.Busy, Unknown: s.Unknown,
		Usage: render.SummaryRowsOf(s.Usage), Type: render.SummaryRowsOf(s.Type), State: render.SummaryRowsOf(s.State), Protect: render.SummaryRowsOf(s.Protect), LargestByUsage: render.LargestOf(s.Largest)}

	fr := m.Fragmentation(vm, smi)
	fi := FragInfo{
		FreeTotal: fr.Free.Total, UsableFreeTotal: fr.Free.UsableTotal, FreeRuns: fr.Free.Runs, UnusableRuns: fr.Free.UnusableRuns,
		LargestFree:       render.Block{Base: render.Hex(fr.Free.Largest.Base), Size: fr.Free.Largest.Size},
		LargestUsableFree: render.UsableOf(fr.Free.LargestUsable), UnusableTotal: fr.Free.Unusable,
		SizeClasses: render.SizeClassesOf(fr.SizeClasses), Fits: render.FitsOf(fr.Fits), Waste: []render.Waste{}, WastePatterns: len(fr.Waste), WasteTotal: fr.WasteTotal,
		ByUsage: render.SummaryRowsOf(fr.ByUsage), ByAllocation: []render.Allocation{}, Allocations: m.NumAllocations(),
		Plentiful: fr.Plentiful, Commit: render.CommitOf(fr.Commit),
	}
	for i, w := range fr.Waste {
		if i == opt.Top {
			break
		}
		fi.Waste = append(fi.Waste, render.WasteOf(w))
	}
	for i := range fr.ByAllocation {
		if i == opt.Top {
			break
		}
		fi.ByAllocation = append(fi.ByAllocation, render.AllocationOf(&fr.ByAllocation[i]))
	}
	r.Fragmentation = fi

	r.Heaps = HeapsInfo{Process: render.Hex(heaps.Process), CRT: render.Hex(heaps.CRT), CRTHow: heaps.CRTHow, Tried: heaps.Tried(), Heaps: render.HeapsOf(heaps)}

	if x := r.Dump.Exception; x != nil {
		r.CrashingStack = stack.Crash(context.Background(), p).Thread
		if req, ok := analysis.RequestFor(x.FailedRequest); ok {
			e := render.ExplanationOf(m.Explain(req))
			r.FailedExplanation = &e
		}
	}
	r.Requests = chooseRequests(r.Dump, m, opt)
	r.Explanations = []render.Explanation{}
	for _, size := range r.Requests.Sizes {
		for _, via := range r.Requests.Vias {
			x := m.Explain(analysis.Request{Size: size, Via: analysis.Via(via)})
			r.Explanations = append(r.Explanations, render.ExplanationOf(x))
		}
	}
	r.Max = []render.Max{}
	if !opt.NoMax {
		for _, via := range r.Requests.Vias {
			n, ok := m.MaxRequest(analysis.Request{Via: analysis.Via(via)})
			r.Max = append(r.Max, render.Max{Via: via, Max: n, Possible: ok})
		}
	}

	for i := range m.Regions {
		reg := &m.Regions[i]
		if reg.Usage < numUsages {
			r.usage[reg.Usage] += reg.Size
		}
	}
	// Damage met by whatever decoded a stream after the overview did.
	for _, e := range p.Damage() {
		warn(e)
	}
	r.Picture = layout(m, htmlBudget)
	r.small = layout(m, textBudget)
	return r, nil
}

// AddWarnings adds warnings met outside Build (opening the file, say) in front of
// the report's own, without repeating any.
func (r *Report) AddWarnings(ws []string) {
	seen := map[string]bool{}
	var out []string
	for _, w := range append(append([]string{}, ws...), r.Warnings...) {
		if !seen[w] {
			seen[w] = true
			out = append(out, w)
		}
	}
	r.Warnings = out
	if r.Warnings == nil {
		r.Warnings = []string{}
	}
}

// title names the dump's product: "firefox.exe 86.0.0.7677", or the OS and
// architecture when no module is known.
func title(o *overview.Overview) string {
	if m := o.MainModule; m != nil && m.Name != "" {
		if m.FileVersion != "" {
			return m.Name + " " + m.FileVersion
		}
		return m.Name
	}
	if o.System != nil {
		return o.System.OS + " " + o.System.Arch + " process"
	}
	return "unknown process"
}

// describe turns an error into a warning line, without the package prefix.
func describe(err error) string {
	msg := err.Error()
	for strings.HasPrefix(msg, "minidump: ") {
		msg = strings.TrimPrefix(msg, "minidump: ")
	}
	return strings.ReplaceAll(msg, "\n", "; ")
}

// chooseRequests decides which sizes and paths to explain.
func chooseRequests(o *overview.Overview, m *analysis.Map, opt Options) RequestsInfo {
	ri := RequestsInfo{Below: render.Hex(opt.Map.Below)}
	vias := opt.Vias
	noMemory := o.Exception != nil && o.Exception.OutOfMemory && minidump.ExceptionCode(o.Exception.Code) == minidump.ExceptionNoMemory
	switch {
	case len(opt.Sizes) > 0:
		ri.ChosenBy = "options"
		ri.Sizes = dedupSizes(opt.Sizes)
		ri.Why = "given on the command line"
	default:
		size, why, ok := exceptionSize(o.Exception, m.Space.PointerSize)
		if ok {
			ri.ChosenBy = "exception"
			ri.Sizes = []uint64{size}
			ri.Why = why
		} else {
			ri.ChosenBy = "standard"
			ri.Sizes = append([]uint64{}, StandardSizes...)
			ri.Why = why + "so the report explains standard sizes: 64 KiB (one allocation granule, the smallest reservation), 1 MiB (a typical heap segment or large buffer) and 16 MiB (a big buffer)."
		}
	}
	if len(vias) == 0 {
		vias = DefaultVias
		if noMemory {
			vias = []analysis.Via{analysis.ViaVirtualAlloc, analysis.ViaHeap, analysis.ViaMalloc}
		}
	}
	seen := map[analysis.Via]bool{}
	for _, v := range vias {
		if !seen[v] {
			seen[v] = true
			ri.Vias = append(ri.Vias, string(v))
		}
	}
	return ri
}

func dedupSizes(in []uint64) []uint64 {
	seen := map[uint64]bool{}
	var out []uint64
	for _, s := range in {
		if s != 0 && !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}

// exceptionSize returns the request size an out-of-memory exception carries, and
// says where it came from; when there is none, why is the start of a sentence
// saying so.
func exceptionSize(x *overview.Exception, ptrSize int) (size uint64, why string, ok bool) {
	if x == nil {
		return 0, "The dump has no exception; ", false
	}
	if !x.OutOfMemory {
		return 0, fmt.Sprintf("The exception %s is not an out-of-memory exception; ", x.Name), false
	}
	code := minidump.ExceptionCode(x.Code)
	var source string
	switch code {
	case minidump.ExceptionNoMemory:
		source = "HeapAlloc (RtlAllocateHeap) raises STATUS_NO_MEMORY when a heap created or called with HEAP_GENERATE_EXCEPTIONS cannot allocate, with the size asked for as its first parameter"
	case minidump.ExceptionChromeOOM:
		source = "0xe0000008 is the out-of-memory exception of Chromium-based programs (base::TerminateBecauseOutOfMemory), with the size of the failed request as its first parameter"
	default:
		return 0, fmt.Sprintf("The out-of-memory exception %s carries no request size; ", x.Name), false
	}
	if len(x.Parameters) == 0 {
		return 0, fmt.Sprintf("The exception %s has no parameters, so the request size is unknown; ", x.Name), false
	}
	size = uint64(x.Parameters[0])
	if ptrSize == 4 {
		size &= 0xffffffff // 32-bit writers may sign-extend
	}
	if size == 0 {
		return 0, fmt.Sprintf("The exception %s gives 0 as the request size (unknown); ", x.Name), false
	}
	return size, fmt.Sprintf("%s: %#x (%s).", source, size, render.Size(size)), true
}

// sortedUsages returns the usages with bytes, largest first.
func (r *Report) sortedUsages() []usageBytes {
	var out []usageBytes
	for u := analysis.Usage(0); u < numUsages; u++ {
		if r.usage[u] > 0 {
			out = append(out, usageBytes{u, r.usage[u]})
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].bytes > out[j].bytes })
	return out
}

type usageBytes struct {
	u     analysis.Usage
	bytes uint64
}
