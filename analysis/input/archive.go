package input

import (
	"archive/zip"
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/dumpmap/dumpmap/analysis/cab"
)

// An Archive is an open zip archive or cabinet.
type Archive struct {
	Format Format
	// Members are the archive's files in archive order, folders left out.
	Members []Member

	zr  *zip.Reader
	zf  []*zip.File
	cab *cab.Reader
	ci  []int // cabinet file index of each member
}

// A Member is one file of an archive.
type Member struct {
	// Name is the name as stored: hostile, for display through CleanName or for
	// matching, never a path.
	Name string
	// Size is the uncompressed size the archive declares (untrusted).
	Size int64
}

// OpenArchive reads the directory of the zip archive or cabinet in r (size
// bytes). It reads no member data; r must stay readable while the Archive is
// used.
func OpenArchive(f Format, r io.ReaderAt, size int64) (*Archive, error) {
	a := &Archive{Format: f}
	switch f {
	case Zip:
		zr, err := zip.NewReader(r, size)
		if err != nil && !errors.Is(err, zip.ErrInsecurePath) {
			return nil, wrapErr(context.Background(), f, err)
		}
		// ErrInsecurePath (absolute or ".." names) does not matter here: names
		// are never used as paths.
		a.zr = zr
		for _, zf := range zr.File {
			if zf.FileInfo().IsDir() {
				continue
			}
			a.zf = append(a.zf, zf)
			a.Members = append(a.Members, Member{Name: zf.Name, Size: int64(min(zf.UncompressedSize64, 1<<62))})
		}
	case CAB:
		c, err := cab.NewReader(r, size)
		if err != nil {
			return nil, wrapErr(context.Background(), f, err)
		}
		a.cab = c
		for i, cf := range c.Files {
			a.ci = append(a.ci, i)
			a.Members = append(a.Members, Member{Name: cf.Name, Size: cf.Size})
		}
	default:
		return nil, fmt.Errorf("input: OpenArchive of %v", f)
	}
	return a, nil
}

// Unpack unpacks member i into a Buffer within lim. The size the archive
// declares is checked first, so a bomb that says how large it is costs nothing;
// one that lies is stopped at lim.MaxSize while unpacking.
func (a *Archive) Unpack(ctx context.Context, i int, lim Limits) (*Buffer, error) {
	if i < 0 || i >= len(a.Members) {
		return nil, fmt.Errorf("input: archive has no member %d", i)
	}
	max := lim.maxSize()
	if a.Members[i].Size > max {
		return nil, &Error{Kind: KindTooLarge, Format: a.Format, Limit: max}
	}
	switch a.Format {
	case Zip:
		rc, err := a.zf[i].Open()
		if err != nil {
			return nil, wrapErr(ctx, a.Format, err)
		}
		defer rc.Close()
		b, err := Unpack(ctx, rc, lim)
		return b, wrapErr(ctx, Zip, err)
	default:
		// A cabinet writes its members; Unpack reads. A pipe joins them, and its
		// reading end is what Unpack bounds and checks the context on.
		pr, pw := io.Pipe()
		go func() {
			pw.CloseWithError(a.cab.Extract(a.ci[i], pw, max))
		}()
		b, err := Unpack(ctx, pr, lim)
		pr.CloseWithError(errStopped) // stops the writer if Unpack gave up
		return b, wrapErr(ctx, CAB, err)
	}
}

var errStopped = errors.New("unpacking stopped")

// Peek returns the first n bytes of every member (fewer for a shorter one; none
// for one that cannot be read), to tell which members are minidumps without
// unpacking them. Cabinet folders are decoded once for all their members, and no
// further than lim.MaxSize. The error is the first member's that could not be
// read, if any.
func (a *Archive) Peek(ctx context.Context, n int, lim Limits) ([][]byte, error) {
	if a.Format == CAB {
		heads, err := a.cab.Peek(n, lim.maxSize())
		return heads, wrapErr(ctx, CAB, err)
	}
	heads := make([][]byte, len(a.zf))
	var first error
	for i, zf := range a.zf {
		if ctx.Err() != nil {
			return heads, context.Cause(ctx)
		}
		rc, err := zf.Open()
		if err == nil {
			h := make([]byte, n)
			var k int
			k, err = io.ReadFull(rc, h)
			rc.Close()
			if err == io.ErrUnexpectedEOF || err == io.EOF {
				err = nil
			}
			heads[i] = h[:k]
		}
		if err != nil && first == nil {
			first = wrapErr(ctx, Zip, err)
		}
	}
	return heads, first
}
