package main

import (
	"fmt"
	"strconv"
	"time"

	"github.com/spf13/pflag"
)

func init() {
	register(&command{
		name:    "streams",
		summary: "list the stream directory: index, type, file offset, size, damage",
		args:    []string{"FILE"},
		help: `
Prints the minidump header (signature, version, time, flags) and every entry of the
stream directory in file order: its index, the stream type by name and number, where
its data lies in the file (offset and size, in bytes) and any damage, such as a
stream that extends past the end of a truncated file. Unknown stream types are listed
by number; Unused entries (directory padding) are listed too.

Examples:
  dumpmap streams crash.dmp
  dumpmap streams --json crash.dmp | jq '.streams[] | select(.damage)'`,
		setup: func(fs *pflag.FlagSet) runFunc { return runStreams },
	})
}

type streamsJSON struct {
	File     string       `json:"file"`
	Header   headerJSON   `json:"header"`
	Streams  []streamJSON `json:"streams"`
	Warnings []string     `json:"warnings"`
}

type headerJSON struct {
	Signature       hexNum   `json:"signature"`
	Version         hexNum   `json:"version"`
	NumberOfStreams uint32   `json:"number_of_streams"`
	DirectoryOffset int64    `json:"directory_offset"`
	Checksum        hexNum   `json:"checksum"`
	TimeDateStamp   uint32   `json:"time_date_stamp"`
	Time            string   `json:"time,omitempty"`
	Flags           hexNum   `json:"flags"`
	FlagNames       []string `json:"flag_names"`
}

type streamJSON struct {
	Index      int    `json:"index"`
	Type       string `json:"type"`        // name, or hex number when unknown
	TypeNumber uint32 `json:"type_number"` // MINIDUMP_STREAM_TYPE value
	Known      bool   `json:"known"`
	Offset     int64  `json:"offset"`    // file offset of the data
	Size       int64  `json:"size"`      // bytes the directory declares
	Available  int64  `json:"available"` // bytes the file holds
	Damage     string `json:"damage,omitempty"`
}

func runStreams(e *env, args []string) error {
	d, err := openDump(args[0])
	if err != nil {
		return err
	}
	defer d.Close()
	defer d.flush(e)

	h := d.Header
	out := streamsJSON{
		File: d.path,
		Header: headerJSON{
			Signature: hexNum(h.Signature), Version: hexNum(h.Version), NumberOfStreams: h.NumberOfStreams,
			DirectoryOffset: int64(h.StreamDirectoryRva), Checksum: hexNum(h.CheckSum),
			TimeDateStamp: h.TimeDateStamp, Flags: hexNum(h.Flags), FlagNames: h.Flags.Names(),
		},
		Streams: []streamJSON{},
	}
	if h.TimeDateStamp != 0 {
		out.Header.Time = h.Time().Format(time.RFC3339)
	}
	for _, s := range d.Streams {
		j := streamJSON{
			Index: s.Index, Type: s.Type.String(), TypeNumber: uint32(s.Type), Known: s.Type.Known(),
			Offset: s.Offset, Size: s.Size, Available: s.Available,
		}
		if s.Damage != nil {
			j.Damage = describe(s.Damage)
		}
		out.Streams = append(out.Streams, j)
	}
	out.Warnings = d.warnings()
	if e.json {
		return writeJSON(e.stdout, out)
	}

	w := e.stdout
	fmt.Fprintf(w, "Header: signature %s (MDMP), version %s, %d streams, directory at offset %#x\n",
		out.Header.Signature, out.Header.Version, h.NumberOfStreams, h.StreamDirectoryRva)
	t := ""
	if h.TimeDateStamp != 0 {
		t = h.Time().Format(timeLayout) + ", "
	}
	fmt.Fprintf(w, "        %schecksum %s, flags %s %s\n\n", t, out.Header.Checksum, out.Header.Flags, h.Flags.String())
	tb := newTable(">#", "TYPE", ">NUMBER", ">OFFSET", ">SIZE", "")
	for _, s := range out.Streams {
		note := ""
		if s.Damage != "" {
			note = fmt.Sprintf("DAMAGED: %d of %d bytes present", s.Available, s.Size)
		} else if !s.Known {
			note = "unknown type"
		}
		tb.row(strconv.Itoa(s.Index), s.Type, fmt.Sprintf("%#x", s.TypeNumber),
			fmt.Sprintf("%#x", s.Offset), strconv.FormatInt(s.Size, 10), note)
	}
	tb.write(w, "")
	return nil
}
