package render

import (
	"fmt"
	"io"
	"strings"

	"github.com/dustin/go-humanize"

	"github.com/dumpmap/dumpmap/analysis/crash"
)

// FailedHeadline says in one line which allocation failed: "operator new of
// 128 TiB (140,737,488,355,328 bytes) in msvcr120.dll!operator_new, thrown
// std::bad_alloc". Names from the dump are cleaned (Clean).
func FailedHeadline(fr *crash.FailedRequest) string {
	size := "an unknown size"
	if fr.Size != 0 {
		size = fmt.Sprintf("%s (%s bytes)", Size(fr.Size), humanize.Comma(int64(min(fr.Size, 1<<62))))
	}
	var s string
	switch fr.Path {
	case crash.PathOperatorNew:
		s = "operator new of " + size
	case crash.PathMalloc:
		s = "malloc of " + size
	case crash.PathHeap:
		if fr.Heap != nil {
			s = fmt.Sprintf("HeapAlloc on heap %#x of %s", uint64(*fr.Heap), size)
		} else {
			s = "HeapAlloc (heap unknown) of " + size
		}
	case crash.PathVirtualAlloc:
		s = "VirtualAlloc of " + size
	case crash.PathVector:
		s = "std::vector growth to a new buffer of " + size
	case crash.PathString:
		s = "std::string growth to a new buffer of " + size
	default:
		s = "an allocation of " + size
	}
	if fr.Function != "" {
		s += fmt.Sprintf(" in %s (frame %d)", Clean(fr.Function), fr.Frame)
	}
	if fr.ElementSize != 0 {
		s += fmt.Sprintf(": %s elements of %d bytes, up from %s", humanize.Comma(int64(fr.NewCapacity)), fr.ElementSize, humanize.Comma(int64(fr.OldSize)))
	}
	if fr.ThrownType != "" {
		s += ", thrown " + Clean(fr.ThrownType)
		if fr.ThrownTypeFrom == "inferred" {
			s += " (inferred)"
		}
	}
	return s
}

// writeFailed writes the failed request and its chain of evidence.
func writeFailed(w io.Writer, fr *crash.FailedRequest) {
	fmt.Fprintf(w, "%s\n", wrapText("Failed request: "+FailedHeadline(fr), 88, "    "))
	fmt.Fprintln(w, "\nHow the dump shows it:")
	for i, e := range fr.Evidence {
		fmt.Fprintf(w, "%s\n", wrapText(fmt.Sprintf("%2d. %s", i+1, Clean(strings.Join(e.Text, "; "))), 88, "    "))
	}
	if len(fr.Unknown) > 0 {
		fmt.Fprintln(w, "\nNot recovered:")
		for _, u := range fr.Unknown {
			fmt.Fprintf(w, "%s\n", wrapText(fmt.Sprintf("  - %s: %s", Clean(u.What), Clean(u.Why)), 88, "    "))
		}
	}
	fmt.Fprintln(w)
}

// NoRequestError says why `explain` without a size has nothing to explain: the
// crash shows no failed allocation (Looked says what was looked for), or its
// size could not be recovered (Request holds what was found).
type NoRequestError struct {
	File    string
	Looked  []string
	Request *crash.FailedRequest
}

func (e *NoRequestError) Error() string {
	if e.Request != nil {
		var why []string
		for _, u := range e.Request.Unknown {
			if u.What == "size" {
				why = append(why, u.Why)
			}
		}
		return fmt.Sprintf("%s: the crash is a failed allocation (%s), but its size could not be recovered (%s); give --size to explain a request",
			e.File, FailedHeadline(e.Request), strings.Join(why, "; "))
	}
	return fmt.Sprintf("%s: no failed allocation found (looked for %s); give --size to explain a request", e.File, strings.Join(e.Looked, "; "))
}
