// Package modsym names addresses and finds the C runtime's heap from the
// modules' symbols and code.
//
// The modules, their PE images (mapped in dump memory, or found on an image
// path) and their PDBs (found along a symbol path) belong to the analysed
// process (package process), which looks each up once. On top of them:
//
//   - Lookup lists the symbols matching a WinDbg-style `module!pattern` from PDB
//     publics, PDB globals and exports, with addresses in the process (`dumpmap
//     symbols`, like WinDbg's `x`).
//   - IdentifyCRTHeap finds the heap of a C runtime that keeps one of its own
//     (which C runtime serves malloc is the process's fact, process.CRT): the
//     `_crtheap`/`__acrt_heap` globals named by PDBs, then the code of the CRT
//     DLL's exported `_get_heap_handle`, recording what each method found or
//     why it failed. The region map (package analysis) calls it while it builds
//     its heap set.
//
// Module and PDB names come from the dump and are hostile input: they are
// reduced to a validated bare file name (symstore.SafeName) before any of
// them reaches a file-system path, and only the symbol path's servers are ever
// contacted.
package modsym
