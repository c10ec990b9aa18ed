// Package cab reads Microsoft cabinet (CAB) files: the "name.pd_" files symbol
// servers serve and the archives Windows Error Reporting packs crash dumps in.
//
// The layout is Microsoft's [MS-CAB] "Cabinet File Format" (Open Specifications):
// a CFHEADER, one CFFOLDER per folder (a compressed stream), one CFFILE per file
// (its size, its offset in its folder's uncompressed stream, its name), then each
// folder's CFDATA blocks of at most 32 KiB of uncompressed data.
//
// Supported: single cabinets (not sets spanning several .cab files) whose folders
// are stored uncompressed or compressed with MSZIP (each block "CK" followed by a
// deflate stream whose dictionary is the previous block's output). LZX and
// Quantum folders are listed but not extracted: Extract returns an
// *UnsupportedError naming the method, so the user knows to expand the file with
// cabextract or expand.exe. A cabinet that is part of a set is refused by
// NewReader with an *UnsupportedError.
//
// A cabinet is hostile input: every count and size is checked against the file
// before anything is allocated, checksums are verified when present, Extract
// stops at a caller's limit, and a file's Name is only a label: never use it as a
// path.
package cab
