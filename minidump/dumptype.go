package minidump

import (
	"fmt"
	"strings"
)

// DumpType holds the MINIDUMP_TYPE flags the writer was asked for (Header.Flags).
// Breakpad and Crashpad leave most of them clear even when they capture the
// equivalent data, so callers should check for streams, not only flags.
type DumpType uint64

// MINIDUMP_TYPE flags.
const (
	DumpNormal                         DumpType = 0
	DumpWithDataSegs                   DumpType = 0x00000001
	DumpWithFullMemory                 DumpType = 0x00000002
	DumpWithHandleData                 DumpType = 0x00000004
	DumpFilterMemory                   DumpType = 0x00000008
	DumpScanMemory                     DumpType = 0x00000010
	DumpWithUnloadedModules            DumpType = 0x00000020
	DumpWithIndirectlyReferencedMemory DumpType = 0x00000040
	DumpFilterModulePaths              DumpType = 0x00000080
	DumpWithProcessThreadData          DumpType = 0x00000100
	DumpWithPrivateReadWriteMemory     DumpType = 0x00000200
	DumpWithoutOptionalData            DumpType = 0x00000400
	DumpWithFullMemoryInfo             DumpType = 0x00000800
	DumpWithThreadInfo                 DumpType = 0x00001000
	DumpWithCodeSegs                   DumpType = 0x00002000
	DumpWithoutAuxiliaryState          DumpType = 0x00004000
	DumpWithFullAuxiliaryState         DumpType = 0x00008000
	DumpWithPrivateWriteCopyMemory     DumpType = 0x00010000
	DumpIgnoreInaccessibleMemory       DumpType = 0x00020000
	DumpWithTokenInformation           DumpType = 0x00040000
	DumpWithModuleHeaders              DumpType = 0x00080000
	DumpFilterTriage                   DumpType = 0x00100000
	DumpWithAvxXStateContext           DumpType = 0x00200000
	DumpWithIptTrace                   DumpType = 0x00400000
	DumpScanInaccessiblePartialPages   DumpType = 0x00800000
	DumpFilterWriteCombinedMemory      DumpType = 0x01000000
)

var dumpTypeNames = []struct {
	f    DumpType
	name string
}{
	{DumpWithDataSegs, "MiniDumpWithDataSegs"},
	{DumpWithFullMemory, "MiniDumpWithFullMemory"},
	{DumpWithHandleData, "MiniDumpWithHandleData"},
	{DumpFilterMemory, "MiniDumpFilterMemory"},
	{DumpScanMemory, "MiniDumpScanMemory"},
	{DumpWithUnloadedModules, "MiniDumpWithUnloadedModules"},
	{DumpWithIndirectlyReferencedMemory, "MiniDumpWithIndirectlyReferencedMemory"},
	{DumpFilterModulePaths, "MiniDumpFilterModulePaths"},
	{DumpWithProcessThreadData, "MiniDumpWithProcessThreadData"},
	{DumpWithPrivateReadWriteMemory, "MiniDumpWithPrivateReadWriteMemory"},
	{DumpWithoutOptionalData, "MiniDumpWithoutOptionalData"},
	{DumpWithFullMemoryInfo, "MiniDumpWithFullMemoryInfo"},
	{DumpWithThreadInfo, "MiniDumpWithThreadInfo"},
	{DumpWithCodeSegs, "MiniDumpWithCodeSegs"},
	{DumpWithoutAuxiliaryState, "MiniDumpWithoutAuxiliaryState"},
	{DumpWithFullAuxiliaryState, "MiniDumpWithFullAuxiliaryState"},
	{DumpWithPrivateWriteCopyMemory, "MiniDumpWithPrivateWriteCopyMemory"},
	{DumpIgnoreInaccessibleMemory, "MiniDumpIgnoreInaccessibleMemory"},
	{DumpWithTokenInformation, "MiniDumpWithTokenInformation"},
	{DumpWithModuleHeaders, "MiniDumpWithModuleHeaders"},
	{DumpFilterTriage, "MiniDumpFilterTriage"},
	{DumpWithAvxXStateContext, "MiniDumpWithAvxXStateContext"},
	{DumpWithIptTrace, "MiniDumpWithIptTrace"},
	{DumpScanInaccessiblePartialPages, "MiniDumpScanInaccessiblePartialPages"},
	{DumpFilterWriteCombinedMemory, "MiniDumpFilterWriteCombinedMemory"},
}

// Names returns the names of the flags set, in bit order, with any unknown bits last
// as a hex number.
func (t DumpType) Names() []string {
	if t == 0 {
		return []string{"MiniDumpNormal"}
	}
	var out []string
	rest := t
	for _, n := range dumpTypeNames {
		if t&n.f != 0 {
			out = append(out, n.name)
			rest &^= n.f
		}
	}
	if rest != 0 {
		out = append(out, fmt.Sprintf("%#x", uint64(rest)))
	}
	return out
}

// String returns the flags joined with "|".
func (t DumpType) String() string { return strings.Join(t.Names(), "|") }
