package render

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/dumpmap/dumpmap/analysis/process"
	"github.com/dumpmap/dumpmap/minidump"
)

// Modules is `dumpmap modules`: the ModuleList in the order the writer recorded it.
type Modules struct {
	File     string   `json:"file"`
	Modules  []Module `json:"modules"`
	Warnings []string `json:"warnings"`

	af   AddrFormat
	long bool
}

// NewModules lists the modules of the dump of p, shown as file; with long the
// text gives every field, one block per module.
func NewModules(file string, p *process.Process, long bool, warn *Warnings) *Modules {
	f := p.File()
	mods, err := f.Modules()
	warn.Add(err)
	if !f.HasStream(minidump.StreamModuleList) {
		warn.Addf("the dump has no ModuleList stream")
	}
	out := &Modules{File: file, Modules: make([]Module, len(mods)), af: dumpAddr(f), long: long}
	for i := range mods {
		out.Modules[i] = ModuleOf(&mods[i])
	}
	out.Warnings = warn.List()
	return out
}

// WriteJSON writes the JSON object.
func (l *Modules) WriteJSON(w io.Writer) error { return WriteJSON(w, l) }

// WriteText writes the text: a table, or with long one block per module.
func (l *Modules) WriteText(w io.Writer) error {
	if l.long {
		return writeModulesLong(w, l.Modules, l.af)
	}
	af := l.af
	tb := NewTable("BASE", "END", ">SIZE", "VERSION", "NAME", "SYMBOLS")
	for _, m := range l.Modules {
		tb.Row(af.Format(uint64(m.Base)), af.Format(uint64(m.End)), Size(m.Size), OrDash(m.FileVersion),
			OrDash(m.FileName), symbolsCell(m))
	}
	fmt.Fprintf(w, "%s\n", Plural(len(l.Modules), "module"))
	if len(l.Modules) > 0 {
		return tb.Print(w, "")
	}
	return nil
}

// UnloadedModules is `dumpmap modules --unloaded`: the DLLs the process had
// unloaded, with the range they occupied.
type UnloadedModules struct {
	File     string           `json:"file"`
	Unloaded []UnloadedModule `json:"unloaded_modules"`
	Warnings []string         `json:"warnings"`

	af AddrFormat
}

// NewUnloadedModules lists the unloaded modules of the dump of p, shown as file.
func NewUnloadedModules(file string, p *process.Process, warn *Warnings) *UnloadedModules {
	f := p.File()
	us, err := f.UnloadedModules()
	warn.Add(err)
	if !f.HasStream(minidump.StreamUnloadedModuleList) {
		warn.Addf("the dump has no UnloadedModuleList stream")
	}
	out := &UnloadedModules{File: file, Unloaded: make([]UnloadedModule, len(us)), af: dumpAddr(f)}
	for i, u := range us {
		out.Unloaded[i] = UnloadedModule{Base: Hex(u.Base), End: Hex(u.Base + uint64(u.Size)), Size: uint64(u.Size),
			Name: u.Name, FileName: minidump.BaseName(u.Name), Checksum: Hex(u.Checksum), Timestamp: u.TimeDateStamp}
	}
	out.Warnings = warn.List()
	return out
}

// WriteJSON writes the JSON object.
func (l *UnloadedModules) WriteJSON(w io.Writer) error { return WriteJSON(w, l) }

// WriteText writes the text.
func (l *UnloadedModules) WriteText(w io.Writer) error {
	af := l.af
	tb := NewTable("BASE", "END", ">SIZE", "TIMESTAMP", "NAME")
	for _, u := range l.Unloaded {
		tb.Row(af.Format(uint64(u.Base)), af.Format(uint64(u.End)), Size(u.Size), stamp(u.Timestamp), u.Name)
	}
	fmt.Fprintf(w, "%s\n", Plural(len(l.Unloaded), "unloaded module"))
	if len(l.Unloaded) > 0 {
		return tb.Print(w, "")
	}
	return nil
}

// Module is one module of the ModuleList.
type Module struct {
	Base           Hex       `json:"base"`
	End            Hex       `json:"end"`
	Size           uint64    `json:"size"`
	Name           string    `json:"name"`      // full path as the writer recorded it
	FileName       string    `json:"file_name"` // the last path component
	Checksum       Hex       `json:"checksum"`
	Timestamp      uint32    `json:"timestamp"` // PE TimeDateStamp (seconds since 1970)
	FileVersion    string    `json:"file_version,omitempty"`
	ProductVersion string    `json:"product_version,omitempty"`
	CodeView       *CodeView `json:"codeview,omitempty"`
	PDBName        string    `json:"pdb_name,omitempty"` // file name of the PDB
	PDBGUID        string    `json:"pdb_guid,omitempty"` // {XXXXXXXX-XXXX-XXXX-XXXX-XXXXXXXXXXXX}
	PDBAge         *uint32   `json:"pdb_age,omitempty"`
	DebugID        string    `json:"debug_id,omitempty"` // symbol-store key: GUID and age in hex
	Misc           string    `json:"misc,omitempty"`     // IMAGE_DEBUG_MISC data (old-style debug file name)
}

// CodeView is the CodeView record that finds a module's symbols.
type CodeView struct {
	Signature string `json:"signature"` // "RSDS", "NB10", "BpEL", or the unknown signature in hex
	PDBPath   string `json:"pdb_path,omitempty"`
	GUID      string `json:"guid,omitempty"`
	Age       uint32 `json:"age"`
	Timestamp uint32 `json:"timestamp,omitempty"` // NB10
	BuildID   string `json:"build_id,omitempty"`  // BpEL, lower-case hex
}

// UnloadedModule is one module of the UnloadedModuleList.
type UnloadedModule struct {
	Base      Hex    `json:"base"`
	End       Hex    `json:"end"`
	Size      uint64 `json:"size"`
	Name      string `json:"name"`
	FileName  string `json:"file_name"`
	Checksum  Hex    `json:"checksum"`
	Timestamp uint32 `json:"timestamp"`
}

// ModuleOf shapes a module of the ModuleList.
func ModuleOf(m *minidump.Module) Module {
	j := Module{
		Base: Hex(m.Base), End: Hex(m.End()), Size: uint64(m.Size), Name: m.Name,
		FileName: minidump.BaseName(m.Name), Checksum: Hex(m.Checksum), Timestamp: m.TimeDateStamp,
		FileVersion: m.Version.FileVersion(), ProductVersion: m.Version.ProductVersion(),
	}
	if cv := m.CodeView; cv != nil {
		c := &CodeView{Signature: cv.Signature, PDBPath: cv.PDBPath, Age: cv.Age, Timestamp: cv.Timestamp}
		switch cv.Signature {
		case "RSDS":
			c.GUID = cv.GUID.String()
			j.PDBGUID = c.GUID
		case "BpEL":
			c.BuildID = fmt.Sprintf("%x", cv.BuildID)
		}
		if cv.Signature == "RSDS" || cv.Signature == "NB10" {
			j.PDBName = cv.PDBName()
			age := cv.Age
			j.PDBAge = &age
		}
		j.DebugID = cv.Identifier()
		j.CodeView = c
	}
	if m.Misc != nil {
		j.Misc = m.Misc.Data
	}
	return j
}

// symbolsCell is the SYMBOLS column: "test_app.pdb 5A9832E5287241C1838ED98914E9B7FF1"
// (PDB name and symbol-store key), or "build-id 0123abcd..." for ELF modules.
func symbolsCell(m Module) string {
	cv := m.CodeView
	switch {
	case cv == nil:
		return "-"
	case m.PDBName != "":
		return m.PDBName + " " + m.DebugID
	case cv.BuildID != "":
		return "build-id " + cv.BuildID
	}
	return "CodeView " + cv.Signature
}

func stamp(ts uint32) string {
	if ts == 0 {
		return "-"
	}
	return time.Unix(int64(ts), 0).UTC().Format("2006-01-02 15:04:05")
}

func writeModulesLong(w io.Writer, list []Module, af AddrFormat) error {
	for i, m := range list {
		if i > 0 {
			fmt.Fprintln(w)
		}
		fmt.Fprintf(w, "%s  %s-%s  %s (%#x bytes)\n", Clean(OrDash(m.FileName)), af.Format(uint64(m.Base)), af.Format(uint64(m.End)), Size(m.Size), m.Size)
		field := func(label, format string, args ...any) {
			fmt.Fprintf(w, "    %-17s %s\n", label+":", Clean(fmt.Sprintf(format, args...)))
		}
		field("path", "%s", OrDash(m.Name))
		field("timestamp", "%#x (%s)", m.Timestamp, stamp(m.Timestamp))
		field("checksum", "%s", m.Checksum)
		if m.FileVersion != "" {
			field("file version", "%s", m.FileVersion)
			field("product version", "%s", m.ProductVersion)
		}
		if cv := m.CodeView; cv != nil {
			switch cv.Signature {
			case "RSDS":
				field("CodeView", "RSDS, PDB %s", cv.PDBPath)
				field("PDB GUID, age", "%s %d", cv.GUID, cv.Age)
				field("symbol-store key", "%s/%s/%s", m.PDBName, m.DebugID, m.PDBName)
			case "NB10":
				field("CodeView", "NB10, PDB %s", cv.PDBPath)
				field("PDB signature", "%#x, age %d", cv.Timestamp, cv.Age)
			case "BpEL":
				field("CodeView", "ELF build id %s", cv.BuildID)
			default:
				field("CodeView", "unknown signature %s", cv.Signature)
			}
		}
		if m.Misc != "" {
			field("misc record", "%s", strings.TrimSpace(m.Misc))
		}
	}
	return nil
}
