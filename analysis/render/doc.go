// Package render writes what the dumpmap commands print: for each command, the
// text a person reads and the JSON object a program reads, from the same inputs
// the CLI has (the analysed process, the region map, the command's options and the
// warnings met), byte for byte as `dumpmap COMMAND` and `dumpmap COMMAND --json`
// print them. The JSON objects are documented in docs/cli-json.md.
//
// Each command has a value that is its JSON object, built by a NewXxx function,
// with a WriteText method for the text and a WriteJSON method for the object:
//
//	p := process.New(f, process.Options{})
//	var warn render.Warnings
//	m, err := render.LoadMap(p, analysis.Options{}, &warn)
//	...
//	s := render.NewSummary("crash.dmp", m, &warn)
//	s.WriteText(os.Stdout)
//
// The files are named after the commands (info.go, regions.go, summary.go, ...);
// shapes.go holds the JSON shapes the commands share with the report (package
// report imports render for them, not the other way round: the report is one more
// output of the same analyses, and render must not depend on it so that the
// report can use render's shapes, sanitiser and formatting).
//
// Every string a dump supplies is hostile. Text output passes it through Clean,
// the one sanitiser of every output meant for people (the tables here, the
// report's Markdown and HTML, triage's table and CSV); JSON output keeps the exact
// values (see Clean).
package render
