package minidump

import (
	"errors"
	"fmt"
)

// maxErrs bounds how many errors one accessor keeps: a hostile list of a million bad
// entries must not produce a million error values.
const maxErrs = 8

// errList collects the damage found while decoding one stream.
type errList struct {
	errs    []error
	dropped int
}

func newErrList(first error) *errList {
	l := &errList{}
	l.add(first)
	return l
}

func (l *errList) add(err error) {
	if err == nil {
		return
	}
	if len(l.errs) < maxErrs {
		l.errs = append(l.errs, err)
		return
	}
	l.dropped++
}

func (l *errList) err() error {
	if len(l.errs) == 0 {
		return nil
	}
	if l.dropped > 0 {
		l.errs = append(l.errs, fmt.Errorf("minidump: %d more errors like these", l.dropped))
	}
	if len(l.errs) == 1 {
		return l.errs[0]
	}
	return errors.Join(l.errs...)
}
