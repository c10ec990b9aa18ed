package minidump

import "fmt"

// FixedFileInfo is a module's VS_FIXEDFILEINFO: the version resource's numbers.
type FixedFileInfo struct {
	Signature        uint32 // 0xfeef04bd when present
	StrucVersion     uint32
	FileVersionMS    uint32
	FileVersionLS    uint32
	ProductVersionMS uint32
	ProductVersionLS uint32
	FileFlagsMask    uint32
	FileFlags        uint32
	FileOS           uint32
	FileType         uint32
	FileSubtype      uint32
	FileDateMS       uint32
	FileDateLS       uint32
}

// Present reports whether the module had a version resource.
func (v *FixedFileInfo) Present() bool { return v.Signature == 0xfeef04bd }

// FileVersion returns "a.b.c.d", or "" when there is no version resource.
func (v *FixedFileInfo) FileVersion() string {
	if !v.Present() {
		return ""
	}
	return fmt.Sprintf("%d.%d.%d.%d", v.FileVersionMS>>16, v.FileVersionMS&0xffff, v.FileVersionLS>>16, v.FileVersionLS&0xffff)
}

// ProductVersion returns "a.b.c.d", or "" when there is no version resource.
func (v *FixedFileInfo) ProductVersion() string {
	if !v.Present() {
		return ""
	}
	return fmt.Sprintf("%d.%d.%d.%d", v.ProductVersionMS>>16, v.ProductVersionMS&0xffff, v.ProductVersionLS>>16, v.ProductVersionLS&0xffff)
}
