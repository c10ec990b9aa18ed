package input

import (
	"archive/zip"
	"bufio"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"sync"

	// zstd: the standard library has no zstd decoder. klauspost/compress is the
	// de facto Go implementation: pure Go (no cgo, so the CLI stays one static
	// binary), maintained since 2015 with regular releases, fuzzed continuously, and
	// a dependency of a large part of the Go ecosystem. Its decoder has the bounds a
	// hostile file needs: a cap on the window and on the decoded size.
	"github.com/dumpmap/dumpmap/analysis/cab"
	"github.com/klauspost/compress/zstd"
)

// maxZstdWindow bounds the window a zstd frame can make the decoder allocate.
const maxZstdWindow = 128 << 20

var gzipPool, zstdPool sync.Pool

// Decompress unpacks the gzip, zstd or xz data in r (size bytes; every member,
// frame or stream of it) into a Buffer within lim. Its errors are *Error values:
// a damaged stream is KindBadContainer, one that unpacks past lim.MaxSize
// KindTooLarge, an xz file with a filter other than LZMA2 or a dictionary over
// MaxXZDictionary KindUnsupported; the context's cause is returned as it is. The
// gzip and zstd decoders are pooled. An xz file's structure is read and checked
// before any of it is decoded, its index's total size against lim.MaxSize too.
func Decompress(ctx context.Context, f Format, r io.ReaderAt, size int64, lim Limits) (*Buffer, error) {
	sr := io.NewSectionReader(r, 0, size)
	switch f {
	case Gzip:
		br := bufio.NewReaderSize(sr, 64<<10)
		zr, _ := gzipPool.Get().(*gzip.Reader)
		var err error
		if zr == nil {
			zr, err = gzip.NewReader(br)
		} else {
			err = zr.Reset(br)
		}
		if err != nil {
			return nil, wrapErr(ctx, f, err)
		}
		defer gzipPool.Put(zr)
		b, err := Unpack(ctx, zr, lim)
		return b, wrapErr(ctx, f, err)
	case Zstd:
		d, _ := zstdPool.Get().(*zstd.Decoder)
		var err error
		if d == nil {
			// One goroutine per decoder (a batch is already parallel), and a bound
			// on the window a hostile frame can make it allocate.
			d, err = zstd.NewReader(sr, zstd.WithDecoderConcurrency(1), zstd.WithDecoderMaxWindow(maxZstdWindow))
		} else {
			err = d.Reset(sr)
		}
		if err != nil {
			return nil, wrapErr(ctx, f, err)
		}
		defer func() { d.Reset(nil); zstdPool.Put(d) }()
		b, err := Unpack(ctx, d, lim)
		return b, wrapErr(ctx, f, err)
	case XZ:
		x, err := walkXZ(r, size, lim.maxSize(), nil)
		if err != nil {
			return nil, wrapErr(ctx, f, err)
		}
		if lim.SizeHint == 0 {
			lim.SizeHint = x.uncompressed
		}
		b, err := Unpack(ctx, newXZReader(x), lim)
		return b, wrapErr(ctx, f, err)
	}
	return nil, fmt.Errorf("input: Decompress of %v", f)
}

// wrapErr classifies an error unpacking a container of format f: a damaged
// container is KindBadContainer, an unsupported one KindUnsupported, a limit
// passed KindTooLarge; *Error values (a spill file that cannot be written) and
// the context's errors are returned as they are.
func wrapErr(ctx context.Context, f Format, err error) error {
	if err == nil {
		return nil
	}
	var e *Error
	var ue *cab.UnsupportedError
	var le *cab.LimitError
	switch {
	case errors.As(err, &e):
		if e.Kind == KindTooLarge && e.Format == Plain {
			e.Format = f
		}
		return err
	case ctx.Err() != nil && errors.Is(err, context.Cause(ctx)),
		errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return err
	case errors.As(err, &ue), errors.Is(err, zip.ErrAlgorithm):
		return &Error{Kind: KindUnsupported, Format: f, Err: err}
	case errors.As(err, &le):
		return &Error{Kind: KindTooLarge, Format: f, Limit: le.Limit, Err: err}
	}
	return &Error{Kind: KindBadContainer, Format: f, Err: err}
}
