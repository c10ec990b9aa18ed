package minidump

import "io"

// DecodeMemoryInfo exposes the hand-written MemoryInfoList decoder to the benchmarks,
// to measure it apart from the read and the allocation.
var DecodeMemoryInfo = decodeMemoryInfo

// NewReadCache exposes the block cache Open puts in front of a file, so tests can
// count what it reads and compare it with direct reads.
var NewReadCache = func(r io.ReaderAt, size int64) io.ReaderAt { return newReadCache(r, size) }
