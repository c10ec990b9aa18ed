package render

import (
	"fmt"
	"io"
	"strings"

	"github.com/dumpmap/dumpmap/analysis"
	"github.com/dumpmap/dumpmap/analysis/crash"
)

// Explain is `dumpmap explain`: whether an allocation would have succeeded
// in the process, and why. Its JSON object is the explanation's shape (shared
// with the report) with the file, whether the map is partial, and the warnings.
type Explain struct {
	File string `json:"file"`
	// FailedRequest is the allocation the crash shows failing, when the request
	// explained is that one (explain without --size).
	FailedRequest *crash.FailedRequest `json:"failed_request,omitempty"`
	Explanation
	Partial  bool     `json:"partial"`
	Warnings []string `json:"warnings"`

	m *analysis.Map
	x *analysis.Explanation
}

// NewExplain explains req on the map m of the dump shown as file.
func NewExplain(file string, m *analysis.Map, req analysis.Request, warn *Warnings) *Explain {
	x := m.Explain(req)
	return &Explain{File: file, Explanation: ExplanationOf(x), Partial: m.Partial, Warnings: warn.List(), m: m, x: x}
}

// NewFailedExplain explains the allocation the crash analysis a found failing,
// on the map m of the dump shown as file. It returns a *NoRequestError when the
// crash shows no failed allocation or not its size.
//
// override, when not nil, replaces the path the crash shows (its Via, Heap,
// ElementSize, Growth and Below; the size stays the crash's), as --via does.
func NewFailedExplain(file string, m *analysis.Map, a *crash.Analysis, override *analysis.Request, warn *Warnings) (*Explain, error) {
	if a.Request == nil {
		return nil, &NoRequestError{File: file, Looked: a.Looked}
	}
	req, ok := analysis.RequestFor(a.Request)
	if !ok {
		return nil, &NoRequestError{File: file, Request: a.Request}
	}
	if o := override; o != nil {
		size := a.Request.Size
		req = *o
		req.Size, req.Failed = size, true
		if req.Via == analysis.ViaVector && a.Request.Path == crash.PathVector && a.Request.OldCapacity != 0 {
			req.Size, req.NewSize = a.Request.OldCapacity*a.Request.ElementSize, a.Request.Size
		}
	}
	ex := NewExplain(file, m, req, warn)
	ex.FailedRequest = a.Request
	return ex, nil
}

// WriteJSON writes the JSON object.
func (ex *Explain) WriteJSON(w io.Writer) error { return WriteJSON(w, ex) }

// WriteText writes the verdict, the reasons and the free runs that prove them.
func (ex *Explain) WriteText(w io.Writer) error {
	m, x := ex.m, ex.x
	af := mapAddr(m)
	if ex.FailedRequest != nil {
		writeFailed(w, ex.FailedRequest)
	}
	req := RequestText(x.Request)
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
		tb := NewTable("RUN", "", ">SIZE", "USABLE FROM", ">USABLE")
		for _, c := range x.Candidates {
			tb.Row(af.Format(c.Base), af.Format(c.End()), Size(c.Size), af.Format(c.UsableBase), Size(c.UsableSize))
		}
		tb.Print(w, "  ")
	}
	if len(x.NearMisses) > 0 {
		fmt.Fprintln(w, "\nNearest misses:")
		for _, n := range x.NearMisses {
			fmt.Fprintf(w, "%s\n", wrapText(fmt.Sprintf("  %s-%s  %s", af.Format(n.Run.Base), af.Format(n.Run.End()), n.Why), 88, "      "))
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
	return nil
}

// MaxRequests is `dumpmap explain --max`: the largest request that would still
// succeed by each allocation path.
type MaxRequests struct {
	File     string   `json:"file"`
	Below    Hex      `json:"below,omitempty"`
	Max      []Max    `json:"max"`
	Partial  bool     `json:"partial"`
	Warnings []string `json:"warnings"`
}

// NewMaxRequests finds, on the map m of the dump shown as file, the largest
// request like req (its Below, Heap, ElementSize and Growth) that would succeed
// by each path.
func NewMaxRequests(file string, m *analysis.Map, req analysis.Request, warn *Warnings) *MaxRequests {
	out := &MaxRequests{File: file, Below: Hex(req.Below), Partial: m.Partial}
	for _, via := range []analysis.Via{analysis.ViaVirtualAlloc, analysis.ViaReserve, analysis.ViaHeap, analysis.ViaMalloc, analysis.ViaVector} {
		r := req
		r.Via = via
		n, ok := m.MaxRequest(r)
		out.Max = append(out.Max, Max{Via: string(via), Max: n, Possible: ok})
	}
	out.Warnings = warn.List()
	return out
}

// WriteJSON writes the JSON object.
func (mr *MaxRequests) WriteJSON(w io.Writer) error { return WriteJSON(w, mr) }

// WriteText writes the table.
func (mr *MaxRequests) WriteText(w io.Writer) error {
	fmt.Fprintln(w, "Largest request that would still succeed, by path:")
	tb := NewTable("PATH", ">LARGEST", ">BYTES")
	for _, x := range mr.Max {
		if !x.Possible {
			tb.Row(x.Via, "none", "-")
			continue
		}
		tb.Row(x.Via, Size(x.Max), fmt.Sprint(x.Max))
	}
	tb.Print(w, "  ")
	_, err := fmt.Fprintln(w, "\n(For vector, the size of a vector that could still grow once. 'none' also covers verdicts that depend on the heap's free blocks.)")
	return err
}
