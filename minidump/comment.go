package minidump

import "bytes"

// maxTextStream bounds the text streams (comments, Linux /proc captures) read whole.
const maxTextStream = 64 << 20

// Comments returns the text of the CommentStreamA and CommentStreamW streams, in
// directory order.
func (f *File) Comments() ([]string, error) {
	var out []string
	errs := newErrList(nil)
	for _, s := range f.Streams {
		if s.Type != StreamCommentA && s.Type != StreamCommentW {
			continue
		}
		data, err := f.readStream(s, maxTextStream)
		errs.add(err)
		if s.Type == StreamCommentW {
			out = append(out, decodeUTF16(data))
		} else {
			out = append(out, string(bytes.TrimRight(data, "\x00")))
		}
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
