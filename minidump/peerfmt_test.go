package minidump_test

// Parsers for the text the independent peers print: Breakpad's minidump_dump and
// LLVM's obj2yaml. They know nothing of package minidump; the comparisons that use
// them are in peers_test.go.

import (
	"encoding/hex"
	"regexp"
	"strconv"
	"strings"
)

// A bpBlock is one structure minidump_dump printed: "MDRawModule", "MDRawThread",
// "MinidumpModuleList", ... with its "  key = value" lines. Hex is the byte dump that
// follows a thread ("Stack") or a memory descriptor ("Memory"), if any.
type bpBlock struct {
	Kind   string
	Fields map[string]string
	Hex    []byte
	HasHex bool
}

var (
	bpStart = regexp.MustCompile(`^(MD|Minidump)[A-Za-z0-9]+$`)
	bpField = regexp.MustCompile(`^\s+(\S.*?)\s+= (.*)$`)
)

// parseBreakpadDump splits minidump_dump's output into blocks.
func parseBreakpadDump(out string) []*bpBlock {
	var blocks []*bpBlock
	var cur, lastData *bpBlock
	wantHex := false
	for _, line := range strings.Split(out, "\n") {
		line = strings.TrimRight(line, "\r")
		switch {
		case wantHex:
			wantHex = false
			if lastData != nil && strings.HasPrefix(line, "0x") {
				lastData.Hex, _ = hex.DecodeString(line[2:])
				lastData.HasHex = true
			}
		case line == "":
			cur = nil
		case line == "Stack" || line == "Memory":
			cur, wantHex = nil, true
		case line[0] != ' ':
			cur = nil
			if bpStart.MatchString(line) {
				cur = &bpBlock{Kind: line, Fields: map[string]string{}}
				blocks = append(blocks, cur)
				if line == "MDRawThread" || line == "MDMemoryDescriptor" {
					lastData = cur
				}
			}
		case cur != nil:
			if m := bpField.FindStringSubmatch(line); m != nil {
				if _, dup := cur.Fields[m[1]]; !dup {
					cur.Fields[m[1]] = m[2]
				}
			}
		}
	}
	return blocks
}

// bpKind returns the blocks of one kind, in order.
func bpKind(blocks []*bpBlock, kind string) []*bpBlock {
	var out []*bpBlock
	for _, b := range blocks {
		if b.Kind == kind {
			out = append(out, b)
		}
	}
	return out
}

// num parses the number at the start of a minidump_dump value ("0x45d35f73
// 2007-02-14 19:13:55", "0x0 (x86)", "1408", "-60"); ok is false for "(invalid)".
func (b *bpBlock) num(key string) (v uint64, ok bool) {
	s, present := b.Fields[key]
	if !present {
		return 0, false
	}
	tok, _, _ := strings.Cut(strings.TrimSpace(s), " ")
	if u, err := strconv.ParseUint(tok, 0, 64); err == nil {
		return u, true
	}
	if i, err := strconv.ParseInt(tok, 0, 64); err == nil {
		return uint64(i), true
	}
	return 0, false
}

// str returns a quoted string value unquoted (minidump_dump prints it raw between
// quotes, without escaping), or (null).
func (b *bpBlock) str(key string) (s string, ok bool) {
	v, present := b.Fields[key]
	if !present || v == "(null)" {
		return "", false
	}
	if len(v) >= 2 && v[0] == '"' && v[len(v)-1] == '"' {
		return v[1 : len(v)-1], true
	}
	return v, true
}

// A ynode is a node of the YAML that obj2yaml prints: a mapping (Keys in order), a
// sequence, or a scalar.
type ynode struct {
	Keys   []string
	Map    map[string]*ynode
	List   []*ynode
	Scalar string
	IsMap  bool
}

func (n *ynode) get(path ...string) *ynode {
	for _, k := range path {
		if n == nil || !n.IsMap {
			return nil
		}
		n = n.Map[k]
	}
	return n
}

// str returns the scalar at path, and whether it is there.
func (n *ynode) str(path ...string) (string, bool) {
	c := n.get(path...)
	if c == nil || c.IsMap || c.List != nil {
		return "", false
	}
	return c.Scalar, true
}

// num returns the number at path; def when obj2yaml left the field out (it omits
// fields that have their default value).
func (n *ynode) num(def uint64, path ...string) uint64 {
	s, ok := n.str(path...)
	if !ok {
		return def
	}
	if u, err := strconv.ParseUint(s, 0, 64); err == nil {
		return u
	}
	if i, err := strconv.ParseInt(s, 0, 64); err == nil {
		return uint64(i)
	}
	return 0xbad0bad0bad0bad0 // not a number: never equal to a decoded field
}

// bytes returns the hex-encoded bytes at path (nil when absent or "").
func (n *ynode) bytes(path ...string) []byte {
	s, _ := n.str(path...)
	b, err := hex.DecodeString(s)
	if err != nil {
		return []byte("not hex: " + s)
	}
	return b
}

type yline struct {
	ind        int
	dash       bool
	key, value string
	hasKey     bool
	raw        string
}

// parseYAML parses the block-style YAML subset obj2yaml writes: mappings, sequences of
// mappings, plain/quoted scalars, flow sequences kept as text, and "|" block scalars.
func parseYAML(text string) *ynode {
	var lines []yline
	for _, raw := range strings.Split(text, "\n") {
		raw = strings.TrimRight(raw, "\r")
		t := strings.TrimLeft(raw, " ")
		if t == "" || strings.HasPrefix(t, "---") || t == "..." {
			lines = append(lines, yline{ind: -1, raw: raw})
			continue
		}
		l := yline{ind: len(raw) - len(t), raw: raw}
		if strings.HasPrefix(t, "- ") {
			l.dash = true
			l.ind += 2
			t = t[2:]
		}
		if k, v, ok := splitKey(t); ok {
			l.key, l.value, l.hasKey = k, v, true
		} else {
			l.value = t
		}
		lines = append(lines, l)
	}
	i := 0
	return parseNode(lines, &i, 0)
}

// splitKey splits "key: value" at the first ": " (or a trailing ":") outside quotes.
func splitKey(t string) (k, v string, ok bool) {
	if strings.HasPrefix(t, "'") || strings.HasPrefix(t, `"`) {
		return "", "", false
	}
	if i := strings.Index(t, ": "); i > 0 {
		return t[:i], strings.TrimSpace(t[i+2:]), true
	}
	if strings.HasSuffix(t, ":") {
		return t[:len(t)-1], "", true
	}
	return "", "", false
}

// parseNode parses the node whose lines start at *i with indentation ind.
func parseNode(lines []yline, i *int, ind int) *ynode {
	skipBlank(lines, i)
	if *i >= len(lines) {
		return &ynode{}
	}
	if lines[*i].dash && lines[*i].ind == ind {
		n := &ynode{List: []*ynode{}}
		for skipBlank(lines, i); *i < len(lines) && lines[*i].dash && lines[*i].ind == ind; skipBlank(lines, i) {
			lines[*i].dash = false // the item is a mapping (or scalar) at ind
			if !lines[*i].hasKey {
				n.List = append(n.List, &ynode{Scalar: unquote(lines[*i].value)})
				*i++
				continue
			}
			n.List = append(n.List, parseMap(lines, i, ind))
		}
		return n
	}
	return parseMap(lines, i, ind)
}

func parseMap(lines []yline, i *int, ind int) *ynode {
	n := &ynode{IsMap: true, Map: map[string]*ynode{}}
	for skipBlank(lines, i); *i < len(lines); skipBlank(lines, i) {
		l := lines[*i]
		if l.ind != ind || l.dash || !l.hasKey {
			break
		}
		*i++
		var child *ynode
		switch {
		case l.value == "|" || l.value == "|-":
			var b strings.Builder
			blockInd := -1
			for ; *i < len(lines); *i++ {
				raw := lines[*i].raw
				t := strings.TrimLeft(raw, " ")
				if t != "" && len(raw)-len(t) <= ind {
					break
				}
				if blockInd < 0 && t != "" {
					blockInd = len(raw) - len(t)
				}
				if len(raw) >= blockInd && blockInd >= 0 {
					b.WriteString(raw[blockInd:])
				}
				b.WriteByte('\n')
			}
			child = &ynode{Scalar: b.String()}
		case l.value != "":
			child = &ynode{Scalar: unquote(l.value)}
		default:
			skipBlank(lines, i)
			if *i < len(lines) && (lines[*i].ind > ind || lines[*i].dash && lines[*i].ind == ind+2) {
				child = parseNode(lines, i, lines[*i].ind)
			} else {
				child = &ynode{}
			}
		}
		if _, dup := n.Map[l.key]; !dup {
			n.Keys = append(n.Keys, l.key)
		}
		n.Map[l.key] = child
	}
	return n
}

func skipBlank(lines []yline, i *int) {
	for *i < len(lines) && lines[*i].ind < 0 {
		*i++
	}
}

// unquote decodes a YAML scalar: 'single' (” is a quote), "double" (backslash
// escapes), or plain.
func unquote(s string) string {
	switch {
	case len(s) >= 2 && s[0] == '\'' && s[len(s)-1] == '\'':
		return strings.ReplaceAll(s[1:len(s)-1], "''", "'")
	case len(s) >= 2 && s[0] == '"' && s[len(s)-1] == '"':
		var b strings.Builder
		in := s[1 : len(s)-1]
		for i := 0; i < len(in); i++ {
			c := in[i]
			if c != '\\' || i+1 == len(in) {
				b.WriteByte(c)
				continue
			}
			i++
			switch e := in[i]; e {
			case 'n':
				b.WriteByte('\n')
			case 't':
				b.WriteByte('\t')
			case 'r':
				b.WriteByte('\r')
			case '0':
				b.WriteByte(0)
			case 'x', 'u', 'U':
				n := map[byte]int{'x': 2, 'u': 4, 'U': 8}[e]
				if i+n < len(in)+1 {
					if v, err := strconv.ParseUint(in[i+1:i+1+n], 16, 32); err == nil {
						b.WriteRune(rune(v))
						i += n
						continue
					}
				}
				b.WriteByte(e)
			default:
				b.WriteByte(e) // \\ \" \/ and anything else
			}
		}
		return b.String()
	}
	return s
}

// flags parses an obj2yaml flag list "[ PAGE_READ_WRITE, PAGE_GUARD ]" with the given
// names; ok is false if a name is unknown.
func flags(s string, names map[string]uint32) (v uint32, ok bool) {
	s = strings.TrimSpace(strings.TrimSuffix(strings.TrimPrefix(strings.TrimSpace(s), "["), "]"))
	if s == "" {
		return 0, true
	}
	for _, name := range strings.Split(s, ",") {
		bit, known := names[strings.TrimSpace(name)]
		if !known {
			return 0, false
		}
		v |= bit
	}
	return v, true
}

// obj2yaml's names for the MINIDUMP_MEMORY_INFO flags (llvm/BinaryFormat/MinidumpConstants.def).
var (
	yamlProtect = map[string]uint32{"PAGE_NO_ACCESS": 0x1, "PAGE_READ_ONLY": 0x2, "PAGE_READ_WRITE": 0x4,
		"PAGE_WRITE_COPY": 0x8, "PAGE_EXECUTE": 0x10, "PAGE_EXECUTE_READ": 0x20, "PAGE_EXECUTE_READ_WRITE": 0x40,
		"PAGE_EXECUTE_WRITE_COPY": 0x80, "PAGE_GUARD": 0x100, "PAGE_NO_CACHE": 0x200, "PAGE_WRITE_COMBINE": 0x400,
		"PAGE_TARGETS_INVALID": 0x40000000}
	yamlState = map[string]uint32{"MEM_COMMIT": 0x1000, "MEM_RESERVE": 0x2000, "MEM_FREE": 0x10000}
	yamlType  = map[string]uint32{"MEM_PRIVATE": 0x20000, "MEM_MAPPED": 0x40000, "MEM_IMAGE": 0x1000000}
)

func mask(names map[string]uint32) (m uint32) {
	for _, v := range names {
		m |= v
	}
	return m
}
