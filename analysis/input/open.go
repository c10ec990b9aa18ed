package input

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"

	"github.com/dumpmap/dumpmap/minidump"
)

// MaxNesting is how many containers deep Open looks: a container in a
// container (a zip of .dmp.gz files, a gzipped cabinet), as triage does.
const MaxNesting = 2

// MaxMembers bounds the files of an archive Open looks through for the dump.
const MaxMembers = 4096

// maxListed bounds the member names an Error lists.
const maxListed = 10

// StdinName is the Dump.Name of standard input.
const StdinName = "<stdin>"

// Options tune Open. The zero value reads os.Stdin for "-" and applies triage's
// default limits.
type Options struct {
	// Stdin is read when the path is "-"; nil means os.Stdin.
	Stdin io.Reader
	// MaxUnpacked bounds the bytes a member unpacks to, and those read from
	// standard input or a pipe; 0 means DefaultMaxUnpacked.
	MaxUnpacked int64
	// MemoryLimit is the size up to which unpacked bytes are held in memory; past
	// it they go to a temporary file. 0 means DefaultMemoryLimit; negative
	// spills everything.
	MemoryLimit int64
	// TempDir is where temporary files go; "" means os.TempDir().
	TempDir string
}

// A Dump is an opened minidump and where it came from.
type Dump struct {
	// File is the minidump.
	File *minidump.File
	// Path is the path Open was given ("-" for standard input).
	Path string
	// Name names the dump in messages: the path, "<stdin>", and for a member of
	// an archive the archive's name, ':' and the member's cleaned name
	// ("crash.zip:dumps/app.dmp").
	Name string
	// Packing lists the containers unwrapped, outermost first; empty for a
	// plain minidump.
	Packing []Format
	// Member is the cleaned name of the archive member the dump came from
	// (members of nested archives joined with ':'); "" when there is none.
	Member string
	// Size is the size of the minidump in bytes, after unpacking.
	Size int64

	bufs []*Buffer
}

// Close closes the minidump and releases what unpacking it took: memory, and
// temporary files, which are removed.
func (d *Dump) Close() error {
	if d == nil {
		return nil
	}
	var err error
	if d.File != nil {
		err = d.File.Close()
	}
	for _, b := range d.bufs {
		if cerr := b.Close(); err == nil {
			err = cerr
		}
	}
	d.bufs = nil
	return err
}

// Open opens the minidump at path ("-" for standard input), unwrapping the
// packing it is in. Its errors are *Error values, whose Name says which file or
// member failed. See the package documentation for what is recognised and the
// limits.
func Open(path string, opt Options) (*Dump, error) {
	return OpenContext(context.Background(), path, opt)
}

// OpenContext is Open with a context that stops reading and unpacking.
func OpenContext(ctx context.Context, path string, opt Options) (*Dump, error) {
	o := &opener{ctx: ctx, opt: opt, d: &Dump{Path: path}}
	d, err := o.open(path)
	if err != nil {
		o.d.Close()
		return nil, err
	}
	return d, nil
}

type opener struct {
	ctx context.Context
	opt Options
	d   *Dump
}

func (o *opener) limits() Limits {
	return Limits{MaxSize: o.opt.MaxUnpacked, MemoryLimit: o.opt.MemoryLimit, TempDir: o.opt.TempDir}
}

func (o *opener) open(path string) (*Dump, error) {
	if path == "-" {
		in := o.opt.Stdin
		if in == nil {
			in = os.Stdin
		}
		o.d.Name = StdinName
		return o.copied(in, 0)
	}
	o.d.Name = path
	f, err := os.Open(path)
	if err != nil {
		return nil, &Error{Kind: KindIO, Name: path, Err: err}
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, &Error{Kind: KindIO, Name: path, Err: err}
	}
	switch {
	case st.IsDir():
		f.Close()
		return nil, &Error{Kind: KindNotMinidump, Name: path, Err: &minidump.NotMinidumpError{LooksLike: "a directory"}}
	case !st.Mode().IsRegular():
		// A pipe or device (a shell's <(zcat crash.dmp.gz)) cannot be read at
		// offsets: copy it, bounded like standard input.
		defer f.Close()
		return o.copied(f, 0)
	}
	var head [HeadSize]byte
	n, err := f.ReadAt(head[:], 0)
	if err != nil && err != io.EOF {
		f.Close()
		return nil, &Error{Kind: KindIO, Name: path, Err: err}
	}
	if Detect(head[:n]) == Plain {
		// The common case, read in place as the minidump package opens a file
		// (with its read cache), so a plain dump gives exactly what it did.
		f.Close()
		mf, err := minidump.Open(path)
		if err != nil {
			return nil, dumpErr(path, err)
		}
		o.d.File, o.d.Size = mf, mf.Size()
		return o.d, nil
	}
	defer f.Close()
	return o.resolve(f, st.Size(), 0, path)
}

// copied reads r (standard input, a pipe) into a Buffer and opens that.
func (o *opener) copied(r io.Reader, depth int) (*Dump, error) {
	b, err := Unpack(o.ctx, r, o.limits())
	if err != nil {
		return nil, named(err, o.d.Name)
	}
	o.d.bufs = append(o.d.bufs, b)
	return o.resolve(b.ReaderAt(), b.Size(), depth, o.d.Name)
}

// resolve opens the bytes in r, named name, as a minidump, unwrapping the
// containers they are in.
func (o *opener) resolve(r io.ReaderAt, size int64, depth int, name string) (*Dump, error) {
	var head [HeadSize]byte
	n, err := r.ReadAt(head[:min(int64(HeadSize), size)], 0)
	if err != nil && err != io.EOF {
		return nil, &Error{Kind: KindIO, Name: name, Err: err}
	}
	f := Detect(head[:n])
	if f == Plain || depth >= MaxNesting {
		return o.dump(r, size, name, f)
	}
	o.d.Packing = append(o.d.Packing, f)
	lim := o.limits()
	switch f {
	case Gzip, Zstd, XZ:
		b, err := Decompress(o.ctx, f, r, size, lim)
		if err != nil {
			return nil, named(err, name)
		}
		o.d.bufs = append(o.d.bufs, b)
		return o.resolve(b.ReaderAt(), b.Size(), depth+1, name)
	}
	a, err := OpenArchive(f, r, size)
	if err != nil {
		return nil, named(err, name)
	}
	i, err := o.choose(a, depth, name)
	if err != nil {
		return nil, err
	}
	member := CleanName(a.Members[i].Name)
	if o.d.Member == "" {
		o.d.Member = member
	} else {
		o.d.Member += ":" + member
	}
	mname := name + ":" + member
	b, err := a.Unpack(o.ctx, i, lim)
	if err != nil {
		return nil, named(err, mname)
	}
	o.d.bufs = append(o.d.bufs, b)
	return o.resolve(b.ReaderAt(), b.Size(), depth+1, mname)
}

// choose picks the member of a that holds the minidump: the one member whose
// first bytes are a minidump's; failing that, the one packed member (a .dmp.gz
// in a zip) when a level of nesting is left; failing that, the archive's only
// file, whatever it is, so that its error names it.
func (o *opener) choose(a *Archive, depth int, name string) (int, error) {
	switch n := len(a.Members); {
	case n == 0:
		return 0, &Error{Kind: KindEmpty, Name: name, Format: a.Format}
	case n == 1:
		return 0, nil
	case n > MaxMembers:
		return 0, &Error{Kind: KindTooManyMembers, Name: name, Format: a.Format, Count: n, Limit: MaxMembers}
	}
	heads, peekErr := a.Peek(o.ctx, HeadSize, o.limits())
	if err := o.ctx.Err(); err != nil {
		return 0, context.Cause(o.ctx)
	}
	var dumps, packed []int
	for i, h := range heads {
		switch {
		case bytes.HasPrefix(h, []byte("MDMP")):
			dumps = append(dumps, i)
		case Detect(h) != Plain && depth+1 < MaxNesting:
			packed = append(packed, i)
		}
	}
	if len(dumps) == 0 {
		dumps = packed
	}
	switch {
	case len(dumps) == 1:
		return dumps[0], nil
	case len(dumps) > 1:
		return 0, listErr(KindSeveralDumps, name, a, dumps)
	case peekErr != nil:
		// No member could be recognised and some could not be read: that is
		// the likelier reason (an LZX cabinet, a damaged archive).
		return 0, named(peekErr, name)
	}
	all := make([]int, len(a.Members))
	for i := range all {
		all[i] = i
	}
	return 0, listErr(KindNoDump, name, a, all)
}

func listErr(k Kind, name string, a *Archive, idx []int) error {
	e := &Error{Kind: k, Name: name, Format: a.Format, Count: len(idx)}
	for _, i := range idx[:min(len(idx), maxListed)] {
		e.Members = append(e.Members, CleanName(a.Members[i].Name))
	}
	return e
}

// dump opens the bytes in r as the minidump. f is the container they look like
// when MaxNesting stopped the unwrapping.
func (o *opener) dump(r io.ReaderAt, size int64, name string, f Format) (*Dump, error) {
	if f != Plain {
		return nil, &Error{Kind: KindNotMinidump, Name: name, Err: &minidump.NotMinidumpError{
			LooksLike: f.article() + " (containers are opened 2 levels deep)"}}
	}
	if file, ok := r.(*os.File); ok {
		// A spill file: read through a small cache, as minidump.Open reads a
		// file, since the accessors make many small reads.
		r = newReadCache(file, size)
	}
	mf, err := minidump.New(r, size)
	if err != nil {
		return nil, dumpErr(name, err)
	}
	o.d.File, o.d.Size, o.d.Name = mf, size, name
	return o.d, nil
}

// dumpErr classifies an error of the minidump package.
func dumpErr(name string, err error) error {
	var nm *minidump.NotMinidumpError
	var fe *minidump.FormatError
	switch {
	case errors.As(err, &nm):
		return &Error{Kind: KindNotMinidump, Name: name, Err: err}
	case errors.As(err, &fe):
		return &Error{Kind: KindDamaged, Name: name, Err: err}
	}
	return &Error{Kind: KindIO, Name: name, Err: err}
}

// named sets the Name of an *Error that has none, or wraps another error as
// KindIO (the context's errors keep their identity through Unwrap).
func named(err error, name string) error {
	var e *Error
	if errors.As(err, &e) {
		if e.Name == "" {
			e.Name = name
		}
		return e
	}
	return &Error{Kind: KindIO, Name: name, Err: err}
}
