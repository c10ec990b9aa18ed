// Package modsym ties the modules of a minidump to their symbols and images,
// and uses them to find which heap the C runtime allocates from.
//
// For each module of a dump, a Resolver finds
//   - its PDB along a symbol path (package symstore), by the CodeView identity
//     the module list records (PDB name, GUID, age), and opens it (package pdb);
//   - its PE image, mapped in the dump's memory when the dump captured it, or on
//     disk along an image path, matched by file name, TimeDateStamp and
//     SizeOfImage (package pe).
//
// Lookup lists the symbols matching a WinDbg-style `module!pattern` from PDB
// publics, PDB globals and exports, with addresses in the process. IdentifyHeaps
// extends the region map's heap set (analysis.Map.FindHeaps) with the C runtime's
// heap, trying in order the UCRT rule refined by the main module's imports, the
// `_crtheap`/`__acrt_heap` globals named by PDBs, and the code of an old CRT
// DLL's exported `_get_heap_handle`, and records what each method found or why
// it failed.
//
// Module and PDB names come from the dump and are hostile input: they are
// reduced to a validated bare file name (symstore.SafeName) before any of
// them reaches a file-system path, and only the symbol path's servers are ever
// contacted.
package modsym
