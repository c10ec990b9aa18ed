package render

import (
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/dumpmap/dumpmap/analysis/process"
	"github.com/dumpmap/dumpmap/minidump"
)

// Streams is `dumpmap streams`: the minidump header and the stream directory.
type Streams struct {
	File     string   `json:"file"`
	Header   Header   `json:"header"`
	Streams  []Stream `json:"streams"`
	Warnings []string `json:"warnings"`

	h minidump.Header
}

// Header is the minidump header.
type Header struct {
	Signature       Hex      `json:"signature"`
	Version         Hex      `json:"version"`
	NumberOfStreams uint32   `json:"number_of_streams"`
	DirectoryOffset int64    `json:"directory_offset"`
	Checksum        Hex      `json:"checksum"`
	TimeDateStamp   uint32   `json:"time_date_stamp"`
	Time            string   `json:"time,omitempty"`
	Flags           Hex      `json:"flags"`
	FlagNames       []string `json:"flag_names"`
}

// Stream is one entry of the stream directory.
type Stream struct {
	Index      int    `json:"index"`
	Type       string `json:"type"`        // name, or hex number when unknown
	TypeNumber uint32 `json:"type_number"` // MINIDUMP_STREAM_TYPE value
	Known      bool   `json:"known"`
	Offset     int64  `json:"offset"`    // file offset of the data
	Size       int64  `json:"size"`      // bytes the directory declares
	Available  int64  `json:"available"` // bytes the file holds
	Damage     string `json:"damage,omitempty"`
}

// NewStreams lists the header and directory of the dump of p, shown as file.
func NewStreams(file string, p *process.Process, warn *Warnings) *Streams {
	f := p.File()
	h := f.Header
	out := &Streams{
		File: file, h: h,
		Header: Header{
			Signature: Hex(h.Signature), Version: Hex(h.Version), NumberOfStreams: h.NumberOfStreams,
			DirectoryOffset: int64(h.StreamDirectoryRva), Checksum: Hex(h.CheckSum),
			TimeDateStamp: h.TimeDateStamp, Flags: Hex(h.Flags), FlagNames: h.Flags.Names(),
		},
		Streams: []Stream{},
	}
	if h.TimeDateStamp != 0 {
		out.Header.Time = h.Time().Format(time.RFC3339)
	}
	for _, s := range f.Streams {
		j := Stream{
			Index: s.Index, Type: s.Type.String(), TypeNumber: uint32(s.Type), Known: s.Type.Known(),
			Offset: s.Offset, Size: s.Size, Available: s.Available,
		}
		if s.Damage != nil {
			j.Damage = Describe(s.Damage)
		}
		out.Streams = append(out.Streams, j)
	}
	out.Warnings = warn.List()
	return out
}

// WriteJSON writes the JSON object.
func (s *Streams) WriteJSON(w io.Writer) error { return WriteJSON(w, s) }

// WriteText writes the text.
func (s *Streams) WriteText(w io.Writer) error {
	h := s.h
	fmt.Fprintf(w, "Header: signature %s (MDMP), version %s, %d streams, directory at offset %#x\n",
		s.Header.Signature, s.Header.Version, h.NumberOfStreams, h.StreamDirectoryRva)
	t := ""
	if h.TimeDateStamp != 0 {
		t = h.Time().Format(TimeLayout) + ", "
	}
	fmt.Fprintf(w, "        %schecksum %s, flags %s %s\n\n", t, s.Header.Checksum, s.Header.Flags, h.Flags.String())
	tb := NewTable(">#", "TYPE", ">NUMBER", ">OFFSET", ">SIZE", "")
	for _, st := range s.Streams {
		note := ""
		if st.Damage != "" {
			note = fmt.Sprintf("DAMAGED: %d of %d bytes present", st.Available, st.Size)
		} else if !st.Known {
			note = "unknown type"
		}
		tb.Row(strconv.Itoa(st.Index), st.Type, fmt.Sprintf("%#x", st.TypeNumber),
			fmt.Sprintf("%#x", st.Offset), strconv.FormatInt(st.Size, 10), note)
	}
	return tb.Print(w, "")
}
