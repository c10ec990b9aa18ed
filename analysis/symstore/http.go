package symstore

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"github.com/dumpmap/dumpmap/analysis/cab"
)

// userAgent is what Microsoft's symsrv sends; some servers insist on it.
const userAgent = "Microsoft-Symbol-Server/10.0.0.0"

// download asks the server for the file at its key, plain then compressed,
// then for a file.ptr, and installs what it gets into root at the key. The
// URL path is built from the validated name and the hex key only, each
// escaped as one path segment.
func (l *lookup) download(server, root string) (string, bool) {
	final, err := l.keyPath(root)
	if err != nil {
		l.note(server, err.Error())
		return "", false
	}
	base, err := url.Parse(server)
	if err != nil || (base.Scheme != "http" && base.Scheme != "https") || base.Host == "" {
		l.note(server, "not an http(s) URL")
		return "", false
	}
	for _, file := range []string{l.file, compressedName(l.file), "file.ptr"} {
		u := *base
		u.Path = strings.TrimRight(base.Path, "/") + "/" + l.name + "/" + l.key + "/" + file
		u.RawPath = strings.TrimRight(base.EscapedPath(), "/") + "/" + url.PathEscape(l.name) + "/" + url.PathEscape(l.key) + "/" + url.PathEscape(file)
		where := u.String()
		if file == "file.ptr" {
			l.fetchPtr(where)
			continue
		}
		err := l.writeAtomically(final, func(w io.Writer) error {
			return l.fetch(where, w, file != l.file)
		}, "download")
		switch {
		case err == nil:
			l.note(where, "downloaded to "+final)
			return final, true
		case errors.Is(err, errHTTPNotFound):
			l.note(where, "not on server (404)")
		default:
			l.note(where, err.Error())
		}
		if l.ctx.Err() != nil {
			return "", false
		}
	}
	return "", false
}

var errHTTPNotFound = errors.New("not found")

// fetch GETs u into w, bounded by the Store's timeout and size cap. When
// compressed, the body must be a cabinet and its PDB is what w receives.
func (l *lookup) fetch(u string, w io.Writer, compressed bool) error {
	ctx, cancel := context.WithTimeout(l.ctx, l.s.opts.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return err
	}
	req.Header.Set("User-Agent", userAgent)
	resp, err := l.s.opts.Client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	switch {
	case resp.StatusCode == http.StatusNotFound:
		return errHTTPNotFound
	case resp.StatusCode != http.StatusOK:
		return fmt.Errorf("server answered %s", resp.Status)
	}
	limit := l.s.opts.MaxDownload
	if resp.ContentLength > limit {
		return fmt.Errorf("%d bytes is over the %d-byte download limit", resp.ContentLength, limit)
	}
	if !compressed {
		n, err := io.Copy(w, io.LimitReader(resp.Body, limit+1))
		if err != nil {
			return err
		}
		if n > limit {
			return fmt.Errorf("body is over the %d-byte download limit", limit)
		}
		return nil
	}
	// A cabinet is read at offsets: spool it to a temporary file next to
	// the destination (w's folder is the key folder), then expand.
	f, ok := w.(*os.File)
	if !ok {
		return errors.New("internal: cabinet target is not a file")
	}
	spool, err := os.CreateTemp(filepath.Dir(f.Name()), ".dumpmap-*.cab")
	if err != nil {
		return err
	}
	defer func() { spool.Close(); os.Remove(spool.Name()) }()
	n, err := io.Copy(spool, io.LimitReader(resp.Body, limit+1))
	if err != nil {
		return err
	}
	if n > limit {
		return fmt.Errorf("body is over the %d-byte download limit", limit)
	}
	if !isCAB(spool) {
		return errors.New("compressed file is not a cabinet")
	}
	c, err := cab.NewReader(spool, n)
	if err != nil {
		return err
	}
	if len(c.Files) == 0 {
		return errors.New("cabinet holds no file")
	}
	return c.Extract(0, w, limit)
}

// fetchPtr notes what a server's file.ptr says. A pointer from a server is
// never followed: it would let a server name a path on this machine.
func (l *lookup) fetchPtr(u string) {
	var b strings.Builder
	err := l.fetch(u, &limitedBuilder{&b, 4096}, false)
	switch {
	case errors.Is(err, errHTTPNotFound):
		l.note(u, "not on server (404)")
	case err != nil:
		l.note(u, err.Error())
	default:
		l.note(u, fmt.Sprintf("server file.ptr %q not followed", truncate(strings.TrimSpace(b.String()))))
	}
}

type limitedBuilder struct {
	b *strings.Builder
	n int
}

func (w *limitedBuilder) Write(p []byte) (int, error) {
	if w.b.Len()+len(p) > w.n {
		return 0, errors.New("file.ptr too long")
	}
	return w.b.Write(p)
}
