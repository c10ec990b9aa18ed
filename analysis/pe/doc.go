// Package pe reads what symbol lookup needs from a Windows PE image: headers,
// sections, the export table and the debug directory with its CodeView
// record.
//
// One reader serves both layouts a module comes in. A file on disk is read
// with New or Open, and RVAs go through the section table to file offsets.
// A module image mapped in a process (as a minidump captures it) is read
// with NewMapped, where an RVA is simply the offset from the module base;
// MemoryReader adapts a virtual-address reader to that. Go's debug/pe reads
// on-disk headers too but has no export or debug-directory parsing, and it
// assumes the file layout.
//
// Every count and RVA is bounded by the image or file size before anything
// is allocated, and malformed input yields an error, never a panic: images
// come from customer dumps.
package pe
