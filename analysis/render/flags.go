package render

// This file parses the flag values whose meaning belongs to the analyses, so that
// a program takes them as the CLI does: region filters, address ranges and
// addresses given as module+offset.

import (
	"fmt"
	"strings"

	"github.com/dumpmap/dumpmap/analysis"
	"github.com/dumpmap/dumpmap/analysis/process"
	"github.com/dumpmap/dumpmap/minidump"
)

// ParseRegionFilter parses the values of the regions command's filter flags:
// comma-separated usages (analysis.ParseUsage), states (commit, reserve, free),
// types (image, mapped, private) and protections (PAGE_READWRITE, EXECUTE_READ,
// GUARD), case-insensitive and with the MEM_ and PAGE_ prefixes optional, and a
// minimum size (analysis.ParseSize). An empty value leaves that part of the filter
// open. An error names the flag ("--usage: ..."), as the CLI reports it.
func ParseRegionFilter(usages, states, types, protects, minSize string) (RegionFilter, error) {
	var f RegionFilter
	for _, s := range splitList(usages) {
		u, ok := analysis.ParseUsage(s)
		if !ok {
			return f, fmt.Errorf("--usage: unknown usage %q (Free, Unusable, Image, Stack, TEB, PEB, Heap, MappedFile, Private, Unknown)", s)
		}
		if f.Usages == nil {
			f.Usages = map[analysis.Usage]bool{}
		}
		f.Usages[u] = true
	}
	for _, s := range splitList(states) {
		var st minidump.MemState
		switch strings.TrimPrefix(strings.ToUpper(s), "MEM_") {
		case "COMMIT", "COMMITTED":
			st = minidump.MemCommit
		case "RESERVE", "RESERVED":
			st = minidump.MemReserve
		case "FREE":
			st = minidump.MemFree
		default:
			return f, fmt.Errorf("--state: unknown state %q (commit, reserve, free)", s)
		}
		if f.States == nil {
			f.States = map[minidump.MemState]bool{}
		}
		f.States[st] = true
	}
	for _, s := range splitList(types) {
		var t minidump.MemType
		switch strings.TrimPrefix(strings.ToUpper(s), "MEM_") {
		case "IMAGE":
			t = minidump.MemImage
		case "MAPPED":
			t = minidump.MemMapped
		case "PRIVATE":
			t = minidump.MemPrivate
		default:
			return f, fmt.Errorf("--type: unknown type %q (image, mapped, private)", s)
		}
		if f.Types == nil {
			f.Types = map[minidump.MemType]bool{}
		}
		f.Types[t] = true
	}
	for _, s := range splitList(protects) {
		p, ok := parseProtect(s)
		if !ok {
			return f, fmt.Errorf("--protect: unknown protection %q (e.g. PAGE_READWRITE, EXECUTE_READ, GUARD)", s)
		}
		f.Protects = append(f.Protects, p)
	}
	if minSize != "" {
		n, err := analysis.ParseSize(minSize)
		if err != nil {
			return f, fmt.Errorf("--min-size: %v", err)
		}
		f.MinSize = n
	}
	return f, nil
}

// splitList splits a comma-separated list, dropping empty items.
func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// parseProtect parses one protection constant.
func parseProtect(s string) (minidump.Protect, bool) {
	name := "PAGE_" + strings.TrimPrefix(strings.ToUpper(s), "PAGE_")
	for p := minidump.Protect(1); p != 0 && p <= minidump.PageTargetsInvalid; p <<= 1 {
		if p.String() == name {
			return p, true
		}
	}
	return 0, false
}

// ParseRanges parses a list of address ranges START-END, as the --unavailable
// flag takes them: "0x7cff0000-0x7d010000,0x10000-0x20000".
func ParseRanges(s string) ([]analysis.AddrRange, error) {
	var out []analysis.AddrRange
	for _, p := range splitList(s) {
		a, b, ok := strings.Cut(p, "-")
		if !ok {
			return nil, fmt.Errorf("%q is not START-END", p)
		}
		lo, err := analysis.ParseAddress(a)
		if err != nil {
			return nil, err
		}
		hi, err := analysis.ParseAddress(b)
		if err != nil {
			return nil, err
		}
		if hi <= lo {
			return nil, fmt.Errorf("%q: END must be above START", p)
		}
		out = append(out, analysis.AddrRange{Start: lo, End: hi})
	}
	return out, nil
}

// ParseModuleAddress parses an address given as a module and an offset:
// "name+off", "name+0xoff" or "name" (the module's base). It reports isMod false
// for anything that does not look like a module expression, such as a number.
func ParseModuleAddress(s string) (name string, off uint64, isMod bool, err error) {
	name, offStr, hasOff := strings.Cut(s, "+")
	name = strings.TrimSpace(name)
	if name == "" || strings.ContainsAny(name, " \t`") {
		return "", 0, false, nil
	}
	if c := name[0]; c >= '0' && c <= '9' {
		return "", 0, false, nil // a malformed number, not a module name
	}
	if hasOff {
		off, err = analysis.ParseAddress(offStr)
		if err != nil {
			return "", 0, false, fmt.Errorf("bad offset in %q: %v", s, err)
		}
	}
	return name, off, true, nil
}

// FindModule finds a module by file name, case-insensitively, with or without its
// extension ("ntdll.dll", "NTDLL", "libc.so.6").
func FindModule(mods []minidump.Module, name string) *minidump.Module {
	want := strings.ToLower(name)
	for pass := 0; pass < 2; pass++ {
		for i := range mods {
			b := strings.ToLower(minidump.BaseName(mods[i].Name))
			if pass == 1 {
				if dot := strings.LastIndexByte(b, '.'); dot > 0 {
					b = b[:dot]
				}
			}
			if b == want {
				return &mods[i]
			}
		}
	}
	return nil
}

// ParseRequest parses the values of the explain command's request flags: the
// path (analysis.ParseVia), the size (analysis.ParseSize, at least 1 byte; "" for
// none), the heap handle and the address limit (analysis.ParseAddress; "" for
// none), the vector's element size and its growth (msvc, libstdc++ or libc++). An
// error names the flag ("--size: ..."), as the CLI reports it.
func ParseRequest(size, via, heap, elementSize, stl, below string) (analysis.Request, error) {
	var req analysis.Request
	v, ok := analysis.ParseVia(via)
	if !ok {
		return req, fmt.Errorf("--via: unknown path %q (virtualalloc, reserve, heap, malloc, vector)", via)
	}
	req.Via = v
	var err error
	if size != "" {
		if req.Size, err = analysis.ParseSize(size); err != nil {
			return req, fmt.Errorf("--size: %v", err)
		}
		if req.Size == 0 {
			return req, fmt.Errorf("--size: the size must be at least 1 byte")
		}
	}
	if heap != "" {
		if req.Heap, err = analysis.ParseAddress(heap); err != nil {
			return req, fmt.Errorf("--heap: %v", err)
		}
	}
	if req.ElementSize, err = analysis.ParseSize(elementSize); err != nil || req.ElementSize == 0 {
		return req, fmt.Errorf("--element-size: want a size of at least 1 byte")
	}
	switch strings.ToLower(stl) {
	case "msvc", "libstdc++", "libc++":
		req.Growth = strings.ToLower(stl)
	default:
		return req, fmt.Errorf("--stl: want msvc or libstdc++, not %q", stl)
	}
	if below != "" {
		if req.Below, err = analysis.ParseAddress(below); err != nil {
			return req, fmt.Errorf("--below: %v", err)
		}
	}
	return req, nil
}

// ParseSizesVias parses the repeatable --size and --via values of `dumpmap
// report`: sizes of at least one byte, and allocation path names.
func ParseSizesVias(sizes, vias []string) ([]uint64, []analysis.Via, error) {
	var ns []uint64
	for _, s := range sizes {
		n, err := analysis.ParseSize(s)
		if err != nil {
			return nil, nil, fmt.Errorf("--size: %v", err)
		}
		if n == 0 {
			return nil, nil, fmt.Errorf("--size: the size must be at least 1 byte")
		}
		ns = append(ns, n)
	}
	var vs []analysis.Via
	for _, v := range vias {
		via, ok := analysis.ParseVia(v)
		if !ok {
			return nil, nil, fmt.Errorf("--via: unknown path %q (virtualalloc, reserve, heap, malloc, vector)", v)
		}
		vs = append(vs, via)
	}
	return ns, vs, nil
}

// ParseAddressArg parses the ADDR of `dumpmap read`: a number (0x7ffe0000,
// 140737488289792) or module+offset (ntdll.dll+0x1000, ntdll+0x1000), the
// module found in p's module list. The errors say what is wrong without the
// argument's name.
func ParseAddressArg(p *process.Process, arg string) (uint64, error) {
	addr, addrErr := analysis.ParseAddress(arg)
	if addrErr == nil {
		return addr, nil
	}
	name, off, isMod, err := ParseModuleAddress(arg)
	if err != nil {
		return 0, err
	}
	if !isMod {
		return 0, addrErr
	}
	m := FindModule(p.ModuleList(), name)
	if m == nil {
		return 0, fmt.Errorf("the dump has no module named %q (see 'dumpmap modules')", name)
	}
	if m.Base+off < m.Base {
		return 0, fmt.Errorf("%s wraps past the end of the address space", arg)
	}
	return m.Base + off, nil
}
