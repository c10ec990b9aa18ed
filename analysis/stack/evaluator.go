package stack

import "github.com/dumpmap/dumpmap/analysis/breakpad"

// builtinEvaluator runs STACK WIN programs with package breakpad's postfix
// evaluator (Breakpad's PostfixEvaluator semantics), 32-bit as x86 requires.
type builtinEvaluator struct{}

func (builtinEvaluator) Evaluate(program string, vars map[string]uint64, mem MemoryReader) (map[string]uint64, error) {
	e := breakpad.Evaluator{Vars: make(breakpad.Registers, len(vars)+4), Memory: mem, Width: 4}
	for k, v := range vars {
		e.Vars[k] = v
	}
	if err := e.Run(program); err != nil {
		return nil, err
	}
	out := make(map[string]uint64, len(e.Assigned))
	for k := range e.Assigned {
		out[k] = e.Vars[k]
	}
	return out, nil
}
