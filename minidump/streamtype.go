package minidump

import (
	"fmt"
	"sync"
)

// StreamType is the type of a stream in the minidump directory
// (MINIDUMP_STREAM_TYPE, plus the vendor types of Breakpad, Crashpad, Mozilla and
// LLVM that appear in real dumps).
type StreamType uint32

// Stream types defined by Microsoft (minidumpapiset.h).
const (
	StreamUnused              StreamType = 0
	StreamReserved0           StreamType = 1
	StreamReserved1           StreamType = 2
	StreamThreadList          StreamType = 3
	StreamModuleList          StreamType = 4
	StreamMemoryList          StreamType = 5
	StreamException           StreamType = 6
	StreamSystemInfo          StreamType = 7
	StreamThreadExList        StreamType = 8
	StreamMemory64List        StreamType = 9
	StreamCommentA            StreamType = 10
	StreamCommentW            StreamType = 11
	StreamHandleData          StreamType = 12
	StreamFunctionTable       StreamType = 13
	StreamUnloadedModuleList  StreamType = 14
	StreamMiscInfo            StreamType = 15
	StreamMemoryInfoList      StreamType = 16
	StreamThreadInfoList      StreamType = 17
	StreamHandleOperationList StreamType = 18
	StreamToken               StreamType = 19
	StreamJavaScriptData      StreamType = 20
	StreamSystemMemoryInfo    StreamType = 21
	StreamProcessVMCounters   StreamType = 22
	StreamIptTrace            StreamType = 23
	StreamThreadNames         StreamType = 24
)

// Vendor stream types. Breakpad's are 0x4767xxxx ("Gg"), Crashpad's 0x4350xxxx ("CP"),
// Mozilla's 0x4d7axxxx ("Mz"), LLVM's 0x4c4cxxxx.
const (
	StreamBreakpadInfo          StreamType = 0x47670001
	StreamBreakpadAssertionInfo StreamType = 0x47670002
	StreamLinuxCPUInfo          StreamType = 0x47670003 // /proc/cpuinfo
	StreamLinuxProcStatus       StreamType = 0x47670004 // /proc/self/status
	StreamLinuxLSBRelease       StreamType = 0x47670005 // /etc/lsb-release
	StreamLinuxCmdLine          StreamType = 0x47670006 // /proc/self/cmdline
	StreamLinuxEnviron          StreamType = 0x47670007 // /proc/self/environ
	StreamLinuxAuxv             StreamType = 0x47670008 // /proc/self/auxv
	StreamLinuxMaps             StreamType = 0x47670009 // /proc/self/maps
	StreamLinuxDSODebug         StreamType = 0x4767000A
	StreamLinuxProcStat         StreamType = 0x4767000B // /proc/self/stat
	StreamLinuxProcUptime       StreamType = 0x4767000C
	StreamLinuxProcFD           StreamType = 0x4767000D
	StreamCrashpadInfo          StreamType = 0x43500001
	StreamMozMacosCrashInfo     StreamType = 0x4d7a0001
	StreamMozMacosBootargs      StreamType = 0x4d7a0002
	StreamMozLinuxLimits        StreamType = 0x4d7a0003
	StreamMozSoftErrors         StreamType = 0x4d7a0004
	StreamMozMacosTaskVMInfo    StreamType = 0x4d7a0005
	StreamLLVMProcessID         StreamType = 0x4c4c0001 // not every LLVM type is named
	StreamFacebookAppCustomData StreamType = 0xFACECAFA
	StreamFacebookBuildID       StreamType = 0xFACECAFB
	StreamFacebookAppVersion    StreamType = 0xFACECAFC
	StreamFacebookJavaStack     StreamType = 0xFACECAFD
	StreamFacebookDalvikInfo    StreamType = 0xFACECAFE
	StreamFacebookUnwindSymbols StreamType = 0xFACECAFF
	StreamFacebookDumpErrorLog  StreamType = 0xFACECB00
	StreamFacebookAppStateLog   StreamType = 0xFACECCCC
	StreamFacebookAbortReason   StreamType = 0xFACEDEAD
	StreamFacebookThreadName    StreamType = 0xFACEE000
	StreamFacebookLogcat        StreamType = 0xFACE1CA7
)

// streamTypeNames names the known stream types. Built on first use: a run that
// never names a stream does not pay for it at start-up.
var streamTypeNames = sync.OnceValue(func() map[StreamType]string {
	return map[StreamType]string{
		StreamUnused:                "Unused",
		StreamReserved0:             "Reserved0",
		StreamReserved1:             "Reserved1",
		StreamThreadList:            "ThreadList",
		StreamModuleList:            "ModuleList",
		StreamMemoryList:            "MemoryList",
		StreamException:             "Exception",
		StreamSystemInfo:            "SystemInfo",
		StreamThreadExList:          "ThreadExList",
		StreamMemory64List:          "Memory64List",
		StreamCommentA:              "CommentA",
		StreamCommentW:              "CommentW",
		StreamHandleData:            "HandleData",
		StreamFunctionTable:         "FunctionTable",
		StreamUnloadedModuleList:    "UnloadedModuleList",
		StreamMiscInfo:              "MiscInfo",
		StreamMemoryInfoList:        "MemoryInfoList",
		StreamThreadInfoList:        "ThreadInfoList",
		StreamHandleOperationList:   "HandleOperationList",
		StreamToken:                 "Token",
		StreamJavaScriptData:        "JavaScriptData",
		StreamSystemMemoryInfo:      "SystemMemoryInfo",
		StreamProcessVMCounters:     "ProcessVmCounters",
		StreamIptTrace:              "IptTrace",
		StreamThreadNames:           "ThreadNames",
		StreamBreakpadInfo:          "BreakpadInfo",
		StreamBreakpadAssertionInfo: "BreakpadAssertionInfo",
		StreamLinuxCPUInfo:          "LinuxCpuInfo",
		StreamLinuxProcStatus:       "LinuxProcStatus",
		StreamLinuxLSBRelease:       "LinuxLsbRelease",
		StreamLinuxCmdLine:          "LinuxCmdLine",
		StreamLinuxEnviron:          "LinuxEnviron",
		StreamLinuxAuxv:             "LinuxAuxv",
		StreamLinuxMaps:             "LinuxMaps",
		StreamLinuxDSODebug:         "LinuxDsoDebug",
		StreamLinuxProcStat:         "LinuxProcStat",
		StreamLinuxProcUptime:       "LinuxProcUptime",
		StreamLinuxProcFD:           "LinuxProcFd",
		StreamCrashpadInfo:          "CrashpadInfo",
		StreamMozMacosCrashInfo:     "MozMacosCrashInfo",
		StreamMozMacosBootargs:      "MozMacosBootargs",
		StreamMozLinuxLimits:        "MozLinuxLimits",
		StreamMozSoftErrors:         "MozSoftErrors",
		StreamMozMacosTaskVMInfo:    "MozMacosTaskVmInfo",
		StreamLLVMProcessID:         "LLVMProcessId",
		StreamFacebookAppCustomData: "FacebookAppCustomData",
		StreamFacebookBuildID:       "FacebookBuildId",
		StreamFacebookAppVersion:    "FacebookAppVersionName",
		StreamFacebookJavaStack:     "FacebookJavaStack",
		StreamFacebookDalvikInfo:    "FacebookDalvikInfo",
		StreamFacebookUnwindSymbols: "FacebookUnwindSymbols",
		StreamFacebookDumpErrorLog:  "FacebookDumpErrorLog",
		StreamFacebookAppStateLog:   "FacebookAppStateLog",
		StreamFacebookAbortReason:   "FacebookAbortReason",
		StreamFacebookThreadName:    "FacebookThreadName",
		StreamFacebookLogcat:        "FacebookLogcat",
	}
})

// String returns the stream type's name ("ModuleList", "LinuxMaps", ...), or its
// number in hex for a type this package does not know.
func (t StreamType) String() string {
	if n, ok := streamTypeNames()[t]; ok {
		return n
	}
	if t >= 0x8000 && t <= 0x800C {
		return fmt.Sprintf("WinCE(%#x)", uint32(t))
	}
	return fmt.Sprintf("%#x", uint32(t))
}

// Known reports whether the package has a name for t.
func (t StreamType) Known() bool {
	_, ok := streamTypeNames()[t]
	return ok
}

// IsText reports whether the stream holds plain text (the Linux /proc captures and the
// comment streams), so a viewer can show it as such.
func (t StreamType) IsText() bool {
	switch t {
	case StreamLinuxCPUInfo, StreamLinuxProcStatus, StreamLinuxLSBRelease, StreamLinuxCmdLine,
		StreamLinuxEnviron, StreamLinuxMaps, StreamLinuxProcStat, StreamLinuxProcUptime,
		StreamMozLinuxLimits, StreamCommentA, StreamCommentW:
		return true
	}
	return false
}
