// Package breakpad reads Breakpad text symbol files (.sym), as written by
// Breakpad's and Mozilla's dump_syms, and unwinds stack frames with the
// STACK CFI and STACK WIN records they carry.
//
// The format is described in Breakpad's docs/symbol_files.md
// (https://chromium.googlesource.com/breakpad/breakpad/+/master/docs/symbol_files.md).
// Parse keeps the file as one string and indexes it: names, file names and
// rule strings are substrings of it, so memory stays proportional to the
// file size. Lookups are binary searches over tables sorted once.
//
// The postfix language of STACK WIN programs and CFI rules follows
// Breakpad's PostfixEvaluator (src/processor/postfix_evaluator-inl.h); the
// unwind steps follow src/processor/cfi_frame_info.cc,
// cfi_frame_info-inl.h and stackwalker_x86.cc. No code was copied: the
// semantics were re-implemented from reading them, and each rule cites
// where it comes from.
//
// Symbol files come from servers and customers: every line length, token
// count, evaluation stack and nesting depth is bounded, and malformed lines
// are skipped and counted rather than trusted.
package breakpad
