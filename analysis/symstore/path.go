package symstore

import (
	"fmt"
	"strings"
)

// ElementKind says what a symbol path element is.
type ElementKind int

const (
	// Folder is a plain directory: searched in symbol-store layout, then
	// flat.
	Folder ElementKind = iota
	// Cache is cache*DIR: DIR is searched first by the elements after it,
	// and servers among them download into it.
	Cache
	// Server is srv*... or symsrv*DLL*...: local stores searched in order,
	// then an optional HTTP(S) server whose downloads land in the first store.
	Server
)

// String returns the keyword of the kind: "folder", "cache" or "srv".
func (k ElementKind) String() string {
	switch k {
	case Cache:
		return "cache"
	case Server:
		return "srv"
	}
	return "folder"
}

// Element is one ';'-separated part of a symbol path.
type Element struct {
	Kind ElementKind
	// Dir is the folder of a Folder or Cache element ("" for cache* with no
	// folder: the default cache).
	Dir string
	// Stores are the local stores of a Server element, in search order; the
	// first is the downstream store that receives downloads. Empty for
	// srv*URL, which then uses the cache.
	Stores []string
	// URL is the HTTP(S) server of a Server element, "" when all its tiers
	// are local.
	URL string
}

// String formats e in symbol path syntax.
func (e Element) String() string {
	switch e.Kind {
	case Cache:
		return "cache*" + e.Dir
	case Server:
		parts := append([]string{"srv"}, e.Stores...)
		if e.URL != "" {
			parts = append(parts, e.URL)
		}
		return strings.Join(parts, "*")
	}
	return e.Dir
}

// SymbolPath is a parsed symbol path.
type SymbolPath []Element

// String formats p back into symbol path syntax.
func (p SymbolPath) String() string {
	s := make([]string, len(p))
	for i, e := range p {
		s[i] = e.String()
	}
	return strings.Join(s, ";")
}

// HasServer reports whether any element names an HTTP(S) server, the only
// case in which a lookup may touch the network.
func (p SymbolPath) HasServer() bool {
	for _, e := range p {
		if e.URL != "" {
			return true
		}
	}
	return false
}

// Parse parses a symbol path in _NT_SYMBOL_PATH syntax: elements separated
// by ';', each a folder, cache*[DIR], srv*[DIR*...]*[URL] or
// symsrv*DLL*[DIR*...]*[URL]. Keywords are case-insensitive; empty elements
// are skipped. The DLL of symsrv* is ignored: there is one implementation.
func Parse(path string) (SymbolPath, error) {
	var p SymbolPath
	for _, raw := range strings.Split(path, ";") {
		el := strings.TrimSpace(raw)
		if el == "" {
			continue
		}
		parts := strings.Split(el, "*")
		if len(parts) == 1 {
			p = append(p, Element{Kind: Folder, Dir: el})
			continue
		}
		switch kw := strings.ToLower(parts[0]); kw {
		case "cache":
			if len(parts) > 2 {
				return nil, fmt.Errorf("symstore: %q: cache* takes one folder", el)
			}
			p = append(p, Element{Kind: Cache, Dir: parts[1]})
		case "srv", "symsrv":
			tiers := parts[1:]
			if kw == "symsrv" {
				if len(tiers) < 2 || tiers[0] == "" {
					return nil, fmt.Errorf("symstore: %q: symsrv* needs a DLL name and a store", el)
				}
				tiers = tiers[1:]
			}
			e := Element{Kind: Server}
			for i, t := range tiers {
				if t == "" {
					// "srv**URL" means the default downstream store.
					continue
				}
				if isURL(t) {
					if i != len(tiers)-1 {
						return nil, fmt.Errorf("symstore: %q: a server URL must be the last tier", el)
					}
					if !strings.HasPrefix(strings.ToLower(t), "http://") && !strings.HasPrefix(strings.ToLower(t), "https://") {
						return nil, fmt.Errorf("symstore: %q: only http and https servers are supported", el)
					}
					e.URL = strings.TrimRight(t, "/")
					continue
				}
				e.Stores = append(e.Stores, t)
			}
			if len(e.Stores) == 0 && e.URL == "" {
				return nil, fmt.Errorf("symstore: %q: no store or server", el)
			}
			p = append(p, e)
		default:
			return nil, fmt.Errorf("symstore: %q: unknown element keyword %q (want srv, symsrv or cache)", el, parts[0])
		}
	}
	return p, nil
}

// isURL reports whether a tier looks like a URL rather than a folder: it has
// a scheme of two or more letters (a drive letter "C:" has one).
func isURL(s string) bool {
	i := strings.Index(s, "://")
	return i >= 2
}
