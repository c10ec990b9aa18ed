package main

import (
	"bufio"
	"cmp"
	"embed"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"

	"github.com/dumpmap/dumpmap/analysis/render"
	"github.com/spf13/pflag"
)

// A command is one `dumpmap NAME` subcommand. Each lives in its own cmd_NAME.go file
// and registers itself from an init function:
//
//	func init() {
//		register(&command{
//			name:    "threads",
//			summary: "list the threads: id, TEB, stack, context, name",
//			args:    []string{"FILE"},
//			setup: func(fs *pflag.FlagSet) runFunc {
//				long := fs.BoolP("long", "l", false, "show every field")
//				return func(e *env, args []string) error { ... }
//			},
//		})
//	}
//
// The framework gives every command a FlagSet with --json and --help, checks the
// number of positional arguments against args, turns errors into exit codes, and
// prints help from name, summary, args, the command's help file and the flags' own
// usage strings. The long help of command NAME is the file help/NAME.txt: prose
// a writer edits as text, embedded in the binary.
type command struct {
	name    string
	summary string // one line, lower case, no final period: shown by `dumpmap --help`
	// args names the positional arguments, used for the usage line and for checking
	// the count: "FILE" is required, "[LEN]" optional, "PATH..." one or more and
	// "[PATH...]" any number.
	args []string
	// noJSON leaves out the common --json flag (for a command whose output is not
	// data, such as one that writes files with its own --format).
	noJSON bool
	// setup defines the command's own flags on fs and returns the function that runs
	// the command once fs is parsed.
	setup func(fs *pflag.FlagSet) runFunc
}

// runFunc runs a command with its positional arguments. An error it returns is
// printed and turned into an exit code by exitCode.
type runFunc func(e *env, args []string) error

// env is what a running command gets: where to write, and the common flags.
type env struct {
	stdout io.Writer
	stderr io.Writer
	json   bool // --json
	cmd    *command
}

var commands = map[string]*command{}

// register adds a command; it panics on a duplicate name, a programming error caught
// by every test run.
func register(c *command) {
	if _, dup := commands[c.name]; dup {
		panic("dumpmap: command registered twice: " + c.name)
	}
	commands[c.name] = c
}

// sortedCommands returns the commands in the order `dumpmap --help` lists them.
func sortedCommands() []*command {
	rank := func(c *command) int {
		if i := slices.Index(commandOrder, c.name); i >= 0 {
			return i
		}
		return len(commandOrder)
	}
	out := slices.Collect(maps.Values(commands))
	slices.SortFunc(out, func(a, b *command) int {
		return cmp.Or(cmp.Compare(rank(a), rank(b)), strings.Compare(a.name, b.name))
	})
	return out
}

// commandOrder is the order of the command list in `dumpmap --help`: from a first
// look at a dump to the analyses. Commands not named here follow alphabetically.
var commandOrder = []string{
	"info", "streams", "modules", "threads", "stack", "memory", "read",
	"regions", "summary", "frag", "explain", "symbols", "heaps", "report", "triage",
}

// usageLine returns "dumpmap NAME [flags] ARGS...".
func (c *command) usageLine() string {
	parts := []string{"dumpmap", c.name, "[flags]"}
	parts = append(parts, c.args...)
	return strings.Join(parts, " ")
}

// flagSet returns a fresh FlagSet with the common flags and the command's own, and
// the function to run once it is parsed.
func (c *command) flagSet(e *env) (*pflag.FlagSet, runFunc) {
	fs := pflag.NewFlagSet("dumpmap "+c.name, pflag.ContinueOnError)
	fs.SetOutput(io.Discard) // errors are reported by run, help by printHelp
	fs.SortFlags = false
	var run runFunc
	if c.setup != nil {
		run = c.setup(fs)
	}
	if !c.noJSON {
		fs.BoolVar(&e.json, "json", false, "print one JSON object on stdout (shapes: docs/cli-json.md)")
	}
	fs.BoolP("help", "h", false, "show this help")
	return fs, run
}

// checkArgs checks the number of positional arguments against c.args.
func (c *command) checkArgs(args []string) error {
	need, most := 0, 0 // most < 0: no limit
	for _, a := range c.args {
		optional := strings.HasPrefix(a, "[")
		variadic := strings.HasSuffix(strings.TrimSuffix(a, "]"), "...")
		if !optional {
			need++
		}
		if variadic {
			most = -1
		} else if most >= 0 {
			most++
		}
	}
	if len(args) < need {
		missing := c.args[len(args)]
		return usageErrorf("missing %s", strings.TrimSuffix(missing, "..."))
	}
	if most >= 0 && len(args) > most {
		return usageErrorf("unexpected argument %q", args[most])
	}
	return nil
}

// printHelp writes the command's full help.
func (c *command) printHelp(w io.Writer) {
	var e env
	fs, _ := c.flagSet(&e)
	fmt.Fprintf(w, "Usage: %s\n\n", c.usageLine())
	fmt.Fprintf(w, "%s.\n", strings.ToUpper(c.summary[:1])+c.summary[1:])
	if h := strings.TrimSpace(c.help()); h != "" {
		fmt.Fprintf(w, "\n%s\n", h)
	}
	fmt.Fprintf(w, "\nFlags:\n%s", flagUsages(fs))
}

// helpFiles holds the commands' long help texts, help/NAME.txt: the description
// printed by `dumpmap help NAME` after the usage line and before the flags, ending
// with examples.
//
//go:embed help/*.txt
var helpFiles embed.FS

// help returns the command's long help text.
func (c *command) help() string {
	b, _ := helpFiles.ReadFile("help/" + c.name + ".txt")
	return string(b)
}

// flagUsages lists the flags as "  -c, --cols int   bytes per line (default 16)".
// pflag's own listing writes boolean flags as "--json[=true|false]", which reads
// as if the value were required.
func flagUsages(fs *pflag.FlagSet) string {
	type entry struct{ left, usage string }
	var es []entry
	width := 0
	fs.VisitAll(func(f *pflag.Flag) {
		if f.Hidden {
			return
		}
		left := "    "
		if f.Shorthand != "" {
			left = "-" + f.Shorthand + ", "
		}
		left += "--" + f.Name
		varname, usage := pflag.UnquoteUsage(f)
		if f.Value.Type() != "bool" && varname != "" {
			left += " " + varname
		}
		if d := f.DefValue; d != "" && d != "false" && d != "0" && d != "[]" && f.Value.Type() != "bool" {
			if f.Value.Type() == "string" {
				d = fmt.Sprintf("%q", d)
			}
			usage += " (default " + d + ")"
		}
		es = append(es, entry{left, usage})
		width = max(width, len(left))
	})
	var b strings.Builder
	for _, e := range es {
		fmt.Fprintf(&b, "  %-*s   %s\n", width, e.left, e.usage)
	}
	return b.String()
}

// A usageError is a mistake in the command line: exit code 2.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usageErrorf(format string, args ...any) error {
	return &usageError{msg: fmt.Sprintf(format, args...)}
}

// A fileError is a file that could not be analysed: exit code 1, printed as
// "dumpmap: FILE: what went wrong".
type fileError struct {
	file string
	err  error
}

func (e *fileError) Error() string { return render.Clean(e.file + ": " + render.Describe(e.err)) }
func (e *fileError) Unwrap() error { return e.err }

// Exit codes.
const (
	exitOK    = 0
	exitFile  = 1 // the file could not be analysed
	exitUsage = 2 // unknown command or flag, missing or bad argument
)

// exitCode prints err the way the CLI reports errors and returns the exit code.
func exitCode(stderr io.Writer, c *command, err error) int {
	if err == nil {
		return exitOK
	}
	var ue *usageError
	if errors.As(err, &ue) {
		if c != nil {
			fmt.Fprintf(stderr, "dumpmap %s: %s\nUsage: %s\nRun 'dumpmap help %s' for details.\n", c.name, ue.msg, c.usageLine(), c.name)
		} else {
			fmt.Fprintf(stderr, "dumpmap: %s\nRun 'dumpmap --help' for usage.\n", ue.msg)
		}
		return exitUsage
	}
	fmt.Fprintf(stderr, "dumpmap: %s\n", err.Error())
	return exitFile
}

// write writes a command's output: its JSON object with --json, else its text.
func (e *env) write(o render.Output) error {
	// One buffer for the whole output: the renderers write a table or a line at a
	// time, each a system call on an unbuffered stdout (26 for a summary).
	bw := bufio.NewWriterSize(e.stdout, 64<<10)
	var err error
	if e.json {
		err = o.WriteJSON(bw)
	} else {
		err = o.WriteText(bw)
	}
	if ferr := bw.Flush(); err == nil {
		err = ferr
	}
	return err
}
