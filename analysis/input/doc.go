// Package input opens minidumps as users receive them: plain, compressed
// (.dmp.gz, .dmp.zst, .dmp.xz), in a zip archive, or in a Microsoft cabinet
// (Windows Error Reporting packs its dumps in CABs), from a file or from standard
// input.
//
// Open recognises the packing by content (magic bytes), never by the name:
//
//	MDMP              a minidump, opened in place
//	1f 8b             gzip (every member of a multi-member file)
//	28 b5 2f fd       zstd (skippable frames 5? 2a 4d 18 too)
//	fd 37 7a 58 5a 00 xz (every stream of a concatenation, and stream padding)
//	PK 03 04, PK 05 06  zip
//	MSCF              cabinet (stored or MSZIP folders; see package cab)
//
// An xz file (https://tukaani.org/xz/xz-file-format.txt) is read when its
// blocks are LZMA2 alone with dictionaries of at most MaxXZDictionary (64 MiB,
// what xz -9 uses). Its structure is walked and checked before anything is
// decoded, since the decoder would allocate whatever dictionary a block asks
// for: another filter or a larger dictionary is refused as KindUnsupported, and
// an index that says the file unpacks past the limit as KindTooLarge, with the
// offset at fault (*XZError).
//
// Anything else is handed to the minidump package, whose *NotMinidumpError says
// what the file looks like. Containers are opened up to MaxNesting levels deep (a
// zip of .dmp.gz files, a gzipped zip, an xz-packed zip), as triage does.
//
// A packed dump is unpacked into a Buffer: in memory up to Options.MemoryLimit
// bytes, then spilled to a temporary file (mode 0600, in os.TempDir or
// Options.TempDir, unlinked at once where the system allows it so that nothing is
// left behind even if the process is killed) and never more than
// Options.MaxUnpacked bytes: a bomb stops there with an *Error of KindTooLarge
// that names the member and the limit. Standard input ("-") and other files that
// cannot be read at offsets (pipes) are copied into a Buffer the same way.
//
// An archive must hold exactly one minidump: the members are told apart by their
// first bytes, so the report and metadata files Windows Error Reporting puts
// beside the dump are passed over. None or several give an *Error
// (KindNoDump, KindSeveralDumps) naming the archive and listing the members.
// Member names are hostile input: they are cleaned for display (CleanName) and
// never used as paths.
//
// The lower-level pieces, Detect, Unpack, Decompress and OpenArchive, are what
// package triage builds its batch walk on, so both read containers with one
// implementation and the same limits.
package input
