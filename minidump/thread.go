package minidump

import (
	"encoding/binary"
	"fmt"
	"time"
)

const (
	threadSize   = 48 // sizeof(MINIDUMP_THREAD)
	threadExSize = 64 // sizeof(MINIDUMP_THREAD_EX)
)

// A MemoryDescriptor locates captured memory: the virtual address it was read from and
// where its bytes are in the file.
type MemoryDescriptor struct {
	Start uint64
	Data  Location
}

// End returns the first virtual address past the captured bytes.
func (d MemoryDescriptor) End() uint64 { return d.Start + uint64(d.Data.Size) }

// Thread is one entry of the ThreadList (or ThreadExList) stream.
type Thread struct {
	ID            uint32
	SuspendCount  uint32
	PriorityClass uint32
	Priority      uint32
	TEB           uint64
	// Stack is the captured part of the stack: from the stack pointer (minus a little)
	// up to the stack base. The thread's full reservation is in the region map.
	Stack        MemoryDescriptor
	Context      Location
	BackingStore MemoryDescriptor // ThreadExList only (IA64)
}

// Threads decodes the ThreadList stream, or the ThreadExList stream when the dump has
// no ThreadList.
func (f *File) Threads() ([]Thread, error) {
	t, size := StreamThreadList, threadSize
	if !f.HasStream(StreamThreadList) && f.HasStream(StreamThreadExList) {
		t, size = StreamThreadExList, threadExSize
	}
	_, entries, n, err := f.countedList(t, size)
	out := make([]Thread, n)
	le := binary.LittleEndian
	for i := range out {
		e := entries[i*size:]
		th := &out[i]
		th.ID, th.SuspendCount, th.PriorityClass, th.Priority = le.Uint32(e), le.Uint32(e[4:]), le.Uint32(e[8:]), le.Uint32(e[12:])
		th.TEB = le.Uint64(e[16:])
		th.Stack = MemoryDescriptor{Start: le.Uint64(e[24:]), Data: Location{Size: le.Uint32(e[32:]), RVA: le.Uint32(e[36:])}}
		th.Context = Location{Size: le.Uint32(e[40:]), RVA: le.Uint32(e[44:])}
		if size == threadExSize {
			th.BackingStore = MemoryDescriptor{Start: le.Uint64(e[48:]), Data: Location{Size: le.Uint32(e[56:]), RVA: le.Uint32(e[60:])}}
		}
	}
	return out, err
}

// ThreadInfo dump flags (MINIDUMP_THREAD_INFO_*).
const (
	ThreadInfoErrorThread    = 0x01
	ThreadInfoWritingThread  = 0x02
	ThreadInfoExitedThread   = 0x04
	ThreadInfoInvalidInfo    = 0x08
	ThreadInfoInvalidContext = 0x10
	ThreadInfoInvalidTEB     = 0x20
)

// ThreadInfo is one entry of the ThreadInfoList stream (MINIDUMP_THREAD_INFO).
type ThreadInfo struct {
	ThreadID     uint32
	DumpFlags    uint32
	DumpError    uint32
	ExitStatus   uint32
	CreateTime   time.Time // zero if unknown
	ExitTime     time.Time
	KernelTime   time.Duration
	UserTime     time.Duration
	StartAddress uint64
	Affinity     uint64
}

// fileTime converts a Windows FILETIME (100 ns since 1601) to a time, or the zero
// time for 0.
func fileTime(ft uint64) time.Time {
	if ft == 0 {
		return time.Time{}
	}
	const epochDiff = 116444736000000000 // 1601-01-01 to 1970-01-01 in 100 ns
	if ft < epochDiff {
		return time.Time{}
	}
	d := ft - epochDiff
	return time.Unix(int64(d/1e7), int64(d%1e7)*100).UTC()
}

// ThreadInfos decodes the ThreadInfoList stream.
func (f *File) ThreadInfos() ([]ThreadInfo, error) {
	_, data, hs, es, n, err := f.headedList(StreamThreadInfoList, 12, 64, false)
	out := make([]ThreadInfo, n)
	le := binary.LittleEndian
	for i := range out {
		e := data[hs+i*es:]
		out[i] = ThreadInfo{
			ThreadID: le.Uint32(e), DumpFlags: le.Uint32(e[4:]), DumpError: le.Uint32(e[8:]), ExitStatus: le.Uint32(e[12:]),
			CreateTime: fileTime(le.Uint64(e[16:])), ExitTime: fileTime(le.Uint64(e[24:])),
			KernelTime: time.Duration(le.Uint64(e[32:])) * 100, UserTime: time.Duration(le.Uint64(e[40:])) * 100,
			StartAddress: le.Uint64(e[48:]), Affinity: le.Uint64(e[56:]),
		}
	}
	return out, err
}

// ThreadName is one entry of the ThreadNames stream.
type ThreadName struct {
	ThreadID uint32
	Name     string
}

// ThreadNames decodes the ThreadNames stream (the names set with SetThreadDescription).
func (f *File) ThreadNames() ([]ThreadName, error) {
	_, entries, n, err := f.countedList(StreamThreadNames, 12)
	errs := newErrList(err)
	out := make([]ThreadName, n)
	le := binary.LittleEndian
	refs := f.newRefs()
	for i := range out {
		e := entries[i*12:]
		out[i].ThreadID = le.Uint32(e)
		rva := le.Uint64(e[4:])
		if rva > uint64(f.size) {
			errs.add(formatErr(fmt.Sprintf("ThreadNames entry %d", i), int64(f.size), "name RVA %#x is past the end of the file", rva))
			continue
		}
		name, nerr := refs.str(int64(rva), fmt.Sprintf("ThreadNames entry %d name", i))
		out[i].Name = name
		errs.add(nerr)
	}
	return out, errs.err()
}
