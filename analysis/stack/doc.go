// Package stack walks the call stacks of a minidump's threads offline, like
// WinDbg's k command or Breakpad's minidump_stackwalk.
//
// A walk starts from a thread's CPU context (for the crashing thread, the
// exception's context) and finds each caller in turn with the most reliable
// method the dump and its modules allow:
//
//   - x64 and ARM64 Windows: the module's exception directory (.pdata with its
//     UNWIND_INFO or .xdata), interpreted as RtlVirtualUnwind does, prolog and
//     epilog positions included, from the image the dump captured or one an
//     ImageProvider supplies;
//   - call frame information through a CFIUnwinder (Breakpad STACK CFI records:
//     Linux, macOS, Android);
//   - x86 frame data through a FrameDataSource (PDB FPO/FrameData, Breakpad
//     STACK WIN), evaluated as Breakpad does;
//   - the frame-pointer chain (EBP, RBP outside Windows, x29, iOS r7), each link
//     checked;
//   - a bounded scan of the stack for a word that is a return address: in a
//     module's executable code and, where the code can be read, right after a
//     call instruction.
//
// Each frame records how it was found (Trust: context, unwind, cfi, fpo,
// frame_pointer, scan) and the registers the unwinder established, with where
// each restored one was saved. Symbolizer names the code.
//
// Everything is bounded: the frames of a stack (MaxFrames), the words a scan
// reads, the stack range reads may touch, the reads of a whole Walker (a hostile
// dump may declare thousands of threads), chained unwind data; the stack
// pointer must rise from frame to frame and an (IP, SP) pair may not repeat.
//
// NewDump and its WalkAll, WalkThread and WalkCrashed give the result for a dump;
// Result marshals to the JSON documented at Frame.MarshalJSON, WriteText writes
// WinDbg-style text, and Signature reduces a stack to a crash signature.
//
// How each architecture is unwound, the trust levels, the sources and the
// measured agreement with Breakpad are in docs/stacks.md.
package stack
