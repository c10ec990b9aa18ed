package main

import (
	"bufio"
	"bytes"
	"os"
	"strings"
	"testing"
)

// TestReadmeOutputs keeps every command output the README quotes equal to what
// the command prints today. Each quoted output is a fenced block without a
// language, preceded by a comment naming the command that prints it:
//
//	<!-- output: dumpmap explain testdata/fixtures/dumps/oom-heap-full.dmp.xz -->
//
// Every such block must have one (a quoted output nobody checks drifts); the
// command runs in-process from the repository's root. Blocks with a language
// (```go) are code, not outputs.
func TestReadmeOutputs(t *testing.T) {
	for _, doc := range []string{"../../README.md"} {
		blocks, err := quotedOutputs(doc)
		if err != nil {
			t.Fatal(err)
		}
		if len(blocks) == 0 {
			t.Fatalf("%s quotes no command output", doc)
		}
		for _, b := range blocks {
			t.Run(b.command, func(t *testing.T) {
				if b.command == "" {
					t.Fatalf("%s:%d: an output block without an <!-- output: dumpmap ... --> comment", doc, b.line)
				}
				args := strings.Fields(strings.TrimPrefix(b.command, "dumpmap "))
				for i, a := range args {
					if strings.HasPrefix(a, "testdata/") {
						args[i] = "../../" + a
					}
				}
				var out, errb bytes.Buffer
				if code := run(args, &out, &errb); code != 0 {
					t.Fatalf("%s:%d: %s: exit %d: %s", doc, b.line, b.command, code, errb.String())
				}
				got := strings.ReplaceAll(out.String(), "../../testdata/", "testdata/")
				if got != b.text {
					t.Errorf("%s:%d: the output of %s has changed; now:\n%s", doc, b.line, b.command, got)
				}
			})
		}
	}
}

type quotedOutput struct {
	command string // "" when the block has no comment
	line    int
	text    string
}

// quotedOutputs returns the fenced blocks without a language in a Markdown file,
// with the command of the comment right before each.
func quotedOutputs(path string) ([]quotedOutput, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []quotedOutput
	var cur *quotedOutput
	var pending string
	inCode := false
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		switch {
		case cur != nil && line == "```":
			out = append(out, *cur)
			cur = nil
		case cur != nil:
			cur.text += line + "\n"
		case inCode && strings.HasPrefix(line, "```"):
			inCode = false
		case inCode:
		case line == "```":
			cur = &quotedOutput{command: pending, line: n}
			pending = ""
		case strings.HasPrefix(line, "```"):
			inCode = true
			pending = ""
		case strings.HasPrefix(line, "<!-- output: ") && strings.HasSuffix(line, " -->"):
			pending = strings.TrimSuffix(strings.TrimPrefix(line, "<!-- output: "), " -->")
		case strings.TrimSpace(line) != "":
			pending = ""
		}
	}
	return out, sc.Err()
}
