package pdb

import (
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"sync"

	"github.com/dumpmap/dumpmap/minidump/codeview"
)

// File is an open PDB. Its header fields are read by New; the symbol record
// stream is read once, on the first call that needs it, so opening stays
// cheap for callers that only check GUID and age. Its methods are safe for
// concurrent use.
type File struct {
	// Version is the PDB info stream version (20000404 for VC 7.0 and later).
	Version uint32
	// Signature is a timestamp written when the PDB was created.
	Signature uint32
	// Age and GUID identify the PDB; they match the RSDS record of the
	// module built with it.
	Age  uint32
	GUID codeview.GUID
	// DBIAge is the age in the DBI stream, which some tools use when it
	// differs from Age.
	DBIAge uint32
	// Machine is the IMAGE_FILE_MACHINE_* value of the DBI stream.
	Machine uint16
	// Sections are the image's section headers, which map a symbol's
	// segment:offset to an RVA. Empty if the PDB has no section headers.
	Sections []Section

	m         *msf
	named     map[string]int
	namedErr  error
	closer    io.Closer
	symStream int
	symOnce   sync.Once
	symbols   *symbolTable

	dbi       dbiHeader
	modOnce   sync.Once
	mods      *moduleTable
	namesOnce sync.Once
	names     *stringTable
	namesErr  error
	fpoOnce   sync.Once
	fpo       *fpoTable
	pubOnce   sync.Once
	pubCode   []Symbol // code publics with an RVA, sorted by RVA
	allOnce   sync.Once
	allProcs  []Procedure
}

// Open opens the named file and reads it as a PDB.
func Open(name string) (*File, error) {
	fh, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	st, err := fh.Stat()
	if err != nil {
		fh.Close()
		return nil, err
	}
	f, err := New(fh, st.Size())
	if err != nil {
		fh.Close()
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	f.closer = fh
	return f, nil
}

// New reads a PDB of the given size from r: the MSF directory, the PDB info
// stream, the DBI header and the section headers. A PDB without a DBI stream
// (type-only PDBs) opens with no sections and no symbols.
func New(r io.ReaderAt, size int64) (*File, error) {
	m, err := openMSF(r, size)
	if err != nil {
		return nil, err
	}
	f := &File{m: m, symStream: -1, dbi: dbiHeader{sectionStream: noStream, fpoStream: noStream, newFPOStream: noStream}}
	info, err := m.readStream(streamInfo)
	if err != nil {
		return nil, err
	}
	if err := f.parseInfo(info); err != nil {
		return nil, err
	}
	// The named stream map locates /names; a damaged map only costs the
	// features that need it (file names, FrameData programs).
	f.named, f.namedErr = parseNamedStreams(info)
	if _, ok := m.streamSize(streamDBI); !ok {
		return f, nil
	}
	dbiBytes, err := m.readStream(streamDBI)
	if err != nil {
		return nil, err
	}
	dbi, err := parseDBI(dbiBytes)
	if err != nil {
		return nil, err
	}
	f.DBIAge, f.Machine = dbi.age, dbi.machine
	f.dbi = dbi
	if dbi.sectionStream != noStream {
		if _, ok := m.streamSize(int(dbi.sectionStream)); ok {
			b, err := m.readStream(int(dbi.sectionStream))
			if err != nil {
				return nil, err
			}
			if f.Sections, err = parseSections(b, int(dbi.sectionStream)); err != nil {
				return nil, err
			}
		}
	}
	if dbi.symRecStream != noStream {
		if _, ok := m.streamSize(int(dbi.symRecStream)); ok {
			f.symStream = int(dbi.symRecStream)
		}
	}
	return f, nil
}

// Close closes the file opened by Open; it does nothing for a File from New.
func (f *File) Close() error {
	if f.closer == nil {
		return nil
	}
	err := f.closer.Close()
	f.closer = nil
	return err
}

// NumStreams returns the number of streams in the MSF directory.
func (f *File) NumStreams() int { return len(f.m.streams) }

// ErrNoSymbols is returned when the PDB has no symbol record stream.
var ErrNoSymbols = errors.New("pdb: no symbol record stream")

func (f *File) table() *symbolTable {
	f.symOnce.Do(func() {
		if f.symStream < 0 {
			f.symbols = &symbolTable{err: ErrNoSymbols, byName: map[string][]int{}}
			return
		}
		b, err := f.m.readStream(f.symStream)
		if err != nil {
			f.symbols = &symbolTable{err: err, byName: map[string][]int{}}
			return
		}
		f.symbols = parseSymbols(b, f.symStream, f.Sections)
	})
	return f.symbols
}

// Publics returns the S_PUB32 records in stream order. If the symbol stream
// is damaged, it returns the records before the damage and the error.
func (f *File) Publics() ([]Symbol, error) {
	t := f.table()
	return slices.Clone(t.publics), t.err
}

// Globals returns the S_GDATA32 and S_LDATA32 records in stream order, with
// the same partial-result rule as Publics.
func (f *File) Globals() ([]Symbol, error) {
	t := f.table()
	return slices.Clone(t.globals), t.err
}

// Lookup returns the globals and publics named name, then those named
// "_"+name: x86 C symbols carry a leading underscore in publics, so a lookup
// of "_crtheap" finds both the global "_crtheap" and the public "__crtheap".
// The error is that of Publics.
func (f *File) Lookup(name string) ([]Symbol, error) {
	t := f.table()
	var out []Symbol
	for _, n := range []string{name, "_" + name} {
		for _, i := range t.byName[n] {
			out = append(out, t.all[i])
		}
	}
	return out, t.err
}
