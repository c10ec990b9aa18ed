package triage

import (
	"io"
	"os"

	"github.com/dumpmap/dumpmap/analysis/render"
)

// Output is where a triage run writes its records: standard output, a new file,
// or the NDJSON of an interrupted run, which it continues.
type Output struct {
	// W receives the records.
	W io.Writer
	// Name names the output in messages: the file, or "stdout".
	Name string
	// Resumed counts the records an interrupted run had written; Skip reports
	// the files they cover (nil when not resuming).
	Resumed int64
	Skip    func(Key) bool
	// Exclude lists the output file, which a folder being triaged may hold.
	Exclude []string

	file *os.File
}

// OpenOutput opens the output of a run: resume, when not "", is an interrupted
// run's NDJSON file to continue (its records are read into g and skipped);
// else path, when not "", a file to create, which must not exist unless force
// is set (nothing the user has is overwritten by default); else stdout. An
// error names the file (*fs.PathError or the resume file's damage).
func OpenOutput(stdout io.Writer, path, resume string, force bool, g *Grouper) (*Output, error) {
	switch {
	case resume != "":
		f, err := os.OpenFile(resume, os.O_RDWR|os.O_CREATE, 0o644)
		if err != nil {
			return nil, err
		}
		keys, n, err := Resume(f, g)
		if err != nil {
			f.Close()
			return nil, err
		}
		return &Output{W: f, Name: resume, Resumed: n, Skip: keys.Has, Exclude: []string{resume}, file: f}, nil
	case path != "":
		f, err := render.CreateOutput(path, force, ", or --resume to continue it")
		if err != nil {
			return nil, err
		}
		return &Output{W: f, Name: path, Exclude: []string{path}, file: f}, nil
	}
	return &Output{W: stdout, Name: "stdout"}, nil
}

// Close closes the output file (not stdout), reporting its error once.
func (o *Output) Close() error {
	if o == nil || o.file == nil {
		return nil
	}
	f := o.file
	o.file = nil
	return f.Close()
}
