package minidump

import "bytes"

// maxTextStream bounds the text streams (comments, Linux /proc captures) read whole.
const maxTextStream = 64 << 20

// Comments returns the text of the CommentStreamA and CommentStreamW streams, in
// directory order.
func (f *File) Comments() ([]string, error) {
	var out []string
	errs := newErrList(nil)
	// Directory entries may alias one another; read each extent once, and no more
	// bytes in all than the file holds.
	type extent struct {
		t         StreamType
		off, size int64
	}
	seen := map[extent]string{}
	left := f.size
	for _, s := range f.Streams {
		if s.Type != StreamCommentA && s.Type != StreamCommentW {
			continue
		}
		key := extent{s.Type, s.Offset, s.Available}
		if text, ok := seen[key]; ok {
			out = append(out, text)
			continue
		}
		if s.Available > left {
			errs.add(formatErr(s.Type.String(), s.Offset, "comment streams add up to more than the file's %d bytes: their directory entries overlap", f.size))
			continue
		}
		left -= s.Available
		data, err := f.readStream(s, maxTextStream)
		errs.add(err)
		var text string
		if s.Type == StreamCommentW {
			text = decodeUTF16(data)
		} else {
			text = string(bytes.TrimRight(data, "\x00"))
		}
		seen[key] = text
		out = append(out, text)
	}
	return out, errs.err()
}

// Text returns the first stream of type t as text: the comment streams, and the text
// captures Breakpad and Crashpad write on Linux and Android (/proc/self/maps,
// /proc/cpuinfo, /etc/lsb-release, ...). NUL bytes, which separate the words of
// /proc/self/cmdline and environ, are turned into newlines.
func (f *File) Text(t StreamType) (string, error) {
	s := f.Stream(t)
	if s == nil {
		return "", noStream(t)
	}
	data, err := f.readStream(s, maxTextStream)
	if t == StreamCommentW {
		return decodeUTF16(data), err
	}
	data = bytes.TrimRight(data, "\x00")
	if t == StreamLinuxCmdLine || t == StreamLinuxEnviron {
		data = bytes.ReplaceAll(data, []byte{0}, []byte{'\n'})
	}
	return string(data), err
}
