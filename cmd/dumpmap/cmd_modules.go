package main

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/dumpmap/dumpmap/minidump"
	"github.com/spf13/pflag"
)

func init() {
	register(&command{
		name:    "modules",
		summary: "list the loaded (or unloaded) modules: base, end, size, version, name, PDB identity",
		args:    []string{"FILE"},
		help: `
Lists the modules of the ModuleList stream in the order the writer recorded them (the
executable first): base address, end, size, file version, file name, and the
CodeView record that finds the module's symbols (PDB name, GUID and age; for Linux
and macOS modules the build id). With --unloaded, lists the UnloadedModuleList
instead: the DLLs the process had unloaded, with the range they occupied.

Examples:
  dumpmap modules crash.dmp
  dumpmap modules --long crash.dmp          # every field, one block per module
  dumpmap modules --unloaded crash.dmp
  dumpmap modules --json crash.dmp | jq -r '.modules[] | "\(.base) \(.name)"'`,
		setup: func(fs *pflag.FlagSet) runFunc {
			o := &modulesOpts{}
			fs.BoolVarP(&o.unloaded, "unloaded", "u", false, "list the unloaded modules instead")
			fs.BoolVarP(&o.long, "long", "l", false, "print every field, one block per module")
			return func(e *env, args []string) error { return runModules(e, args, o) }
		},
	})
}

type modulesOpts struct {
	unloaded bool
	long     bool
}

// moduleJSON is one module of `dumpmap modules --json`.
type moduleJSON struct {
	Base           hexNum        `json:"base"`
	End            hexNum        `json:"end"`
	Size           uint64        `json:"size"`
	Name           string        `json:"name"`      // full path as the writer recorded it
	FileName       string        `json:"file_name"` // the last path component
	Checksum       hexNum        `json:"checksum"`
	Timestamp      uint32        `json:"timestamp"` // PE TimeDateStamp (seconds since 1970)
	FileVersion    string        `json:"file_version,omitempty"`
	ProductVersion string        `json:"product_version,omitempty"`
	CodeView       *codeViewJSON `json:"codeview,omitempty"`
	PDBName        string        `json:"pdb_name,omitempty"` // file name of the PDB
	PDBGUID        string        `json:"pdb_guid,omitempty"` // {XXXXXXXX-XXXX-XXXX-XXXX-XXXXXXXXXXXX}
	PDBAge         *uint32       `json:"pdb_age,omitempty"`
	DebugID        string        `json:"debug_id,omitempty"` // symbol-store key: GUID and age in hex
	Misc           string        `json:"misc,omitempty"`     // IMAGE_DEBUG_MISC data (old-style debug file name)
}

type codeViewJSON struct {
	Signature string `json:"signature"` // "RSDS", "NB10", "BpEL", or the unknown signature in hex
	PDBPath   string `json:"pdb_path,omitempty"`
	GUID      string `json:"guid,omitempty"`
	Age       uint32 `json:"age"`
	Timestamp uint32 `json:"timestamp,omitempty"` // NB10
	BuildID   string `json:"build_id,omitempty"`  // BpEL, lower-case hex
}

type unloadedJSON struct {
	Base      hexNum `json:"base"`
	End       hexNum `json:"end"`
	Size      uint64 `json:"size"`
	Name      string `json:"name"`
	FileName  string `json:"file_name"`
	Checksum  hexNum `json:"checksum"`
	Timestamp uint32 `json:"timestamp"`
}

func moduleToJSON(m *minidump.Module) moduleJSON {
	j := moduleJSON{
		Base: hexNum(m.Base), End: hexNum(m.End()), Size: uint64(m.Size), Name: m.Name,
		FileName: minidump.BaseName(m.Name), Checksum: hexNum(m.Checksum), Timestamp: m.TimeDateStamp,
		FileVersion: m.Version.FileVersion(), ProductVersion: m.Version.ProductVersion(),
	}
	if cv := m.CodeView; cv != nil {
		c := &codeViewJSON{Signature: cv.Signature, PDBPath: cv.PDBPath, Age: cv.Age, Timestamp: cv.Timestamp}
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

func runModules(e *env, args []string, o *modulesOpts) error {
	d, err := openDump(args[0])
	if err != nil {
		return err
	}
	defer d.Close()
	defer d.flush(e)
	af := newAddrFmt(d.pointerBits())

	if o.unloaded {
		us, err := d.UnloadedModules()
		d.warn(err)
		if !d.HasStream(minidump.StreamUnloadedModuleList) {
			d.note("the dump has no UnloadedModuleList stream")
		}
		list := make([]unloadedJSON, len(us))
		for i, u := range us {
			list[i] = unloadedJSON{Base: hexNum(u.Base), End: hexNum(u.Base + uint64(u.Size)), Size: uint64(u.Size),
				Name: u.Name, FileName: minidump.BaseName(u.Name), Checksum: hexNum(u.Checksum), Timestamp: u.TimeDateStamp}
		}
		if e.json {
			return writeJSON(e.stdout, struct {
				File     string         `json:"file"`
				Unloaded []unloadedJSON `json:"unloaded_modules"`
				Warnings []string       `json:"warnings"`
			}{d.path, list, d.warnings()})
		}
		tb := newTable("BASE", "END", ">SIZE", "TIMESTAMP", "NAME")
		for _, u := range list {
			tb.row(af.f(uint64(u.Base)), af.f(uint64(u.End)), size(u.Size), stamp(u.Timestamp), u.Name)
		}
		fmt.Fprintf(e.stdout, "%s\n", plural(len(list), "unloaded module"))
		if len(list) > 0 {
			tb.write(e.stdout, "")
		}
		return nil
	}

	mods, err := d.Modules()
	d.warn(err)
	if !d.HasStream(minidump.StreamModuleList) {
		d.note("the dump has no ModuleList stream")
	}
	list := make([]moduleJSON, len(mods))
	for i := range mods {
		list[i] = moduleToJSON(&mods[i])
	}
	if e.json {
		return writeJSON(e.stdout, struct {
			File     string       `json:"file"`
			Modules  []moduleJSON `json:"modules"`
			Warnings []string     `json:"warnings"`
		}{d.path, list, d.warnings()})
	}
	if o.long {
		printModulesLong(e.stdout, list, af)
		return nil
	}
	tb := newTable("BASE", "END", ">SIZE", "VERSION", "NAME", "SYMBOLS")
	for _, m := range list {
		tb.row(af.f(uint64(m.Base)), af.f(uint64(m.End)), size(m.Size), orDash(m.FileVersion),
			orDash(m.FileName), symbolsCell(m))
	}
	fmt.Fprintf(e.stdout, "%s\n", plural(len(list), "module"))
	if len(list) > 0 {
		tb.write(e.stdout, "")
	}
	return nil
}

// symbolsCell is the SYMBOLS column: "test_app.pdb 5A9832E5287241C1838ED98914E9B7FF1"
// (PDB name and symbol-store key), or "build-id 0123abcd..." for ELF modules.
func symbolsCell(m moduleJSON) string {
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

func printModulesLong(w io.Writer, list []moduleJSON, af addrFmt) {
	for i, m := range list {
		if i > 0 {
			fmt.Fprintln(w)
		}
		fmt.Fprintf(w, "%s  %s-%s  %s (%#x bytes)\n", clean(orDash(m.FileName)), af.f(uint64(m.Base)), af.f(uint64(m.End)), size(m.Size), m.Size)
		field := func(label, format string, args ...any) {
			fmt.Fprintf(w, "    %-17s %s\n", label+":", clean(fmt.Sprintf(format, args...)))
		}
		field("path", "%s", orDash(m.Name))
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
}
