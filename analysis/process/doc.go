// Package process is the analysed process: the one value every analysis and
// command of dumpmap reads its facts about a dump from.
//
// New builds a Process from a *minidump.File. Each stream is decoded at most
// once, on first use (so `dumpmap info` on a multi-gigabyte dump still reads a
// few kilobytes), and each fact is decided by one rule in one place: the
// architecture and pointer size of the process (the 32-bit view of a WOW64
// process), whether it is a WOW64 process and how that was recognised, which
// module is the main executable, which C runtime serves its malloc, the OS
// version and build, whether the executable is large-address-aware. The
// modules carry their PE images (mapped in dump memory, or found on the image
// path or a symbol store) and PDBs, looked up once on first use.
//
// The values a Process returns are shared: callers must not modify them. A
// Process is safe for concurrent use.
//
// Damage met while decoding is kept, once per stream, as the errors the
// minidump package returned (*minidump.FormatError carries the stream and the
// file offset); Damage lists them in the order they were met.
//
// The model is rust-minidump's ProcessState, minus the analyses: the region map
// (package analysis), the heaps, the call stacks (package stack) and the crash
// (package crash) are built on a Process, never the other way round.
package process
