package stack

// Interrupted reports whether IP is the instruction the thread was interrupted
// at (frame 0, and a frame found through a machine frame or a saved context)
// rather than a return address. Callers that name the call instruction of a
// frame, as rust-minidump's "offset" does (the return address minus one), leave
// an interrupted frame's IP as it is.
func (f *Frame) Interrupted() bool { return f.interrupted }
