package process

import (
	"fmt"
	"strings"

	"github.com/dumpmap/dumpmap/analysis/symstore"
)

// Environment variables WinDbg reads, and that the CLI falls back to.
const (
	EnvSymbolPath    = "_NT_SYMBOL_PATH"
	EnvAltSymbolPath = "_NT_ALT_SYMBOL_PATH"
	EnvImagePath     = "_NT_EXECUTABLE_IMAGE_PATH"
)

// SymbolPathFrom returns the symbol path given by a flag, or when the flag is
// empty the one in the environment (_NT_ALT_SYMBOL_PATH, searched first, then
// _NT_SYMBOL_PATH), as WinDbg does. getenv is os.Getenv outside tests.
func SymbolPathFrom(flag string, getenv func(string) string) (symstore.SymbolPath, error) {
	s := flag
	if s == "" {
		var parts []string
		for _, v := range []string{EnvAltSymbolPath, EnvSymbolPath} {
			if e := strings.TrimSpace(getenv(v)); e != "" {
				parts = append(parts, e)
			}
		}
		s = strings.Join(parts, ";")
	}
	p, err := symstore.Parse(s)
	if err != nil {
		return nil, fmt.Errorf("symbol path: %w", err)
	}
	return p, nil
}

// ImagePathFrom returns the image path given by a flag, or when the flag is
// empty the one in _NT_EXECUTABLE_IMAGE_PATH: folders separated by ';', as on
// Windows. Symbol-server elements (srv*...) are not image folders and are
// refused rather than silently ignored.
func ImagePathFrom(flag string, getenv func(string) string) ([]string, error) {
	s := flag
	if s == "" {
		s = getenv(EnvImagePath)
	}
	var dirs []string
	for _, e := range strings.Split(s, ";") {
		e = strings.TrimSpace(e)
		if e == "" {
			continue
		}
		if strings.Contains(e, "*") {
			return nil, fmt.Errorf("image path: %q: only folders are supported (a folder may hold images flat or in symbol-store layout)", e)
		}
		dirs = append(dirs, e)
	}
	return dirs, nil
}
