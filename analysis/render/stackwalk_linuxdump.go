package render

import (
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// This file reads the text streams Breakpad, Crashpad and minidump-writer copy
// from Linux's /proc and /etc the way rust-minidump's processor does (minidump
// crate, linux_list_iter and the MinidumpLinux* streams; minidump-processor,
// LinuxStandardBase, LinuxProcStatus, LinuxProcLimits; procfs-core's MemoryMaps
// for /proc/self/maps), for the fields of minidump-stackwalk's JSON they feed.

// swTrim is rust-minidump's trim_ascii_whitespace then strip_quotes: ASCII
// whitespace (space, \t, \n, \f, \r) off both ends, then one pair of surrounding
// double quotes.
func swTrim(s string) string {
	s = strings.Trim(s, " \t\n\f\r")
	if len(s) >= 2 && s[0] == '"' && s[len(s)-1] == '"' {
		s = s[1 : len(s)-1]
	}
	return s
}

// swList is linux_list_iter: each line holding sep as a trimmed key and value.
func swList(data []byte, sep byte) [][2]string {
	var out [][2]string
	for _, line := range strings.Split(string(data), "\n") {
		if k, v, ok := strings.Cut(line, string(sep)); ok {
			out = append(out, [2]string{swTrim(k), swTrim(v)})
		}
	}
	return out
}

// swLossy is String::from_utf8_lossy: each invalid byte sequence becomes U+FFFD.
func swLossy(s string) string {
	if utf8.ValidString(s) {
		return s
	}
	return strings.ToValidUTF8(s, "\ufffd")
}

// swLSB is lsb_release from /etc/lsb-release (or os-release): the last value of
// each key pair, "" when neither key is there.
func swLSB(data []byte) swObject {
	o := swObject{"id": "", "release": "", "codename": "", "description": ""}
	for _, kv := range swList(data, '=') {
		switch kv[0] {
		case "DISTRIB_ID", "ID":
			o["id"] = swLossy(kv[1])
		case "DISTRIB_RELEASE", "VERSION_ID":
			o["release"] = swLossy(kv[1])
		case "DISTRIB_CODENAME", "VERSION_CODENAME":
			o["codename"] = swLossy(kv[1])
		case "DISTRIB_DESCRIPTION", "PRETTY_NAME":
			o["description"] = swLossy(kv[1])
		}
	}
	return o
}

// swProcStatusPid is the "Pid" line of /proc/self/status: 0 when it does not
// parse, ok false when there is none.
func swProcStatusPid(data []byte) (pid uint32, ok bool) {
	for _, kv := range swList(data, ':') {
		if kv[0] == "Pid" {
			v, err := strconv.ParseUint(strings.TrimPrefix(swLossy(kv[1]), "+"), 10, 32)
			if err != nil {
				return 0, true
			}
			return uint32(v), true
		}
	}
	return 0, false
}

// swMicrocode is cpu_microcode_version from /proc/cpuinfo: the first "microcode"
// line whose value is UTF-8, read as "0x" and hex digits, written back as
// "0x..." in lower case.
func swMicrocode(data []byte) any {
	for _, kv := range swList(data, ':') {
		if kv[0] != "microcode" || !utf8.ValidString(kv[1]) {
			continue
		}
		h, ok := strings.CutPrefix(kv[1], "0x")
		if !ok {
			return nil
		}
		v, err := strconv.ParseUint(h, 16, 64)
		if err != nil {
			return nil
		}
		return fmt.Sprintf("%#x", v)
	}
	return nil
}

// swLimits is proc_limits from /proc/self/limits (minidump-writer's
// MozLinuxLimits stream): after the header line, columns separated by two or more
// spaces: name, soft, hard, unit ("n/a" when absent). rust-minidump keeps them in
// a HashMap, so its order varies from run to run; here they keep the file's
// order, a repeated name its first place and last values.
func swLimits(data []byte) swObject {
	var limits []any
	at := map[string]int{}
	lines := strings.Split(string(data), "\n")
	header := true
	for _, line := range lines {
		if line == "" {
			continue
		}
		if header {
			header = false
			continue
		}
		var cols []string
		for _, c := range strings.Split(swLossy(line), "  ") {
			if c != "" {
				cols = append(cols, c)
			}
		}
		if len(cols) < 3 {
			continue
		}
		unit := "n/a"
		if len(cols) > 3 {
			unit = strings.TrimSpace(cols[3])
		}
		name := strings.TrimSpace(cols[0])
		l := swObject{"name": name, "soft": swLimit(cols[1]), "hard": swLimit(cols[2]), "unit": unit}
		if i, ok := at[name]; ok {
			limits[i] = l
			continue
		}
		at[name] = len(limits)
		limits = append(limits, l)
	}
	if limits == nil {
		limits = []any{}
	}
	return swObject{"limits": limits}
}

// swLimit is parse_limit: "unlimited", else the number (0 when it is none).
func swLimit(s string) any {
	s = strings.TrimSpace(s)
	if s == "unlimited" {
		return s
	}
	v, _ := strconv.ParseUint(s, 10, 64)
	return v
}

// swMapping is one /proc/self/maps line: its range and whether it may be read,
// written or executed.
type swMapping struct {
	start, end uint64
	r, w, x    bool
}

// swMaxMappings bounds the mappings kept from a maps stream (a large browser
// process has tens of thousands).
const swMaxMappings = 1 << 20

// swMaps parses /proc/self/maps as procfs-core's MemoryMaps::from_buf_read does:
// each line "start-end perms offset dev inode path" split on single spaces into
// six fields (the path may be empty: the kernel pads the line), smaps extension
// lines (starting with an upper-case letter) belong to the mapping above them.
// rust-minidump drops the whole stream when a line does not parse (or the text is
// not UTF-8): ok is then false.
func swMaps(data []byte) (maps []swMapping, ok bool) {
	if !utf8.Valid(data) {
		return nil, false
	}
	lines := strings.Split(string(data), "\n")
	if lines[len(lines)-1] == "" {
		lines = lines[:len(lines)-1] // the final line feed ends the last line
	}
	for _, line := range lines {
		if line != "" && line[0] >= 'A' && line[0] <= 'Z' {
			if len(maps) == 0 || !swExtensionLine(line) {
				return nil, false
			}
			continue
		}
		f := strings.SplitN(line, " ", 6)
		if len(f) < 6 {
			return nil, false
		}
		lo, hi, ok1 := swPair(f[0], '-', 64)
		_, _, ok2 := swPair(f[3], ':', 32)
		_, err1 := strconv.ParseUint(f[2], 16, 64)
		_, err2 := strconv.ParseUint(f[4], 10, 64)
		if !ok1 || !ok2 || err1 != nil || err2 != nil {
			return nil, false
		}
		if len(maps) >= swMaxMappings {
			return nil, false
		}
		maps = append(maps, swMapping{lo, hi, strings.Contains(f[1], "r"), strings.Contains(f[1], "w"), strings.Contains(f[1], "x")})
	}
	return maps, true
}

// swExtensionLine checks an smaps "Key: value [kB]" line: VmFlags lines take
// any words; others need a number after the key when they have a value.
func swExtensionLine(line string) bool {
	if strings.HasPrefix(line, "VmFlags") {
		return true
	}
	f := strings.Fields(line)
	if len(f) < 2 {
		return true
	}
	_, err := strconv.ParseUint(f[1], 10, 64)
	return err == nil
}

// swPair parses "a<sep>b" in hex (procfs-core's split_into_num): the first two
// parts, each a number of the given bit size (device numbers are i32, which
// accepts a leading '-').
func swPair(s string, sep byte, bits int) (a, b uint64, ok bool) {
	parts := strings.Split(s, string(sep))
	if len(parts) < 2 {
		return 0, 0, false
	}
	if bits == 32 {
		x, err1 := strconv.ParseInt(parts[0], 16, 32)
		y, err2 := strconv.ParseInt(parts[1], 16, 32)
		return uint64(x), uint64(y), err1 == nil && err2 == nil
	}
	x, err1 := strconv.ParseUint(parts[0], 16, 64)
	y, err2 := strconv.ParseUint(parts[1], 16, 64)
	return x, y, err1 == nil && err2 == nil
}
