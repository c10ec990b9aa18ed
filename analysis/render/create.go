package render

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
)

// CreateOutput creates the file at path for a command's output, and never loses
// what the user has: without force the file must not exist (O_EXCL, so a file
// created in the meantime is not overwritten either; the error suggests --force,
// and advice when given); with force an existing regular file is truncated. A
// directory or device is never replaced. Errors are *fs.PathError.
func CreateOutput(path string, force bool, advice string) (*os.File, error) {
	flags := os.O_WRONLY | os.O_CREATE | os.O_EXCL
	if force {
		if st, err := os.Stat(path); err == nil && !st.Mode().IsRegular() {
			return nil, &fs.PathError{Op: "create", Path: path, Err: errors.New("is not a regular file")}
		}
		flags = os.O_WRONLY | os.O_CREATE | os.O_TRUNC
	}
	f, err := os.OpenFile(path, flags, 0o644)
	if errors.Is(err, fs.ErrExist) {
		return nil, &fs.PathError{Op: "create", Path: path, Err: fmt.Errorf("exists (use --force to overwrite it%s)", advice)}
	}
	return f, err
}

// WriteOutput writes data to a new file at path (see CreateOutput).
func WriteOutput(path string, data []byte, force bool) error {
	f, err := CreateOutput(path, force, "")
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return &fs.PathError{Op: "write", Path: path, Err: err}
	}
	return f.Close()
}
