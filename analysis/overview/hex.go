package overview

import "github.com/dumpmap/dumpmap/analysis/process"

// Hex is an address (or another number people read in hex, such as an exception
// code) as JSON shows it: a "0x..." string. It is process.Hex, the one such type
// of the analyses.
type Hex = process.Hex
