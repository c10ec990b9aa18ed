package main

import (
	"fmt"

	"github.com/dumpmap/dumpmap/analysis/process"
	"github.com/dumpmap/dumpmap/analysis/render"
	"github.com/dumpmap/dumpmap/minidump"
)

// dumpFile is an open dump plus the warnings met while a command reads it. Commands
// call warn with every accessor error; warnings are printed to stderr at the end (and
// put in the JSON object) and do not change the exit status.
type dumpFile struct {
	*minidump.File
	path  string
	warns render.Warnings
	p     *process.Process
}

// Close closes the process (its PDBs and image files) and the dump.
func (d *dumpFile) Close() error {
	if d.p != nil {
		d.p.Close()
	}
	return d.File.Close()
}

// process returns the analysed process, built with opts on first use.
func (d *dumpFile) process(opts process.Options) *process.Process {
	if d.p == nil {
		d.p = process.New(d.File, opts)
	}
	return d.p
}

// openDump opens path as a minidump. The header and directory damage it finds are
// recorded as warnings. An error is a *fileError: exit status 1.
func openDump(path string) (*dumpFile, error) {
	f, err := minidump.Open(path)
	if err != nil {
		return nil, &fileError{file: path, err: err}
	}
	d := &dumpFile{File: f, path: path}
	for _, w := range f.Warnings {
		d.warn(w)
	}
	return d, nil
}

// warn records err as a warning (render.Warnings.Add).
func (d *dumpFile) warn(err error) { d.warns.Add(err) }

// flush prints the warnings to stderr as "dumpmap: FILE: warning: ...".
func (d *dumpFile) flush(e *env) {
	for _, w := range d.warns.List() {
		fmt.Fprintf(e.stderr, "dumpmap: %s: warning: %s\n", render.Clean(d.path), render.Clean(w))
	}
}

// pointerBits returns 32 or 64, the width in which the dump's addresses are printed.
func (d *dumpFile) pointerBits() int {
	if si, err := d.SystemInfo(); err == nil && si.Arch.PointerSize() == 4 {
		return 32
	}
	return 64
}
