package render

import (
	"bytes"
	"fmt"
	"io"

	"github.com/dumpmap/dumpmap/analysis/stack"
)

// Stack is `dumpmap stack`: call stacks like WinDbg's k, each frame with how it
// was found. Its JSON is {"file", "threads":[{"id","crashed","frames":[...]}],
// "warnings"}, the frames as stack.Frame.MarshalJSON writes them.
type Stack struct {
	File     string         `json:"file"`
	Threads  []stack.Thread `json:"threads"`
	Warnings []string       `json:"warnings"`

	ptrSize int
}

// NewStack shows the threads of res for a process with ptrSize-byte pointers.
func NewStack(file string, res stack.Result, ptrSize int, warn *Warnings) *Stack {
	threads := res.Threads
	if threads == nil {
		threads = []stack.Thread{}
	}
	return &Stack{File: file, Threads: threads, Warnings: warn.List(), ptrSize: ptrSize}
}

// WriteJSON writes the JSON object.
func (x *Stack) WriteJSON(w io.Writer) error { return WriteJSON(w, x) }

// WriteText writes each thread's frames: number, Child-SP, RetAddr, call site with
// its source position, and how the frame was found. Names from the dump and from
// symbol files are sanitised.
func (x *Stack) WriteText(w io.Writer) error {
	if len(x.Threads) == 0 {
		_, err := fmt.Fprintln(w, "no thread to show")
		return err
	}
	for i := range x.Threads {
		if i > 0 {
			fmt.Fprintln(w)
		}
		var b bytes.Buffer
		if err := stack.WriteText(&b, &x.Threads[i], x.ptrSize); err != nil {
			return err
		}
		if _, err := io.WriteString(w, CleanLines(b.String())); err != nil {
			return err
		}
	}
	return nil
}

// CrashedStack walks the crashing thread, or without an exception stream the
// first thread (a dump written on request: its first thread is usually the one
// that asked).
func CrashedStack(d *stack.Dump) (stack.Result, error) {
	if _, ok := d.CrashedThread(); ok {
		t, err := d.WalkCrashed()
		return stack.Result{Threads: []stack.Thread{t}}, err
	}
	ts := d.Threads()
	if len(ts) == 0 {
		return stack.Result{}, fmt.Errorf("the dump has no thread list")
	}
	t, err := d.WalkThread(ts[0].ID)
	return stack.Result{Threads: []stack.Thread{t}}, err
}

// WalkStacks walks what `dumpmap stack` shows: every thread (all), the thread
// with ID tid (non-zero), or else the crashing thread (CrashedStack).
func WalkStacks(d *stack.Dump, tid uint32, all bool) (stack.Result, error) {
	switch {
	case all:
		return d.WalkAll(), nil
	case tid != 0:
		t, err := d.WalkThread(tid)
		if err != nil {
			return stack.Result{}, err
		}
		return stack.Result{Threads: []stack.Thread{t}}, nil
	}
	return CrashedStack(d)
}
