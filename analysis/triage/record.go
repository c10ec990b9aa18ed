package triage

import (
	"time"

	"github.com/dumpmap/dumpmap/analysis/overview"
)

// Hex is an address or code shown as a "0x..." string in JSON and CSV.
type Hex = overview.Hex

// A Record is what triage says about one dump, or about one file that could not be
// analysed (Error is then set and the dump fields are empty). It is also the JSON
// object of an NDJSON "record" line and a CSV row (docs/triage.md).
type Record struct {
	// Kind is "record" in NDJSON output, to tell records from groups and the summary.
	Kind string `json:"kind"`
	// File is the path of the file on disk, as reached from the PATH argument.
	File string `json:"file"`
	// Member is the path inside a container ("crash/app.dmp"); members of a container
	// nested in another are joined with "!" ("dumps.zip!app.dmp"). Empty for a plain
	// file and a gzip, zstd or xz file.
	Member string `json:"member,omitempty"`
	// Container names the containers the dump came out of, outermost first:
	// "zip", "cab", "gzip", "zstd", "xz", "zip+gzip". Empty for a plain file.
	Container string `json:"container,omitempty"`
	// Size is the size of the dump in bytes (after decompression); SHA256 its hash.
	// For an error record they describe what could be read, if anything.
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256,omitempty"`
	// Time is when the dump was written (its header's time stamp, UTC).
	Time time.Time `json:"time,omitzero"`

	OS             string `json:"os,omitempty"`   // "Windows 10 10.0.19041", "Linux 5.10.28"
	Arch           string `json:"arch,omitempty"` // "x86", "amd64", "arm64", ...
	Product        string `json:"product,omitempty"`
	ProductVersion string `json:"product_version,omitempty"`

	ExceptionCode *Hex   `json:"exception_code,omitempty"`
	ExceptionName string `json:"exception_name,omitempty"`
	FaultModule   string `json:"fault_module,omitempty"`
	FaultOffset   *Hex   `json:"fault_offset,omitempty"`
	// Signature is the crash signature: the exception and where it happened,
	// module+offset ("EXCEPTION_ACCESS_VIOLATION crashme.exe+0x1234"), or the
	// address when no module holds it. Empty when the dump has no exception.
	Signature string `json:"signature,omitempty"`
	// Frames are the crashing thread's top frames as WinDbg names code
	// ("module!function+0xoff", "module+0xoff"), up to 10.
	Frames []string `json:"frames,omitempty"`
	// FrameSignature is the crash signature from those frames: the first frames
	// that are not the OS's, the C runtime's or the allocator's, joined with " | "
	// ("std::vector<Item>::_Emplace_reallocate | Loader::Add"; stack.Signature and
	// its rules). Empty when the stack could not be walked.
	FrameSignature string `json:"frame_signature,omitempty"`

	// FailedRequest is the allocation the crash shows failing (crash.Analyze),
	// and RequestVerdict explain's verdict on it ("fail", "depends",
	// "succeed"; absent when its size is unknown or the map is partial).
	FailedRequest  *FailedRequest `json:"failed_request,omitempty"`
	RequestVerdict string         `json:"request_verdict,omitempty"`

	// OOM says the dump looks like an out-of-memory; OOMReasons says why:
	// "exception-code" (the code is one raised when an allocation fails),
	// "thrown-bad-alloc" (a C++ std::bad_alloc, from its throw information, or
	// inferred from operator new throwing it), "failed-request" (the failed
	// allocation was found on the stack),
	// "no-64k-block" (not one 64 KB reservation fits), "no-1m-block" (a 64 KB one
	// fits, a 1 MB one does not).
	OOM        bool     `json:"oom"`
	OOMReasons []string `json:"oom_reasons"`

	// Verdict sums up the free address space; the fields after it give the figures.
	// They are absent when the verdict is "unknown".
	Verdict Verdict `json:"verdict,omitempty"`
	// MapSource is what the region map was built from: "memory-info-list",
	// "linux-maps", "captured" (partial: free space unknown) or "none" (the streams
	// that describe it are too damaged to build one).
	MapSource         string  `json:"map,omitempty"`
	LargestUsableFree *uint64 `json:"largest_usable_free,omitempty"` // bytes, 64 KB-aligned on Windows
	UsableFree        *uint64 `json:"usable_free,omitempty"`         // all usable free bytes
	Fits64K           *bool   `json:"fits_64k,omitempty"`
	Fits1M            *bool   `json:"fits_1m,omitempty"`

	// Capture lists what the dump lacks or where it is damaged, as the stable finding
	// IDs of package overview: "no-memory-info", "no-full-memory", "truncated", ...
	Capture []string `json:"capture"`

	// Error says why the file could not be analysed; ErrorKind classifies it (see the
	// ErrorKind constants).
	Error     string `json:"error,omitempty"`
	ErrorKind Kind   `json:"error_kind,omitempty"`
}

// FailedRequest is a record's summary of the failed allocation: the fields of
// crash.FailedRequest a table or a spreadsheet needs, and which kinds of
// evidence were found ("code", "thrown-type", "inferred", "frame", "argument",
// "container") and what stayed unknown ("size", "heap", "element size").
type FailedRequest struct {
	Path        string   `json:"path"`
	Size        uint64   `json:"size"`
	Heap        *Hex     `json:"heap,omitempty"`
	ElementSize uint64   `json:"element_size,omitempty"`
	ThrownType  string   `json:"thrown_type,omitempty"`
	Function    string   `json:"function,omitempty"`
	Evidence    []string `json:"evidence"`
	Unknown     []string `json:"unknown,omitempty"`
}

// Key returns the record's identity for --resume: its file and member.
func (r *Record) Key() Key { return Key{File: r.File, Member: r.Member} }

// Where returns "file" or "file!member", the way tables name a record.
func (r *Record) Where() string {
	if r.Member == "" {
		return r.File
	}
	return r.File + "!" + r.Member
}

// A Key identifies a record: the file on disk and the member inside it.
type Key struct{ File, Member string }

// Verdict sums up the free address space of a dump.
type Verdict string

// Verdicts, from worst to best. The thresholds are the sizes of the reservations a
// process makes all the time: 64 KB (one allocation-granularity block, the smallest
// VirtualAlloc reservation) and 1 MB (a thread stack, a heap segment).
const (
	// VerdictExhausted: not one 64 KB block of usable free space is left.
	VerdictExhausted Verdict = "exhausted"
	// VerdictFragmented: 64 KB reservations still fit, but no 1 MB one does.
	VerdictFragmented Verdict = "fragmented"
	// VerdictTight: 1 MB fits, but the largest usable block is under 16 MB.
	VerdictTight Verdict = "tight"
	// VerdictOK: a 16 MB reservation fits.
	VerdictOK Verdict = "ok"
	// VerdictUnknown: the dump has no region map (no MemoryInfoList and no
	// /proc/self/maps), so its free space cannot be measured.
	VerdictUnknown Verdict = "unknown"
)

// Kind classifies why a record's file could not be analysed (Record.ErrorKind).
// Its string is the JSON and CSV value; the set is documented in docs/triage.md
// and only grows.
type Kind string

// Error kinds: the ErrorKind of a record that could not be analysed.
const (
	ErrNotMinidump  Kind = "not-minidump"  // the file is something else; Error says what it looks like
	ErrDamaged      Kind = "damaged"       // a minidump whose header or directory cannot be read
	ErrTooLarge     Kind = "too-large"     // decompression passed Options.MaxUnpacked (a zip bomb?)
	ErrBadContainer Kind = "bad-container" // a zip, cabinet, gzip, zstd or xz file that cannot be read (or uses an unsupported method)
	ErrEmpty        Kind = "empty-archive" // a zip archive or cabinet without files
	ErrTimeout      Kind = "timeout"       // a step took longer than Options.Timeout
	ErrIO           Kind = "io"            // the file or folder could not be read
	ErrNotRegular   Kind = "not-regular"   // a named pipe, socket or device: not read
	ErrInternal     Kind = "internal"      // a bug: the analysis panicked
)

// String returns the kind's name.
func (k Kind) String() string { return string(k) }
