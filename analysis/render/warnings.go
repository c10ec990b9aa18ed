package render

import (
	"errors"
	"fmt"
	"io/fs"
	"strings"

	"github.com/dumpmap/dumpmap/analysis/process"
	"github.com/dumpmap/dumpmap/minidump"
)

// Warnings collects what went wrong while a command read a dump without stopping
// it: damaged streams, truncated ranges, a fact the dump lacks. The CLI prints
// them on stderr after the output ("dumpmap: FILE: warning: ...") and puts them in
// the JSON object's "warnings" list. The zero value is ready to use.
type Warnings struct {
	list []string
	seen map[string]bool
	from []*process.Process
}

// From makes List include the damage process p has met by then (p.Damage), so a
// command need not pass on what the streams it read told the process.
func (w *Warnings) From(p *process.Process) { w.from = append(w.from, p) }

// Add records err as warnings, one for each error errors.Join joined in it, in
// the words of Describe. An error that only says a stream is absent
// (minidump.ErrNoStream) is left out: the commands say that in their own words
// where it matters. A warning already recorded is not repeated. A nil err adds
// nothing.
func (w *Warnings) Add(err error) {
	for _, e := range process.Flatten(err) {
		if errors.Is(e, minidump.ErrNoStream) {
			continue
		}
		msg := Describe(e)
		if w.seen[msg] {
			continue
		}
		if w.seen == nil {
			w.seen = map[string]bool{}
		}
		w.seen[msg] = true
		w.list = append(w.list, msg)
	}
}

// Addf records a warning written by the command itself.
func (w *Warnings) Addf(format string, args ...any) { w.Add(fmt.Errorf(format, args...)) }

// List returns the warnings recorded so far, never nil (JSON shows []).
func (w *Warnings) List() []string {
	for _, p := range w.from {
		for _, e := range p.Damage() {
			w.Add(e)
		}
	}
	if w.list == nil {
		return []string{}
	}
	return w.list
}

// Describe turns an error into the text the CLI prints after "dumpmap: FILE: ".
// A *fs.PathError gives only its cause, so the path is not repeated; the minidump
// package's "minidump: " prefix is dropped, since every message is about a
// minidump; line breaks become "; ". The result is not cleaned.
func Describe(err error) string {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		err = pe.Err
	}
	msg := err.Error()
	for strings.HasPrefix(msg, "minidump: ") {
		msg = strings.TrimPrefix(msg, "minidump: ")
	}
	return strings.ReplaceAll(msg, "\n", "; ")
}
