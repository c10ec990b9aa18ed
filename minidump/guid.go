package minidump

import "github.com/dumpmap/dumpmap/minidump/codeview"

// A GUID is a Windows GUID in its in-file byte order (Data1-3 little-endian). It is
// the type package codeview defines, shared with the PE and PDB readers.
type GUID = codeview.GUID
