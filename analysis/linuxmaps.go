package analysis

import (
	"bufio"
	"fmt"
	"strconv"
	"strings"
	"unicode"

	"github.com/dumpmap/dumpmap/minidump"
)

// fromLinuxMaps builds the map from a Breakpad LinuxMaps stream, a copy of
// /proc/self/maps: every mapping is listed, so the gaps are free.
func (m *Map) fromLinuxMaps(text string) error {
	end := m.Space.End
	var spans []span
	line := 0
	// Lines are cut and split in place: bufio.Scanner and strings.Fields allocated for
	// every line, a fifth of the cost of batch triage on Linux dumps.
	for rest := text; rest != ""; {
		var l string
		l, rest, _ = strings.Cut(rest, "\n")
		l = strings.TrimSuffix(l, "\r")
		line++
		if len(l) > 1<<20 {
			return fmt.Errorf("line %d: %w", line, bufio.ErrTooLong)
		}
		var f [5]string
		n, tail := 0, l
		for ; n < len(f); n++ {
			tail = strings.TrimLeftFunc(tail, unicode.IsSpace)
			if tail == "" {
				break
			}
			i := strings.IndexFunc(tail, unicode.IsSpace)
			if i < 0 {
				i = len(tail)
			}
			f[n], tail = tail[:i], tail[i:]
		}
		if n < len(f) {
			continue
		}
		lo, hi, ok := strings.Cut(f[0], "-")
		if !ok {
			return fmt.Errorf("line %d: bad address range %q", line, f[0])
		}
		a, err1 := strconv.ParseUint(lo, 16, 64)
		b, err2 := strconv.ParseUint(hi, 16, 64)
		if err1 != nil || err2 != nil || b < a {
			return fmt.Errorf("line %d: bad address range %q", line, f[0])
		}
		path := joinFields(tail)
		s := span{lo: a, hi: min(b, end), prio: 1, state: minidump.MemCommit, detail: path}
		perms := f[1]
		s.protect = linuxProtect(perms)
		s.usage, s.typ = UsagePrivate, minidump.MemPrivate
		switch {
		case strings.HasPrefix(path, "[stack"):
			s.usage = UsageStack
		case path == "[heap]":
			s.usage = UsageHeap
		case strings.HasPrefix(path, "/") && strings.Contains(perms, "x"):
			s.usage, s.typ, s.module = UsageImage, minidump.MemImage, minidump.BaseName(path)
		case strings.HasPrefix(path, "/"):
			s.usage, s.typ = UsageMappedFile, minidump.MemMapped
			s.module = minidump.BaseName(path)
		}
		spans = append(spans, s)
	}
	if len(spans) == 0 {
		return fmt.Errorf("no mappings")
	}
	m.Regions = layOut(spans, end, func(lo, hi uint64) Region {
		return Region{Base: lo, Size: hi - lo, State: minidump.MemFree, Usage: UsageFree}
	})
	return nil
}

// joinFields returns the whitespace-separated fields of s joined with single
// spaces, as strings.Join(strings.Fields(s), " ") does, without allocating when s
// is already so (a path with no leading, trailing or doubled spaces).
func joinFields(s string) string {
	s = strings.TrimFunc(s, unicode.IsSpace)
	prevSpace := false
	for _, r := range s {
		sp := unicode.IsSpace(r)
		if sp && (r != ' ' || prevSpace) {
			return strings.Join(strings.Fields(s), " ")
		}
		prevSpace = sp
	}
	return s
}

func linuxProtect(p string) minidump.Protect {
	r, w, x := strings.Contains(p, "r"), strings.Contains(p, "w"), strings.Contains(p, "x")
	switch {
	case x && w:
		return minidump.PageExecuteReadWrite
	case x && r:
		return minidump.PageExecuteRead
	case x:
		return minidump.PageExecute
	case w:
		return minidump.PageReadWrite
	case r:
		return minidump.PageReadOnly
	}
	return minidump.PageNoAccess
}
