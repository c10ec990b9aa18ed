package breakpad

import (
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// MaxStack bounds the evaluation stack of a postfix program.
const MaxStack = 64

// maxTokens bounds the tokens of one program or rule.
const maxTokens = 4096

// Memory reads the target's memory at virtual addresses. *minidump.Memory
// satisfies it.
type Memory interface {
	ReadAt(p []byte, addr uint64) (int, error)
}

// Registers holds register values by Breakpad name: "$eip", "$esp", "$ebp"
// (x86), "$rip", "$rsp" (amd64), "pc", "sp", "x29" (arm64), "r11", "lr"
// (arm), pseudo-registers ".cfa" and ".ra", and program variables "$T0".
// A register that is absent is unknown.
type Registers map[string]uint64

// Clone returns a copy of r.
func (r Registers) Clone() Registers {
	c := make(Registers, len(r))
	for k, v := range r {
		c[k] = v
	}
	return c
}

// EvalError reports why a postfix program or expression failed.
type EvalError struct {
	Expr string // the program or expression
	Msg  string
	Err  error // ErrMemory for an unreadable dereference, else nil
}

// Unwrap returns Err.
func (e *EvalError) Unwrap() error { return e.Err }

func (e *EvalError) Error() string {
	return fmt.Sprintf("breakpad: postfix %q: %s", truncate(e.Expr), e.Msg)
}

// ErrMemory is wrapped by an EvalError when a dereference could not read
// memory.
var ErrMemory = errors.New("memory not readable")

// Evaluator runs Breakpad postfix programs (STACK WIN program strings) and
// expressions (STACK CFI rules), with the semantics of Breakpad's
// PostfixEvaluator (src/processor/postfix_evaluator-inl.h):
//
//   - tokens are separated by white space; "=" glued to the next token
//     ("=$ebp") is split;
//   - a decimal number (optionally with a leading '-') is a literal; any
//     other token is an identifier, looked up in Vars when its value is
//     needed;
//   - + - * / % pop two values and push the result, in machine arithmetic
//     of Width bytes (so "$esp 4 -" wraps at 2^32 on x86); @ aligns:
//     a b @ is a & ^(b-1);
//   - ^ pops an address and pushes the Width-byte little-endian value
//     read there;
//   - = pops a value and an identifier, which must start with '$', and
//     assigns.
//
// Division by zero, a stack over MaxStack, an unknown identifier and an
// unreadable address are errors. The zero Evaluator is not usable: set
// Width to 4 or 8.
type Evaluator struct {
	Vars   Registers
	Memory Memory // nil: ^ fails
	Width  int    // 4 or 8 bytes
	// Assigned records the variables the last Run assigned.
	Assigned map[string]bool

	stack []operand
}

type operand struct {
	ident string // non-empty: an identifier not yet resolved
	val   uint64
}

func (e *Evaluator) mask(v uint64) uint64 {
	if e.Width == 4 {
		return v & 0xFFFFFFFF
	}
	return v
}

// Run executes a program, which must leave the stack empty (Breakpad's
// Evaluate).
func (e *Evaluator) Run(program string) error {
	e.Assigned = map[string]bool{}
	if err := e.exec(program); err != nil {
		return err
	}
	if len(e.stack) != 0 {
		return &EvalError{Expr: program, Msg: "incomplete execution: values left on the stack"}
	}
	return nil
}

// Value evaluates an expression, which must leave exactly one value
// (Breakpad's EvaluateForValue).
func (e *Evaluator) Value(expr string) (uint64, error) {
	e.Assigned = nil
	if err := e.exec(expr); err != nil {
		return 0, err
	}
	if len(e.stack) != 1 {
		return 0, &EvalError{Expr: expr, Msg: fmt.Sprintf("expression left %d values, want 1", len(e.stack))}
	}
	return e.pop(expr)
}

func (e *Evaluator) exec(prog string) error {
	if e.Width != 4 && e.Width != 8 {
		return &EvalError{Expr: prog, Msg: fmt.Sprintf("word width %d (want 4 or 8)", e.Width)}
	}
	e.stack = e.stack[:0]
	n := 0
	for tok := range strings.FieldsSeq(prog) {
		if n++; n > maxTokens {
			return &EvalError{Expr: prog, Msg: fmt.Sprintf("more than %d tokens", maxTokens)}
		}
		if len(tok) > 1 && tok[0] == '=' {
			if err := e.token("=", prog); err != nil {
				return err
			}
			tok = tok[1:]
		}
		if err := e.token(tok, prog); err != nil {
			return err
		}
	}
	return nil
}

func (e *Evaluator) push(o operand, prog string) error {
	if len(e.stack) >= MaxStack {
		return &EvalError{Expr: prog, Msg: fmt.Sprintf("stack deeper than %d", MaxStack)}
	}
	e.stack = append(e.stack, o)
	return nil
}

// pop returns the top value, resolving an identifier through Vars.
func (e *Evaluator) pop(prog string) (uint64, error) {
	if len(e.stack) == 0 {
		return 0, &EvalError{Expr: prog, Msg: "stack underflow"}
	}
	o := e.stack[len(e.stack)-1]
	e.stack = e.stack[:len(e.stack)-1]
	if o.ident == "" {
		return o.val, nil
	}
	v, ok := e.Vars[o.ident]
	if !ok {
		return 0, &EvalError{Expr: prog, Msg: fmt.Sprintf("identifier %q is not defined", truncate(o.ident))}
	}
	return e.mask(v), nil
}

func (e *Evaluator) token(tok, prog string) error {
	switch tok {
	case "+", "-", "*", "/", "%", "@":
		b, err := e.pop(prog)
		if err != nil {
			return err
		}
		a, err := e.pop(prog)
		if err != nil {
			return err
		}
		var r uint64
		switch tok {
		case "+":
			r = a + b
		case "-":
			r = a - b
		case "*":
			r = a * b
		case "/":
			if b == 0 {
				return &EvalError{Expr: prog, Msg: "division by zero"}
			}
			r = a / b
		case "%":
			if b == 0 {
				return &EvalError{Expr: prog, Msg: "modulus by zero"}
			}
			r = a % b
		case "@":
			r = a & ^(b - 1)
		}
		return e.push(operand{val: e.mask(r)}, prog)
	case "^":
		addr, err := e.pop(prog)
		if err != nil {
			return err
		}
		if e.Memory == nil {
			return &EvalError{Expr: prog, Msg: "dereference without memory"}
		}
		var buf [8]byte
		n, err := e.Memory.ReadAt(buf[:e.Width], addr)
		if n < e.Width {
			if err == nil {
				err = ErrMemory
			}
			return &EvalError{Expr: prog, Msg: fmt.Sprintf("memory not readable at %#x: %v", addr, err), Err: ErrMemory}
		}
		v := uint64(binary.LittleEndian.Uint32(buf[:]))
		if e.Width == 8 {
			v = binary.LittleEndian.Uint64(buf[:])
		}
		return e.push(operand{val: v}, prog)
	case "=":
		v, err := e.pop(prog)
		if err != nil {
			return err
		}
		if len(e.stack) == 0 {
			return &EvalError{Expr: prog, Msg: "assignment without a target"}
		}
		t := e.stack[len(e.stack)-1]
		e.stack = e.stack[:len(e.stack)-1]
		if t.ident == "" || t.ident[0] != '$' {
			return &EvalError{Expr: prog, Msg: "assignment target is not a $ variable"}
		}
		if e.Vars == nil {
			e.Vars = Registers{}
		}
		e.Vars[t.ident] = v
		if e.Assigned != nil {
			e.Assigned[t.ident] = true
		}
		return nil
	}
	if v, ok := literal(tok); ok {
		return e.push(operand{val: e.mask(v)}, prog)
	}
	return e.push(operand{ident: tok}, prog)
}

// literal parses a decimal literal with an optional leading '-', as
// Breakpad's istream extraction of an unsigned value does; a negative value
// wraps.
func literal(tok string) (uint64, bool) {
	neg := false
	s := tok
	if s != "" && s[0] == '-' {
		neg, s = true, s[1:]
	}
	if s == "" || s[0] < '0' || s[0] > '9' {
		return 0, false
	}
	v, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		return 0, false
	}
	if neg {
		v = -v
	}
	return v, true
}
