// Package crash decodes the exception that ended a process, from a minidump's
// Exception stream and the memory and modules around it: the code's meaning and
// parameters by name, the thrown C++ type (MSVC's ThrowInfo tables, or the
// __cxa_exception header of a MinGW libstdc++/libc++abi exception) with its
// message, and whether the crash is an allocation failure, with the evidence for
// each claim and a list of what could not be read.
//
// The result is a value (Crash) with JSON tags, so renderers and other analyses
// read fields, not prose; Summary gives the one- or two-line text of `dumpmap
// info`. Type names are demangled by DemangleMSVC and DemangleItanium.
//
// Everything read comes from a hostile dump or image file: every count, string
// and recursion is bounded, and damage ends up in Crash.Unknown, never in a
// panic. See docs/crash.md for the codes, layouts and sources.
package crash
