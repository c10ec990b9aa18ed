package analysis

import (
	"bufio"
	"fmt"
	"strconv"
	"strings"

	"github.com/dumpmap/dumpmap/minidump"
)

// fromLinuxMaps builds the map from a Breakpad LinuxMaps stream, a copy of
// /proc/self/maps: every mapping is listed, so the gaps are free.
func (m *Map) fromLinuxMaps(text string) error {
	end := m.Space.End
	var spans []span
	sc := bufio.NewScanner(strings.NewReader(text))
	sc.Buffer(make([]byte, 0, 4096), 1<<20)
	line := 0
	for sc.Scan() {
		line++
		f := strings.Fields(sc.Text())
		if len(f) < 5 {
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
		path := ""
		if len(f) >= 6 {
			path = strings.Join(f[5:], " ")
		}
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
			s.usage, s.typ, s.module = UsageImage, minidump.MemImage, baseName(path)
		case strings.HasPrefix(path, "/"):
			s.usage, s.typ = UsageMappedFile, minidump.MemMapped
			s.module = baseName(path)
		}
		spans = append(spans, s)
	}
	if err := sc.Err(); err != nil {
		return err
	}
	if len(spans) == 0 {
		return fmt.Errorf("no mappings")
	}
	m.Regions = layOut(spans, end, func(lo, hi uint64) Region {
		return Region{Base: lo, Size: hi - lo, State: minidump.MemFree, Usage: UsageFree}
	})
	return nil
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
