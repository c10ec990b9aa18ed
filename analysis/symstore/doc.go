// Package symstore finds the PDB that matches a module's CodeView identity
// (PDB name, GUID, age) along a Windows symbol path: the _NT_SYMBOL_PATH
// syntax of plain folders, cache*DIR, srv*DIR*URL and symsrv*symsrv.dll*DIR*URL
// elements. It reads symbol-store layouts (one-tier and two-tier index2.txt,
// CAB-compressed "name.pd_" files, file.ptr), then flat folders with a
// GUID/age check, and downloads from HTTP(S) symbol servers into a cache
// only when the path names a server. The same path finds Breakpad symbol
// files in Breakpad's name/ID/name.sym layout (FindBreakpad) and executable
// images keyed by TimeDateStamp and SizeOfImage (FindImage).
//
// The PDB name comes from a customer dump and is hostile input: only a
// validated bare file name ever reaches a file-system path or a URL, and
// downloads are written only at their symbol-store key inside the cache.
package symstore
