package stack

import "github.com/dumpmap/dumpmap/analysis/stack/internal/postfix"

// builtinEvaluator runs STACK WIN programs with the minimal evaluator in
// internal/postfix, until a complete one is supplied in Options.Evaluator.
type builtinEvaluator struct{}

func (builtinEvaluator) Evaluate(program string, vars map[string]uint64, mem MemoryReader) (map[string]uint64, error) {
	return postfix.Evaluate(program, vars, mem)
}
