package symstore

import (
	"bytes"
	"errors"
	"fmt"

	"github.com/dumpmap/dumpmap/analysis/cab"
	"github.com/dumpmap/dumpmap/analysis/pdb"
	"github.com/dumpmap/dumpmap/minidump/codeview"
)

// checkPDB opens path as a PDB and compares its identity. The age matches
// if either the info stream's or the DBI stream's age does: tools that
// rewrite a PDB may update only one.
func checkPDB(path string, guid codeview.GUID, age uint32) error {
	f, err := pdb.Open(path)
	if err != nil {
		return fmt.Errorf("not a usable PDB%s: %v", describe(path), unwrapPath(err))
	}
	defer f.Close()
	if f.GUID != guid {
		return fmt.Errorf("GUID mismatch: file has %s, module wants %s", f.GUID, guid)
	}
	if f.Age != age && f.DBIAge != age {
		return fmt.Errorf("age mismatch: file has %d, module wants %d", f.Age, age)
	}
	return nil
}

// describe guesses what a non-PDB file is, so "not a PDB" says why.
func describe(path string) string {
	head, err := readSmall(path, 64)
	if err != nil {
		return ""
	}
	switch {
	case len(head) == 0:
		return " (empty file)"
	case bytes.HasPrefix(head, []byte("MODULE ")):
		return " (looks like a Breakpad symbol file)"
	case bytes.HasPrefix(head, []byte(cab.Magic)):
		return " (a cabinet inside a cabinet)"
	case bytes.HasPrefix(bytes.TrimSpace(head), []byte("<")):
		return " (looks like HTML or XML, e.g. a server error page)"
	case bytes.HasPrefix(head, []byte("Microsoft C/C++ program database 2.00")):
		return " (PDB 2.0, not supported)"
	case bytes.HasPrefix(head, []byte("Microsoft C/C++ MSF 7.00")):
		return " (damaged PDB 7.0)"
	}
	return ""
}

// unwrapPath drops the "path: " prefix Open adds: the tried list already
// names the file.
func unwrapPath(err error) error {
	if u := errors.Unwrap(err); u != nil {
		return u
	}
	return err
}
