package stack

import (
	"encoding/json"
	"strconv"
)

// Frame is one frame of a call stack.
type Frame struct {
	Index int
	// IP is, for frame 0, the instruction pointer; for the frames above it, the
	// return address (the instruction after the call), as Breakpad prints it.
	IP uint64
	// SP is the frame's stack pointer: for a caller frame, its value right after
	// the call returns (WinDbg's Child-SP of the frame below).
	SP uint64
	// Module is the base name of the module holding the code ("" when none), and
	// ModuleBase its load address; ModuleOffset is IP - ModuleBase.
	Module       string
	ModuleBase   uint64
	ModuleOffset uint64
	// Function is the function's name ("" when unknown) and FunctionOffset is IP
	// minus the function's start. FunctionSize is the function's length when the
	// symbols give it (PDB, Breakpad, COFF); 0 for a name taken from the nearest
	// export, which may belong to an earlier function than the one executing.
	Function       string
	FunctionOffset uint64
	FunctionSize   uint64
	// File and Line give the source position (Line 0 when unknown). For a caller
	// frame they are those of the call instruction.
	File string
	Line int
	// Trust says how the frame was found.
	Trust Trust
	// Regs holds the frame's registers: the whole context for frame 0; for a
	// caller, what the unwinder established (see Regs).
	Regs Regs

	// interrupted is set when IP is an interrupted instruction rather than a
	// return address: frame 0, and a frame found through a machine frame or a
	// saved context. Lookups then use IP itself, not the byte before.
	interrupted bool
	module      int        // index in the walker's modules, or -1
	fi          *FrameInfo // the x86 frame description used to unwind it
}

// lookupAddr is the address used to find the frame's module, function and unwind
// data: the byte before a return address, which lies in the call instruction (a
// call to a function that does not return may be a function's last instruction).
func (f *Frame) lookupAddr() uint64 {
	if f.interrupted || f.IP == 0 {
		return f.IP
	}
	return f.IP - 1
}

// Thread is the call stack of one thread.
type Thread struct {
	ID uint32
	// Crashed is set for the thread the exception happened on; its stack starts
	// from the exception's context.
	Crashed bool
	Frames  []Frame
	// Err says why the walk could not start or stopped early on an error (no
	// context, unreadable context); nil when it ended normally.
	Err error
}

// Result is the call stacks of a dump's threads, in the JSON shape
// {"threads":[{"id":...,"crashed":...,"frames":[...]}]}.
type Result struct {
	Threads []Thread `json:"threads"`
}

// MarshalJSON writes {"id":TID,"crashed":bool,"frames":[...]}.
func (t Thread) MarshalJSON() ([]byte, error) {
	frames := t.Frames
	if frames == nil {
		frames = []Frame{}
	}
	return json.Marshal(struct {
		ID      uint32  `json:"id"`
		Crashed bool    `json:"crashed"`
		Frames  []Frame `json:"frames"`
	}{t.ID, t.Crashed, frames})
}

// MarshalJSON writes the frame as
// {"index":N,"ip":"0x...","sp":"0x...","module":"...","module_offset":"0x...",
// "function":"...","function_offset":"0x...","file":"...","line":N,"trust":"..."}.
// module and module_offset are left out when no module holds IP; function and
// function_offset when the function is unknown; file and line when the source
// position is.
func (f Frame) MarshalJSON() ([]byte, error) {
	b := make([]byte, 0, 256)
	b = append(b, `{"index":`...)
	b = strconv.AppendInt(b, int64(f.Index), 10)
	b = appendHex(append(b, `,"ip":`...), f.IP)
	b = appendHex(append(b, `,"sp":`...), f.SP)
	if f.Module != "" {
		b = appendString(append(b, `,"module":`...), f.Module)
		b = appendHex(append(b, `,"module_offset":`...), f.ModuleOffset)
	}
	if f.Function != "" {
		b = appendString(append(b, `,"function":`...), f.Function)
		b = appendHex(append(b, `,"function_offset":`...), f.FunctionOffset)
	}
	if f.File != "" || f.Line != 0 {
		b = appendString(append(b, `,"file":`...), f.File)
		b = strconv.AppendInt(append(b, `,"line":`...), int64(f.Line), 10)
	}
	t, err := f.Trust.MarshalText()
	if err != nil {
		return nil, err
	}
	b = append(append(append(b, `,"trust":"`...), t...), `"}`...)
	return b, nil
}

func appendHex(b []byte, v uint64) []byte {
	b = append(b, `"0x`...)
	b = strconv.AppendUint(b, v, 16)
	return append(b, '"')
}

func appendString(b []byte, s string) []byte {
	q, _ := json.Marshal(s) // escapes exactly as encoding/json does; a string cannot fail
	return append(b, q...)
}

// jsonFrame is the frame's JSON form, for reading it back.
type jsonFrame struct {
	Index          int    `json:"index"`
	IP             string `json:"ip"`
	SP             string `json:"sp"`
	Module         string `json:"module"`
	ModuleOffset   string `json:"module_offset"`
	Function       string `json:"function"`
	FunctionOffset string `json:"function_offset"`
	File           string `json:"file"`
	Line           int    `json:"line"`
	Trust          Trust  `json:"trust"`
}

// UnmarshalJSON reads a frame written by MarshalJSON (registers are not part of
// the JSON).
func (f *Frame) UnmarshalJSON(b []byte) error {
	var j jsonFrame
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	hex := func(s string) (uint64, error) {
		if s == "" {
			return 0, nil
		}
		return strconv.ParseUint(s, 0, 64)
	}
	var err error
	*f = Frame{Index: j.Index, Module: j.Module, Function: j.Function, File: j.File, Line: j.Line, Trust: j.Trust, module: -1}
	for _, p := range []struct {
		s string
		v *uint64
	}{{j.IP, &f.IP}, {j.SP, &f.SP}, {j.ModuleOffset, &f.ModuleOffset}, {j.FunctionOffset, &f.FunctionOffset}} {
		if *p.v, err = hex(p.s); err != nil {
			return err
		}
	}
	if f.Module != "" {
		f.ModuleBase = f.IP - f.ModuleOffset
	}
	return nil
}

// UnmarshalJSON reads a thread written by MarshalJSON.
func (t *Thread) UnmarshalJSON(b []byte) error {
	var j struct {
		ID      uint32  `json:"id"`
		Crashed bool    `json:"crashed"`
		Frames  []Frame `json:"frames"`
	}
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	*t = Thread{ID: j.ID, Crashed: j.Crashed, Frames: j.Frames}
	return nil
}
