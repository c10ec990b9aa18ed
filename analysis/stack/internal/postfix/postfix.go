// Package postfix evaluates the postfix programs of Breakpad's "STACK WIN"
// records, such as "$T0 $ebp = $eip $T0 4 + ^ = $ebp $T0 ^ = $esp $T0 8 + =".
//
// It is deliberately minimal: 32-bit values, the operators + - * / % @ (align
// down) and ^ (read 32 bits of memory), assignment with =, decimal (or 0x hex)
// literals and $ or . variables. The stack walker uses it until a complete
// evaluator (with the Breakpad symbol-file reader) is plugged in through
// stack.Options.Evaluator.
package postfix

import (
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Limits keep hostile programs cheap.
const (
	maxTokens = 1024
	maxDepth  = 64
)

// Reader reads memory by virtual address.
type Reader interface {
	ReadAt(p []byte, va uint64) (int, error)
}

type value struct {
	ident string // an identifier not yet resolved (the target of =)
	v     uint32
	isVal bool
}

// Evaluate runs program with the variables vars and returns the variables it
// assigned. The program fails on an unknown variable, a division by zero, an
// unreadable address, a malformed token or a value left on the stack.
func Evaluate(program string, vars map[string]uint64, mem Reader) (map[string]uint64, error) {
	toks := strings.Fields(program)
	if len(toks) > maxTokens {
		return nil, fmt.Errorf("postfix: %d tokens (limit %d)", len(toks), maxTokens)
	}
	env := make(map[string]uint32, len(vars)+4)
	for k, v := range vars {
		env[k] = uint32(v)
	}
	out := map[string]uint64{}
	var st []value
	pop := func() (uint32, error) {
		if len(st) == 0 {
			return 0, errors.New("postfix: stack underflow")
		}
		x := st[len(st)-1]
		st = st[:len(st)-1]
		if x.isVal {
			return x.v, nil
		}
		v, ok := env[x.ident]
		if !ok {
			return 0, fmt.Errorf("postfix: %s is not set", x.ident)
		}
		return v, nil
	}
	for _, t := range toks {
		switch t {
		case "+", "-", "*", "/", "%", "@":
			b, err := pop()
			if err != nil {
				return nil, err
			}
			a, err := pop()
			if err != nil {
				return nil, err
			}
			var r uint32
			switch t {
			case "+":
				r = a + b
			case "-":
				r = a - b
			case "*":
				r = a * b
			case "/", "%":
				if b == 0 {
					return nil, errors.New("postfix: division by zero")
				}
				if t == "/" {
					r = a / b
				} else {
					r = a % b
				}
			case "@":
				if b == 0 {
					return nil, errors.New("postfix: alignment of 0")
				}
				r = a &^ (b - 1)
			}
			st = append(st, value{v: r, isVal: true})
		case "^":
			a, err := pop()
			if err != nil {
				return nil, err
			}
			var buf [4]byte
			if mem == nil {
				return nil, errors.New("postfix: no memory to read")
			}
			if n, err := mem.ReadAt(buf[:], uint64(a)); err != nil || n < 4 {
				return nil, fmt.Errorf("postfix: cannot read %#x", a)
			}
			st = append(st, value{v: binary.LittleEndian.Uint32(buf[:]), isVal: true})
		case "=":
			v, err := pop()
			if err != nil {
				return nil, err
			}
			if len(st) == 0 || st[len(st)-1].isVal {
				return nil, errors.New("postfix: = without a variable to assign")
			}
			id := st[len(st)-1].ident
			st = st[:len(st)-1]
			env[id] = v
			out[id] = uint64(v)
		default:
			if t[0] == '$' || t[0] == '.' {
				st = append(st, value{ident: t})
				break
			}
			n, err := strconv.ParseInt(t, 0, 64)
			if err != nil || n < -(1<<31) || n > 1<<32-1 {
				return nil, fmt.Errorf("postfix: bad token %q", t)
			}
			st = append(st, value{v: uint32(n), isVal: true})
		}
		if len(st) > maxDepth {
			return nil, errors.New("postfix: stack too deep")
		}
	}
	if len(st) != 0 {
		return nil, fmt.Errorf("postfix: %d values left on the stack", len(st))
	}
	return out, nil
}
