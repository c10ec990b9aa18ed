// Command dumpmap reads Windows minidumps on Linux and macOS and explains the
// process's address space: why did a 50 KB allocation fail when 1 GB was free?
//
// Usage:
//
//	dumpmap COMMAND [flags] FILE [ARGS...]
//
// Run `dumpmap --help` for the list of commands and `dumpmap help COMMAND` for one
// command's flags and examples. Every command takes --json and then prints exactly
// one JSON object on stdout (docs/cli-json.md). Exit status: 0 success, 1 the file
// could not be analysed, 2 usage error.
package main

import (
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/debug"
	"strings"

	"github.com/dumpmap/dumpmap/analysis/render"
	"github.com/dumpmap/dumpmap/internal/gctune"
	"github.com/spf13/pflag"
)

// version is set at link time (-ldflags "-X main.version=v1.2.3"); otherwise the
// module version from the build information is used.
var version = ""

func main() {
	gctune.Start() // collect only at a memory limit (internal/gctune)
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run runs dumpmap with the given arguments (without the program name) and returns
// the exit status. It never panics: a panic in a command is reported as an internal
// error with exit status 1.
func run(args []string, stdout, stderr io.Writer) (code int) {
	var cur *command
	defer func() {
		if r := recover(); r != nil {
			name := "dumpmap"
			if cur != nil {
				name += " " + cur.name
			}
			fmt.Fprintf(stderr, "%s: internal error: %v (please report this with the dump)\n%s", name, r, debug.Stack())
			code = exitFile
		}
	}()

	if len(args) == 0 {
		printMainHelp(stderr)
		return exitUsage
	}
	switch first := args[0]; {
	case first == "-h" || first == "--help" || first == "help" && len(args) == 1:
		printMainHelp(stdout)
		return exitOK
	case first == "--version" || first == "version":
		fmt.Fprintf(stdout, "dumpmap %s (%s %s/%s)\n", versionString(), runtime.Version(), runtime.GOOS, runtime.GOARCH)
		return exitOK
	case first == "help":
		c, ok := commands[args[1]]
		if !ok {
			return exitCode(stderr, nil, unknownCommand(args[1]))
		}
		c.printHelp(stdout)
		return exitOK
	case strings.HasPrefix(first, "-") && first != "-":
		return exitCode(stderr, nil, usageErrorf("unknown flag %s before the command (flags go after it: dumpmap COMMAND [flags] FILE)", first))
	}

	c, ok := commands[args[0]]
	if !ok {
		return exitCode(stderr, nil, unknownCommand(args[0]))
	}
	cur = c
	e := &env{stdout: stdout, stderr: stderr, cmd: c}
	fs, runCmd := c.flagSet(e)
	if err := fs.Parse(args[1:]); err != nil {
		if err == pflag.ErrHelp {
			c.printHelp(stdout)
			return exitOK
		}
		return exitCode(stderr, c, &usageError{msg: err.Error()})
	}
	if h, _ := fs.GetBool("help"); h {
		c.printHelp(stdout)
		return exitOK
	}
	if err := c.checkArgs(fs.Args()); err != nil {
		return exitCode(stderr, c, err)
	}
	return exitCode(stderr, c, runCmd(e, fs.Args()))
}

func unknownCommand(name string) error {
	var names []string
	for _, c := range sortedCommands() {
		names = append(names, c.name)
	}
	if near := render.Near(name, names); len(near) > 0 {
		return usageErrorf("unknown command %q (did you mean %s?)", name, strings.Join(near, " or "))
	}
	return usageErrorf("unknown command %q", name)
}

func versionString() string {
	if version != "" {
		return version
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" {
		return bi.Main.Version
	}
	return "(devel)"
}

// printMainHelp writes help/main.txt with the command list in place of its
// COMMANDS line.
func printMainHelp(w io.Writer) {
	b, _ := helpFiles.ReadFile("help/main.txt")
	var list strings.Builder
	for _, c := range sortedCommands() {
		fmt.Fprintf(&list, "  %-9s %s\n", c.name, c.summary)
	}
	fmt.Fprint(w, strings.Replace(string(b), "COMMANDS\n", list.String(), 1))
}
