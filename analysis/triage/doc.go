// Package triage turns a collection of minidumps into one record per dump and
// groups of records a team can act on: `dumpmap triage` is a thin command over it.
//
// Run walks the paths it is given (folders recursively, following symbolic links
// but never into a folder it has already walked, so links cannot loop), opens the
// containers customers send dumps in (zip, cabinet, gzip, zstd and xz, recognised by
// their content, nested up to two levels: a .zip of .dmp.gz files is read; package
// input reads them, as every dumpmap command does), and analyses
// every dump on a pool of workers. Each dump gives a Record: where it came from,
// its SHA-256, the system, the product module and version, the exception and its
// crash signature, whether it looks like an out-of-memory, the fragmentation
// verdict of its address space, and what the capture lacks. A file that cannot be
// analysed (not a minidump, a damaged archive, a zip bomb, a time-out) gives a
// Record with Error set, and the run goes on: every file found is accounted for.
//
// The analysis reuses package overview (identity, exception, product module,
// capture findings) and package analysis (the region map and its free space); it
// reads only the streams those need, so a dump costs its hash plus a few kilobytes
// of parsing, whatever its size.
//
// Records reach a Sink as they complete (Options.Ordered delivers them in walk
// order instead); a Grouper folds them into Groups. TableWriter, CSVWriter,
// NDJSONWriter and JSONWriter are the command's output formats (docs/triage.md).
//
// Bounds: a file is read into memory only up to Options.MemoryLimit bytes (larger
// ones are read in place, or spilled to a temporary file when decompressed); no
// member is decompressed past Options.MaxUnpacked bytes; every step (decompress,
// hash, analyse) runs under Options.Timeout. Memory does not grow with the number
// of files but for the name list of the folder being walked, the reorder window
// of an ordered run, the groups, and the set of keys a resumed run skips.
package triage
