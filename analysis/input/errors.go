package input

import (
	"errors"
	"fmt"
	"strings"

	"github.com/dumpmap/dumpmap/analysis/cab"
)

// A Kind classifies an Error, for a caller that reports or counts failures by
// cause (triage's error kinds).
type Kind uint8

// Error kinds.
const (
	// KindIO: the file could not be read, or a temporary file not written.
	KindIO Kind = iota
	// KindNotMinidump: the content is not a minidump; Err is the minidump
	// package's *NotMinidumpError, which says what it looks like.
	KindNotMinidump
	// KindDamaged: a minidump whose header or directory cannot be read; Err is a
	// *minidump.FormatError.
	KindDamaged
	// KindTooLarge: unpacking passed Limit bytes (a zip bomb?), or an xz
	// file's index says it would.
	KindTooLarge
	// KindBadContainer: a gzip, zstd, xz, zip or cabinet file that cannot be
	// read. For xz, Err is an *XZError that says where.
	KindBadContainer
	// KindUnsupported: a container that is readable but uses something this
	// package does not implement: an LZX cabinet, a zip compression method other
	// than store and deflate, an encrypted member, an xz block with a filter
	// other than LZMA2 or an LZMA2 dictionary over MaxXZDictionary.
	KindUnsupported
	// KindEmpty: an archive without files.
	KindEmpty
	// KindNoDump: an archive of several files, none a minidump; Members lists them.
	KindNoDump
	// KindSeveralDumps: an archive of several minidumps; Members lists them.
	KindSeveralDumps
	// KindTooManyMembers: an archive of more than MaxMembers files, not searched.
	KindTooManyMembers
)

var kindNames = [...]string{"io", "not-minidump", "damaged", "too-large", "bad-container", "unsupported",
	"empty-archive", "no-dump", "several-dumps", "too-many-members"}

func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return fmt.Sprintf("Kind(%d)", uint8(k))
}

// An Error is why an input could not be opened. Name says which file or member
// (as Dump.Name would: "crash.zip:dumps/app.dmp"); the low-level functions
// (Unpack, Decompress, OpenArchive) leave it empty for their caller to fill.
type Error struct {
	Kind Kind
	Name string
	// Format is the container at fault, for the container kinds.
	Format Format
	// Limit is the limit passed, for KindTooLarge and KindTooManyMembers.
	Limit int64
	// Members lists members (cleaned names, at most maxListed of them) for
	// KindNoDump and KindSeveralDumps; Count is how many there are in all.
	Members []string
	Count   int
	// Err is the underlying error, when there is one.
	Err error
}

func (e *Error) Error() string {
	if e.Name == "" {
		return e.Message()
	}
	return e.Name + ": " + e.Message()
}

// Unwrap returns the underlying error.
func (e *Error) Unwrap() error { return e.Err }

// Message is the error without the name: what the CLI prints after
// "dumpmap: NAME: ".
func (e *Error) Message() string {
	switch e.Kind {
	case KindTooLarge:
		if e.Format == Plain {
			return fmt.Sprintf("passes the %s limit: not read", SizeString(e.Limit))
		}
		return fmt.Sprintf("decompressed size passes the %s limit: not unpacked (a zip bomb?)", SizeString(e.Limit))
	case KindBadContainer:
		return "damaged " + e.Format.noun() + ": " + trimFormat(e.errText())
	case KindUnsupported:
		var ue *cab.UnsupportedError
		if e.Err == nil || errors.As(e.Err, &ue) {
			return e.errText()
		}
		return "unsupported " + e.Format.noun() + ": " + trimFormat(e.Err.Error())
	case KindEmpty:
		return e.Format.noun() + " without files"
	case KindNoDump:
		return fmt.Sprintf("%s holds no minidump: %s", e.Format.noun(), e.list("file"))
	case KindSeveralDumps:
		return fmt.Sprintf("%s holds %s; open one at a time (unpack it first), or read them all with `dumpmap triage`",
			e.Format.noun(), e.list("minidump"))
	case KindTooManyMembers:
		return fmt.Sprintf("%s holds %d files, more than the %d looked through for a minidump; read it with `dumpmap triage`",
			e.Format.noun(), e.Count, e.Limit)
	}
	return e.errText()
}

func (e *Error) errText() string {
	if e.Err == nil {
		return e.Kind.String()
	}
	return e.Err.Error()
}

// trimFormat drops the prefix a decoder puts on its messages: the message
// already says which container it is about.
func trimFormat(msg string) string {
	for _, p := range []string{"gzip: ", "zstd: ", "xz: ", "zip: ", "malformed cabinet: "} {
		msg = strings.TrimPrefix(msg, p)
	}
	return msg
}

// list says "3 files: a, b, c" or "12 files: a, b, ... and 2 more".
func (e *Error) list(what string) string {
	s := fmt.Sprintf("%d %ss: ", e.Count, what)
	if e.Count == 1 {
		s = fmt.Sprintf("1 %s: ", what)
	}
	s += strings.Join(e.Members, ", ")
	if more := e.Count - len(e.Members); more > 0 {
		s += fmt.Sprintf(" and %d more", more)
	}
	return s
}

// SizeString writes a byte count the way limits are given: "4 GiB", "512 MiB".
func SizeString(n int64) string {
	units := []string{"B", "KiB", "MiB", "GiB", "TiB"}
	i := 0
	for n >= 1024 && n%1024 == 0 && i < len(units)-1 {
		n /= 1024
		i++
	}
	return fmt.Sprintf("%d %s", n, units[i])
}
