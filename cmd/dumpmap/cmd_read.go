package main

import (
	enchex "encoding/hex"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/dumpmap/dumpmap/analysis"

	"github.com/dumpmap/dumpmap/minidump"
	"github.com/spf13/pflag"
)

// maxRead bounds one read; the minidump package refuses more.
const maxRead = 64 << 20

func init() {
	register(&command{
		name:    "read",
		summary: "hexdump process memory at a virtual address, like xxd",
		args:    []string{"FILE", "ADDR", "[LEN]"},
		help: `
Prints LEN bytes (default 256) of the process's memory starting at virtual address
ADDR, as xxd does but with the real virtual addresses. Reads cross from one captured
range into the next. Bytes the dump did not capture are shown as "??" (and "?" in
the text column) and reported on stderr; if none of the bytes was captured, that is
an error.

ADDR is 0x7ffe0000, 00000000` + "`" + `7ffe0000 (WinDbg's form), hex without 0x as in WinDbg, or a module
and offset: ntdll.dll+0x1000, ntdll+0x1000, or just ntdll for the module's base.
LEN accepts 4096, 0x1000, 4K, 4KB or 1MiB, up to 64 MiB.

Examples:
  dumpmap read crash.dmp 0x0012f31c
  dumpmap read crash.dmp test_app.exe 64          # the MZ header, if captured
  dumpmap read crash.dmp 0x7ffdf000 4K -c 32 -g 4
  dumpmap read --json crash.dmp 0x0012f31c 16 | jq -r .data`,
		setup: func(fs *pflag.FlagSet) runFunc {
			o := &readOpts{}
			fs.IntVarP(&o.cols, "cols", "c", 16, "bytes per line (1-256)")
			fs.IntVarP(&o.group, "group", "g", 2, "bytes per group (1-256)")
			return func(e *env, args []string) error { return runRead(e, args, o) }
		},
	})
}

type readOpts struct {
	cols, group int
}

type missingJSON struct {
	Start hexNum `json:"start"`
	End   hexNum `json:"end"`
	Size  uint64 `json:"size"`
}

type readJSON struct {
	File     string `json:"file"`
	Address  hexNum `json:"address"`
	Length   uint64 `json:"length"`
	Captured uint64 `json:"captured"` // bytes read from the dump
	// Data is the bytes in lower-case hex, two digits per byte; bytes that were not
	// captured are "00" here and listed in MissingRanges.
	Data          string        `json:"data"`
	Missing       uint64        `json:"missing"` // bytes not captured
	MissingRanges []missingJSON `json:"missing_ranges"`
	Warnings      []string      `json:"warnings"`
}

func runRead(e *env, args []string, o *readOpts) error {
	if o.cols < 1 || o.cols > 256 {
		return usageErrorf("--cols must be 1-256, not %d", o.cols)
	}
	if o.group < 1 || o.group > 256 {
		return usageErrorf("--group must be 1-256, not %d", o.group)
	}
	length := uint64(256)
	if len(args) > 2 {
		n, err := analysis.ParseSize(args[2])
		if err != nil {
			return usageErrorf("bad LEN: %v", err)
		}
		if n == 0 || n > maxRead {
			return usageErrorf("bad LEN: %s is not between 1 byte and 64 MiB", args[2])
		}
		length = n
	}
	addrArg := args[1]
	addr, addrErr := analysis.ParseAddress(addrArg)
	modName, modOff, isMod := "", uint64(0), false
	if addrErr != nil {
		var err error
		modName, modOff, isMod, err = parseModuleAddr(addrArg)
		if err != nil {
			return usageErrorf("bad ADDR: %v", err)
		}
		if !isMod {
			return usageErrorf("bad ADDR: %v", addrErr)
		}
	}

	d, err := openDump(args[0])
	if err != nil {
		return err
	}
	defer d.Close()
	defer d.flush(e)
	af := newAddrFmt(d.pointerBits())

	if isMod {
		mods, err := d.Modules()
		d.warn(err)
		m := findModule(mods, modName)
		if m == nil {
			return usageErrorf("bad ADDR: the dump has no module named %q (see 'dumpmap modules')", modName)
		}
		addr = m.Base + modOff
		if addr < m.Base {
			return usageErrorf("bad ADDR: %s wraps past the end of the address space", addrArg)
		}
	}
	if addr+length < addr {
		return usageErrorf("bad ADDR/LEN: %s+%#x wraps past the end of the address space", af.f(addr), length)
	}

	mem, err := d.Memory()
	d.warn(err)
	buf := make([]byte, length)
	n, rerr := mem.ReadAt(buf, addr)
	var missing []minidump.AddrRange
	var me *minidump.MissingMemoryError
	switch {
	case rerr == nil:
	case errors.As(rerr, &me):
		missing = me.Missing
	default:
		return &fileError{file: d.path, err: rerr}
	}
	if n == 0 {
		return &fileError{file: d.path, err: fmt.Errorf("%s-%s (%d bytes) was not captured in the dump%s",
			af.f(addr), af.f(addr+length), length, nearestCaptured(mem, addr, addr+length, af))}
	}
	if len(missing) > 0 {
		var miss uint64
		parts := make([]string, 0, len(missing))
		for _, m := range missing {
			miss += m.End - m.Start
			parts = append(parts, af.f(m.Start)+"-"+af.f(m.End))
		}
		d.note("%d of %d bytes were not captured in the dump and are shown as ??: %s", miss, length, strings.Join(parts, ", "))
	}

	if e.json {
		out := readJSON{File: d.path, Address: hexNum(addr), Length: length, Captured: uint64(n),
			Data: hexEncode(buf), Missing: length - uint64(n), MissingRanges: []missingJSON{}, Warnings: d.warnings()}
		for _, m := range missing {
			out.MissingRanges = append(out.MissingRanges, missingJSON{Start: hexNum(m.Start), End: hexNum(m.End), Size: m.End - m.Start})
		}
		return writeJSON(e.stdout, out)
	}
	hexdump(e.stdout, addr, buf, missing, int(af), o.cols, o.group)
	return nil
}

func hexEncode(b []byte) string { return enchex.EncodeToString(b) }

// parseModuleAddr parses "name+off", "name+0xoff" or "name". It reports isMod false
// for anything that does not look like a module expression.
func parseModuleAddr(s string) (name string, off uint64, isMod bool, err error) {
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

// findModule finds a module by file name, case-insensitively, with or without its
// extension ("ntdll.dll", "NTDLL", "libc.so.6").
func findModule(mods []minidump.Module, name string) *minidump.Module {
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

// nearestCaptured names the captured ranges just below and above [lo, hi), as a hint
// after "was not captured".
func nearestCaptured(mem *minidump.Memory, lo, hi uint64, af addrFmt) string {
	rs := mem.Ranges()
	if len(rs) == 0 {
		return " (the dump holds no memory at all)"
	}
	i := sort.Search(len(rs), func(i int) bool { return rs[i].Start >= hi })
	var parts []string
	if i > 0 {
		r := rs[i-1]
		parts = append(parts, fmt.Sprintf("%s-%s below", af.f(r.Start), af.f(r.End())))
	}
	if i < len(rs) {
		r := rs[i]
		parts = append(parts, fmt.Sprintf("%s-%s above", af.f(r.Start), af.f(r.End())))
	}
	_ = lo
	return " (nearest captured ranges: " + strings.Join(parts, ", ") + "; see 'dumpmap memory')"
}

// hexdump prints buf as xxd does, with addresses starting at addr, digits wide.
// Bytes in the missing ranges are printed as "??" and "?".
func hexdump(w io.Writer, addr uint64, buf []byte, missing []minidump.AddrRange, digits, cols, group int) {
	isMissing := func(i int) bool {
		va := addr + uint64(i)
		k := sort.Search(len(missing), func(k int) bool { return missing[k].End > va })
		return k < len(missing) && missing[k].Start <= va
	}
	hexWidth := cols*2 + (cols+group-1)/group - 1
	var line, text strings.Builder
	for off := 0; off < len(buf); off += cols {
		line.Reset()
		text.Reset()
		fmt.Fprintf(&line, "%0*x: ", digits, addr+uint64(off))
		start := line.Len()
		for j := 0; j < cols && off+j < len(buf); j++ {
			if j > 0 && j%group == 0 {
				line.WriteByte(' ')
			}
			i := off + j
			if isMissing(i) {
				line.WriteString("??")
				text.WriteByte('?')
				continue
			}
			c := buf[i]
			fmt.Fprintf(&line, "%02x", c)
			if c >= 0x20 && c < 0x7f {
				text.WriteByte(c)
			} else {
				text.WriteByte('.')
			}
		}
		if pad := hexWidth - (line.Len() - start); pad > 0 {
			line.WriteString(strings.Repeat(" ", pad))
		}
		line.WriteString("  ")
		line.WriteString(text.String())
		fmt.Fprintln(w, line.String())
	}
}
