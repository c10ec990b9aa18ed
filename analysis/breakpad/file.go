package breakpad

import (
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
)

// Limits on what Parse accepts.
const (
	// DefaultMaxSize caps the symbol file read by Open and Read. The largest
	// real files (a browser's main library with inline records) are a few
	// GiB; the cap is there so a hostile server cannot exhaust memory.
	DefaultMaxSize = 4 << 30
	// MaxLineLength bounds one record. Real records are a few KiB at most
	// (long C++ names, INLINE records with many ranges).
	MaxLineLength = 1 << 20
	// maxErrors is how many malformed lines are described in File.Errors;
	// the rest are only counted.
	maxErrors = 20
	// maxInlineDepth bounds INLINE nesting levels.
	maxInlineDepth = 256
)

// ErrNotSymbolFile is returned when the input does not start with a
// MODULE record.
var ErrNotSymbolFile = errors.New("breakpad: not a symbol file (no MODULE record)")

// Module is the MODULE record: what the symbol file describes.
type Module struct {
	// OS is "windows", "Linux", "mac", "ios", "android"... as written.
	OS string
	// Arch is "x86", "x86_64", "arm", "arm64"... as written.
	Arch string
	// ID is the debug identifier: for Windows modules the PDB GUID as 32 hex
	// digits followed by the age in hex, for ELF and Mach-O modules the
	// build id or UUID folded into the same shape.
	ID string
	// Name is the debug file name (crash.pdb, libxul.so).
	Name string
}

// Func is a FUNC record.
type Func struct {
	Addr      uint64 // start, relative to the module base
	Size      uint64
	ParamSize uint32 // bytes of stack parameters (stdcall callees pop them)
	Multiple  bool   // the "m" flag: identical code folding merged several functions here
	Name      string
	lines     []lineRec
	inlines   []Inline
}

// Public is a PUBLIC record. A public covers the code up to the next
// public or function.
type Public struct {
	Addr      uint64
	ParamSize uint32
	Multiple  bool
	Name      string
}

// Inline is an INLINE record: code of function Origin inlined at CallLine of
// CallFile, inside the enclosing function (Depth 0) or the enclosing inline
// record (Depth n-1).
type Inline struct {
	Depth    int
	CallLine uint32
	CallFile int // FILE number, -1 when the record has none
	Origin   int // INLINE_ORIGIN number
	Ranges   []Range
}

// Range is an address range [Addr, Addr+Size).
type Range struct {
	Addr, Size uint64
}

func (r Range) contains(a uint64) bool { return a >= r.Addr && a-r.Addr < r.Size }

type lineRec struct {
	addr uint64
	size uint64
	line uint32
	file int32
}

// File is a parsed symbol file. It is immutable after Parse and safe for
// concurrent use.
type File struct {
	Module Module
	// CodeID and CodeFile are the INFO CODE_ID record: the PE timestamp and
	// image size (or ELF build id) and the executable's name.
	CodeID, CodeFile string
	// BadLines counts malformed records that were skipped; Errors describes
	// the first few, with their line numbers.
	BadLines int
	Errors   []string

	text    string // the whole file; names and rules are substrings of it
	files   map[int]string
	origins map[int]string
	funcs   []Func // sorted by Addr
	publics []Public
	win     *WinFrameIndex
	cfi     []cfiInit // sorted by addr
}

// Open reads and parses the named symbol file, up to DefaultMaxSize bytes.
func Open(name string) (*File, error) {
	fh, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer fh.Close()
	f, err := Read(fh, DefaultMaxSize)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return f, nil
}

// Read reads a symbol file of at most limit bytes from r and parses it.
func Read(r io.Reader, limit int64) (*File, error) {
	b, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("breakpad: symbol file is over the %d-byte limit", limit)
	}
	return Parse(b)
}

// Parse parses a symbol file held in b (which it copies once). The first
// record must be MODULE. Malformed records are skipped and counted in
// BadLines; they do not make Parse fail, as Breakpad's own resolver also
// skips them.
func Parse(b []byte) (*File, error) {
	p := parser{f: &File{text: string(b), files: map[int]string{}, origins: map[int]string{}}}
	if err := p.run(); err != nil {
		return nil, err
	}
	p.finish()
	return p.f, nil
}

type parser struct {
	f       *File
	lineNo  int
	cur     *Func // FUNC that line and INLINE records belong to
	win     []WinFrameInfo
	cfi     []cfiInit
	sawFunc bool
}

func (p *parser) bad(format string, args ...any) {
	p.f.BadLines++
	if len(p.f.Errors) < maxErrors {
		p.f.Errors = append(p.f.Errors, fmt.Sprintf("line %d: %s", p.lineNo, fmt.Sprintf(format, args...)))
	}
}

func (p *parser) run() error {
	s := p.f.text
	first := true
	for len(s) > 0 {
		p.lineNo++
		var line string
		if i := strings.IndexByte(s, '\n'); i >= 0 {
			line, s = s[:i], s[i+1:]
		} else {
			line, s = s, ""
		}
		line = strings.TrimSuffix(line, "\r")
		if len(line) > MaxLineLength {
			if first {
				return ErrNotSymbolFile
			}
			p.bad("record of %d bytes is over the %d-byte limit", len(line), MaxLineLength)
			continue
		}
		if line == "" {
			continue
		}
		if first {
			if !strings.HasPrefix(line, "MODULE ") {
				return ErrNotSymbolFile
			}
			first = false
		}
		p.record(line)
	}
	if first {
		return ErrNotSymbolFile
	}
	return nil
}

// record dispatches one non-empty line. Line records have no keyword: they
// start with a lower-case hex address, which no keyword does.
func (p *parser) record(line string) {
	kw, rest, _ := strings.Cut(line, " ")
	switch kw {
	case "MODULE":
		p.module(rest)
	case "INFO":
		if v, ok := strings.CutPrefix(rest, "CODE_ID "); ok {
			id, file, _ := strings.Cut(v, " ")
			p.f.CodeID, p.f.CodeFile = id, file
		}
	case "FILE":
		n, name, ok := numberAndName(rest)
		if !ok {
			p.bad("bad FILE record")
			return
		}
		p.f.files[n] = name
	case "INLINE_ORIGIN":
		n, name, ok := numberAndName(rest)
		if !ok {
			p.bad("bad INLINE_ORIGIN record")
			return
		}
		p.f.origins[n] = name
	case "FUNC":
		p.function(rest)
	case "INLINE":
		p.inline(rest)
	case "PUBLIC":
		p.public(rest)
	case "STACK":
		p.stack(rest)
	default:
		if isHex(kw) {
			p.lineRecord(line)
			return
		}
		// Unknown record types are allowed by the format's evolution
		// (Mozilla adds some); they are not errors.
	}
}

func (p *parser) module(rest string) {
	f := strings.SplitN(rest, " ", 4)
	if len(f) < 4 {
		p.bad("MODULE record needs OS, architecture, id and name")
		return
	}
	if p.f.Module.ID != "" {
		p.bad("second MODULE record ignored")
		return
	}
	p.f.Module = Module{OS: f[0], Arch: f[1], ID: f[2], Name: f[3]}
}

// numberAndName splits "N name with spaces".
func numberAndName(s string) (int, string, bool) {
	num, name, ok := strings.Cut(s, " ")
	if !ok {
		return 0, "", false
	}
	n, err := strconv.ParseUint(num, 10, 31)
	if err != nil {
		return 0, "", false
	}
	return int(n), name, true
}

func isHex(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return false
		}
	}
	return true
}

func parseHex(s string) (uint64, bool) {
	if !isHex(s) || len(s) > 16 {
		return 0, false
	}
	v, err := strconv.ParseUint(s, 16, 64)
	return v, err == nil
}

func parseHex32(s string) (uint32, bool) {
	v, ok := parseHex(s)
	if !ok || v > 0xFFFFFFFF {
		return 0, false
	}
	return uint32(v), true
}

// fields splits s at single spaces into at most n fields, the last taking
// the rest of the line (a name may hold spaces).
func fields(s string, n int) []string { return strings.SplitN(s, " ", n) }

// function parses "FUNC [m] address size param_size name".
func (p *parser) function(rest string) {
	multiple := false
	if r, ok := strings.CutPrefix(rest, "m "); ok {
		multiple, rest = true, r
	}
	f := fields(rest, 4)
	if len(f) < 4 {
		// A nameless FUNC is written by some dump_syms versions for
		// functions without a name; accept it with an empty name.
		if len(f) != 3 {
			p.bad("FUNC record needs address, size, parameter size and name")
			p.cur = nil
			return
		}
		f = append(f, "")
	}
	addr, ok1 := parseHex(f[0])
	size, ok2 := parseHex(f[1])
	ps, ok3 := parseHex32(f[2])
	if !ok1 || !ok2 || !ok3 {
		p.bad("bad number in FUNC record")
		p.cur = nil
		return
	}
	p.f.funcs = append(p.f.funcs, Func{Addr: addr, Size: size, ParamSize: ps, Multiple: multiple, Name: f[3]})
	p.cur = &p.f.funcs[len(p.f.funcs)-1]
	p.sawFunc = true
}

// lineRecord parses "address size line filenum" for the current FUNC.
func (p *parser) lineRecord(line string) {
	// The most common record: split without allocating.
	a, rest, ok1 := strings.Cut(line, " ")
	sz, rest, ok2 := strings.Cut(rest, " ")
	ls, fs, ok3 := strings.Cut(rest, " ")
	if !ok1 || !ok2 || !ok3 || strings.IndexByte(fs, ' ') >= 0 {
		p.bad("line record needs 4 fields")
		return
	}
	addr, ok1 := parseHex(a)
	size, ok2 := parseHex(sz)
	ln, err1 := strconv.ParseUint(ls, 10, 32)
	file, err2 := strconv.ParseInt(fs, 10, 32)
	if !ok1 || !ok2 || err1 != nil || err2 != nil || file < 0 {
		p.bad("bad number in line record")
		return
	}
	if p.cur == nil {
		p.bad("line record outside a FUNC")
		return
	}
	// cur points into p.f.funcs, which append may move; it is re-pointed
	// after every FUNC, so it is always the last element.
	p.cur.lines = append(p.cur.lines, lineRec{addr: addr, size: size, line: uint32(ln), file: int32(file)})
}

// inline parses "INLINE depth call_line [call_file] origin (addr size)+".
// Older dump_syms versions omit the call file: the count of fields tells
// (Breakpad's ParseInline does the same).
func (p *parser) inline(rest string) {
	f := strings.Split(rest, " ")
	if len(f) < 5 || p.cur == nil {
		p.bad("bad INLINE record")
		return
	}
	in := Inline{CallFile: -1}
	nums := 3
	if len(f)%2 == 1 {
		nums = 2
	}
	var v [4]int64
	for i := 0; i <= nums; i++ {
		n, err := strconv.ParseInt(f[i], 10, 32)
		if err != nil || n < -1 {
			p.bad("bad number in INLINE record")
			return
		}
		v[i] = n
	}
	in.Depth, in.CallLine, in.Origin = int(v[0]), uint32(v[1]), int(v[nums])
	if nums == 3 {
		in.CallFile = int(v[2])
	}
	if in.Depth < 0 || in.Depth >= maxInlineDepth || v[1] < 0 {
		p.bad("INLINE nesting level %d out of range", in.Depth)
		return
	}
	for i := nums + 1; i+1 < len(f); i += 2 {
		a, ok1 := parseHex(f[i])
		s, ok2 := parseHex(f[i+1])
		if !ok1 || !ok2 {
			p.bad("bad range in INLINE record")
			return
		}
		in.Ranges = append(in.Ranges, Range{a, s})
	}
	p.cur.inlines = append(p.cur.inlines, in)
}

// public parses "PUBLIC [m] address param_size name".
func (p *parser) public(rest string) {
	multiple := false
	if r, ok := strings.CutPrefix(rest, "m "); ok {
		multiple, rest = true, r
	}
	f := fields(rest, 3)
	if len(f) < 3 {
		p.bad("PUBLIC record needs address, parameter size and name")
		return
	}
	addr, ok1 := parseHex(f[0])
	ps, ok2 := parseHex32(f[1])
	if !ok1 || !ok2 {
		p.bad("bad number in PUBLIC record")
		return
	}
	p.f.publics = append(p.f.publics, Public{Addr: addr, ParamSize: ps, Multiple: multiple, Name: f[2]})
}

func (p *parser) stack(rest string) {
	switch {
	case strings.HasPrefix(rest, "WIN "):
		p.stackWin(rest[4:])
	case strings.HasPrefix(rest, "CFI INIT "):
		p.cfiInit(rest[9:])
	case strings.HasPrefix(rest, "CFI "):
		p.cfiDelta(rest[4:])
	default:
		p.bad("unknown STACK record")
	}
}

// finish sorts the tables and builds the indexes.
func (p *parser) finish() {
	f := p.f
	// Sort stably so that among functions at one address the first one in
	// the file wins, as Breakpad's RangeMap keeps the first range stored.
	slices.SortStableFunc(f.funcs, func(a, b Func) int { return cmpU64(a.Addr, b.Addr) })
	f.funcs = slices.CompactFunc(f.funcs, func(a, b Func) bool { return a.Addr == b.Addr })
	for i := range f.funcs {
		fn := &f.funcs[i]
		slices.SortStableFunc(fn.lines, func(a, b lineRec) int { return cmpU64(a.addr, b.addr) })
	}
	slices.SortStableFunc(f.publics, func(a, b Public) int { return cmpU64(a.Addr, b.Addr) })
	f.publics = slices.CompactFunc(f.publics, func(a, b Public) bool { return a.Addr == b.Addr })
	f.win = NewWinFrameIndex(p.win)
	p.win = nil
	for i := range p.cfi {
		d := p.cfi[i].deltas
		slices.SortStableFunc(d, func(a, b cfiDelta) int { return cmpU64(a.addr, b.addr) })
	}
	slices.SortStableFunc(p.cfi, func(a, b cfiInit) int { return cmpU64(a.addr, b.addr) })
	f.cfi = slices.CompactFunc(p.cfi, func(a, b cfiInit) bool { return a.addr == b.addr })
}

func cmpU64(a, b uint64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// Funcs returns the FUNC records sorted by address (one per address).
func (f *File) Funcs() []Func { return slices.Clone(f.funcs) }

// Publics returns the PUBLIC records sorted by address (one per address).
func (f *File) Publics() []Public { return slices.Clone(f.publics) }

// FileName returns the name of FILE record n.
func (f *File) FileName(n int) (string, bool) {
	s, ok := f.files[n]
	return s, ok
}

// OriginName returns the name of INLINE_ORIGIN record n.
func (f *File) OriginName(n int) (string, bool) {
	s, ok := f.origins[n]
	return s, ok
}

// NumLines returns the number of line records of the function.
func (fn *Func) NumLines() int { return len(fn.lines) }

// Inlines returns the INLINE records of the function in file order.
func (fn *Func) Inlines() []Inline { return slices.Clone(fn.inlines) }
