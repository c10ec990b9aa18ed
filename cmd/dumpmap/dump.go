package main

import (
	"errors"
	"fmt"

	"github.com/dumpmap/dumpmap/analysis/input"
	"github.com/dumpmap/dumpmap/analysis/process"
	"github.com/dumpmap/dumpmap/analysis/render"
	"github.com/dumpmap/dumpmap/internal/gctune"
	"github.com/dumpmap/dumpmap/minidump"
)

// dumpFile is an open dump plus the warnings met while a command reads it. Commands
// call warn with every accessor error; warnings are printed to stderr at the end (and
// put in the JSON object) and do not change the exit status.
type dumpFile struct {
	*minidump.File
	// path names the dump in messages and JSON: the path, or for a packed dump
	// the archive and member ("crash.zip:dumps/app.dmp"), "<stdin>" for "-".
	path  string
	in    *input.Dump
	warns render.Warnings
	p     *process.Process
}

// Close closes the process (its PDBs and image files) and the dump, and removes
// the temporary file unpacking the dump took.
func (d *dumpFile) Close() error {
	if d.p != nil {
		d.p.Close()
	}
	return d.in.Close()
}

// process returns the analysed process, built with opts on first use.
func (d *dumpFile) process(opts process.Options) *process.Process {
	if d.p == nil {
		d.p = process.New(d.File, opts)
		d.warns.From(d.p)
	}
	return d.p
}

// openDump opens path as a minidump: a plain one, or one packed as users receive
// them (.dmp.gz, .dmp.zst, .dmp.xz, a zip or a cabinet holding one dump; "-" for standard
// input), unpacked by package input within its limits. The header and directory
// damage it finds are recorded as warnings. An error is a *fileError naming the
// file or member at fault: exit status 1.
func openDump(path string) (*dumpFile, error) {
	in, err := input.Open(path, input.Options{})
	if err != nil {
		var ie *input.Error
		if !errors.As(err, &ie) {
			return nil, &fileError{file: path, err: err}
		}
		cause := ie.Err
		if cause == nil || cause.Error() != ie.Message() {
			cause = inputError{ie}
		}
		return nil, &fileError{file: ie.Name, err: cause}
	}
	gctune.ForDump(in.File)
	d := &dumpFile{File: in.File, path: in.Name, in: in}
	for _, w := range in.File.Warnings {
		d.warn(w)
	}
	return d, nil
}

// inputError is an *input.Error without its name, which the fileError gives.
type inputError struct{ e *input.Error }

func (e inputError) Error() string { return e.e.Message() }
func (e inputError) Unwrap() error { return e.e }

// warn records err as a warning (render.Warnings.Add).
func (d *dumpFile) warn(err error) { d.warns.Add(err) }

// flush prints the warnings to stderr as "dumpmap: FILE: warning: ...".
func (d *dumpFile) flush(e *env) {
	for _, w := range d.warns.List() {
		fmt.Fprintf(e.stderr, "dumpmap: %s: warning: %s\n", render.Clean(d.path), render.Clean(w))
	}
}
