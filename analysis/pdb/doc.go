// Package pdb reads Microsoft program databases (PDB 7.0, the "BigMsf" MSF
// container) far enough to name addresses: the PDB info stream (GUID and age,
// to check a PDB against a module's CodeView record), the DBI stream and its
// section headers (to turn segment:offset into RVAs), the public and
// global data symbols of the symbol record stream, and, for call stacks, the
// procedures and C13 line information of the module (compiland) streams and
// the x86 FPO_DATA and FRAMEDATA unwind records: FunctionAt, LineAt and
// WinFrameAt name and unwind an address, reading only the module it needs.
//
// The API follows Go's debug/pe: Open or New, then fields and methods on
// File. Every count, size and block number read from the file is bounded by
// the file size before anything is allocated, and malformed input yields a
// *FormatError, never a panic: PDBs come from symbol servers and customers.
package pdb
