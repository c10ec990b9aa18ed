package crash

import (
	"github.com/dumpmap/dumpmap/analysis/process"
)

// Hex is an address or code that JSON shows as a "0x..." string, as the rest of
// the project's JSON does (process.Hex). Sizes are plain integers.
type Hex = process.Hex

func hexp(v uint64) *Hex { h := Hex(v); return &h }

// Crash is the decoded exception that ended the process: what the code means,
// its parameters by name, the thrown C++ type when there is one, whether it is an
// allocation failure, and what could not be read.
type Crash struct {
	Code     Hex    `json:"code"`
	Name     string `json:"name"`
	Meaning  string `json:"meaning,omitempty"`
	Flags    Hex    `json:"flags"`
	ThreadID uint32 `json:"thread_id"`
	// Address is where the exception was raised; Module names the module holding
	// it ("KERNELBASE.dll+0x1234" for a RaiseException).
	Address Hex    `json:"address"`
	Where   string `json:"where,omitempty"`
	// Parameters are the record's ExceptionInformation with their meaning.
	Parameters []Parameter `json:"parameters"`
	// Access decodes an access violation, in-page error or stack overflow.
	Access *Access `json:"access,omitempty"`
	// FastFail names the FAST_FAIL_* code of STATUS_STACK_BUFFER_OVERRUN.
	FastFail *FastFailInfo `json:"fast_fail,omitempty"`
	// Assertion is the invalid-parameter report Breakpad puts in a
	// STATUS_INVALID_PARAMETER record.
	Assertion *Assertion `json:"assertion,omitempty"`
	// CPP decodes a C++ exception (MSVC 0xE06D7363 or MinGW 0x20474343).
	CPP *CPPException `json:"cpp,omitempty"`

	// OOM is true when the exception says an allocation failed for lack of memory:
	// an out-of-memory code, or a thrown std::bad_alloc (or a type deriving from it).
	OOM bool `json:"oom"`
	// Refused is true when an allocation was refused before any memory was sought:
	// std::length_error ("vector too long"), a size over max_size(). It is not OOM.
	Refused bool `json:"allocation_refused,omitempty"`
	// Verdict says in a phrase why OOM or Refused is set ("thrown std::bad_alloc").
	Verdict string `json:"verdict,omitempty"`
	// Size is the allocation size when the exception itself carries it.
	Size *Size `json:"size,omitempty"`

	// Evidence is the chain from the record to the verdict, for explain.
	Evidence []Evidence `json:"evidence"`
	// Unknown lists what could not be read, and why.
	Unknown []Unknown `json:"unknown,omitempty"`
}

// Parameter is one ExceptionInformation entry.
type Parameter struct {
	Index int    `json:"index"`
	Name  string `json:"name,omitempty"`
	Value Hex    `json:"value"`
}

// Access decodes the parameters of an access violation.
type Access struct {
	Op      string `json:"op"` // "read", "write", "execute (DEP)", "access"
	Address Hex    `json:"address"`
}

// Assertion is what a crash reporter's invalid-parameter handler recorded: the
// expression and file the C runtime passed (debug CRTs only; release CRTs pass
// empty strings) and the line.
type Assertion struct {
	Expression string `json:"expression"`
	File       string `json:"file"`
	Line       uint32 `json:"line"`
}

// Size is an allocation size carried by the exception record.
type Size struct {
	Bytes uint64 `json:"bytes"`
	// What says what the number is: "requested size", or for STATUS_NO_MEMORY
	// "heap block size" (the request plus the heap entry header, rounded up).
	What string `json:"what"`
	// From says where it was read: "parameter 0".
	From string `json:"from"`
}

// CPPException is a decoded C++ exception.
type CPPException struct {
	// ABI is "msvc" (0xE06D7363) or "itanium" (MinGW's libstdc++ or libc++abi).
	ABI string `json:"abi"`
	// Object is the address of the thrown object.
	Object Hex `json:"object"`

	// MSVC: the magic number, the ThrowInfo and its attributes, and on x64/ARM64
	// the image base the tables' RVAs are relative to.
	Magic           *Hex     `json:"magic,omitempty"`
	ThrowInfo       *Hex     `json:"throw_info,omitempty"`
	ThrowAttributes []string `json:"throw_attributes,omitempty"`
	ImageBase       *Hex     `json:"image_base,omitempty"`

	// Itanium: the _Unwind_Exception the record points to, its exception_class
	// ("GNUCC++\x00" shown as "GNUCC++ primary") and the std::type_info.
	UnwindException *Hex   `json:"unwind_exception,omitempty"`
	ExceptionClass  string `json:"exception_class,omitempty"`
	TypeInfo        *Hex   `json:"type_info,omitempty"`

	// Module is the module whose tables describe the thrown type (for MSVC the one
	// holding the ThrowInfo: "msvcr120.dll" for its std::bad_alloc).
	Module string `json:"module,omitempty"`
	// Runtime says when that module is a Wine builtin DLL, which changes the
	// object layout ("Wine builtin DLL").
	Runtime string `json:"runtime,omitempty"`
	// TablesFrom says where the type tables were read: "dump memory", "image
	// file" or "dump memory and image file".
	TablesFrom string `json:"tables_from,omitempty"`

	// ThrownType is the type of the thrown object: the first catchable type.
	ThrownType *TypeName `json:"thrown_type,omitempty"`
	// CatchableTypes are the types a catch clause can match, the thrown type
	// first, then its bases (MSVC only).
	CatchableTypes []CatchableType `json:"catchable_types,omitempty"`
	// Message is what() of a std::exception, when it could be read.
	Message *Message `json:"message,omitempty"`
	// HResult is the HRESULT of an ATL CAtlException or a _com_error.
	HResult *Hex `json:"hresult,omitempty"`
}

// CatchableType is one entry of an MSVC CatchableTypeArray.
type CatchableType struct {
	Address        Hex      `json:"address"`
	Properties     Hex      `json:"properties"`
	PropertyNames  []string `json:"property_names,omitempty"`
	TypeDescriptor Hex      `json:"type_descriptor"`
	Type           TypeName `json:"type"`
	// MDisp, PDisp and VDisp locate this type inside the thrown object (PMD).
	MDisp        int32 `json:"mdisp"`
	PDisp        int32 `json:"pdisp"`
	VDisp        int32 `json:"vdisp"`
	SizeOrOffset int32 `json:"size_or_offset"`
}

// Message is the what() string of a thrown std::exception. Text is as read
// (bounded, not sanitised): renderers must escape it.
type Message struct {
	Text      string `json:"text"`
	Address   Hex    `json:"address"`
	Truncated bool   `json:"truncated,omitempty"`
	// Layout names the object layout the pointer was read with.
	Layout string `json:"layout"`
}

// EvidenceKind is what an evidence item shows.
type EvidenceKind string

// Evidence kinds, in the order they appear in a chain.
const (
	EvidenceCode       EvidenceKind = "code"        // the exception code and its meaning
	EvidenceParameter  EvidenceKind = "parameter"   // a parameter that carries a fact (size, fast-fail code)
	EvidenceAccess     EvidenceKind = "access"      // an access violation's operation and address
	EvidenceThrowInfo  EvidenceKind = "throw-info"  // where the C++ type tables are
	EvidenceThrownType EvidenceKind = "thrown-type" // the thrown C++ type
	EvidenceBaseType   EvidenceKind = "base-type"   // a base class the thrown type can be caught as
	EvidenceMessage    EvidenceKind = "message"     // what() of the thrown object
	EvidenceObject     EvidenceKind = "object"      // a field of the thrown object (an HRESULT)
	EvidenceVerdict    EvidenceKind = "verdict"     // the conclusion: out of memory, refused, or neither
)

// Evidence is one step of the chain from the exception record to the verdict.
// Text holds the claim first, then details; renderers join or style them.
type Evidence struct {
	Kind    EvidenceKind `json:"kind"`
	Address *Hex         `json:"address,omitempty"`
	Text    []string     `json:"text"`
}

// Unknown is something the decoder wanted and could not read.
type Unknown struct {
	What    string `json:"what"`
	Address *Hex   `json:"address,omitempty"`
	Why     string `json:"why"`
}
