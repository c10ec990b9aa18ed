package breakpad

import (
	"errors"
	"fmt"
	"slices"
	"strings"
)

// maxCFIDeltas bounds the STACK CFI delta records applied for one lookup.
// Real functions have at most a few hundred; a hostile file could put
// millions under one INIT record.
const maxCFIDeltas = 1 << 16

// maxRules bounds the registers named in one rule set.
const maxRules = 256

type cfiInit struct {
	addr, size uint64
	rules      string
	deltas     []cfiDelta // sorted by addr, inside [addr, addr+size)
}

type cfiDelta struct {
	addr  uint64
	rules string
}

// cfiInit parses "address size rules...".
func (p *parser) cfiInit(rest string) {
	f := strings.SplitN(rest, " ", 3)
	if len(f) < 3 {
		p.bad("STACK CFI INIT record needs address, size and rules")
		return
	}
	addr, ok1 := parseHex(f[0])
	size, ok2 := parseHex(f[1])
	if !ok1 || !ok2 {
		p.bad("bad number in STACK CFI INIT record")
		return
	}
	p.cfi = append(p.cfi, cfiInit{addr: addr, size: size, rules: f[2]})
}

// cfiDelta parses "address rules...". Deltas follow their INIT record in
// every dump_syms output; one that does not is attached to the INIT record
// whose range holds it when the tables are sorted.
func (p *parser) cfiDelta(rest string) {
	a, rules, ok := strings.Cut(rest, " ")
	addr, ok2 := parseHex(a)
	if !ok || !ok2 {
		p.bad("bad STACK CFI record")
		return
	}
	if n := len(p.cfi); n > 0 && p.cfi[n-1].addr <= addr && addr-p.cfi[n-1].addr < p.cfi[n-1].size {
		last := &p.cfi[n-1]
		last.deltas = append(last.deltas, cfiDelta{addr, rules})
		return
	}
	p.bad("STACK CFI record at %#x outside the preceding INIT record", addr)
}

// CFIRules is the set of STACK CFI rules in effect at an address: the INIT
// record's rules with the deltas up to the address applied. Each rule is a
// postfix expression computing the caller's value of a register from the
// callee's registers (and .cfa).
type CFIRules struct {
	// CFA computes the canonical frame address; RA the return address.
	CFA, RA string
	// Regs are the other registers' rules, in name order.
	Regs []Rule
	// Start is the address of the INIT record, End the end of its range.
	Start, End uint64
}

// Rule is one register's recovery rule.
type Rule struct {
	Reg, Expr string
}

// Rule returns the expression for reg (".cfa", ".ra" or a register).
func (r *CFIRules) Rule(reg string) (string, bool) {
	switch reg {
	case ".cfa":
		return r.CFA, r.CFA != ""
	case ".ra":
		return r.RA, r.RA != ""
	}
	i, ok := slices.BinarySearchFunc(r.Regs, reg, func(x Rule, n string) int { return strings.Compare(x.Reg, n) })
	if !ok {
		return "", false
	}
	return r.Regs[i].Expr, true
}

// String formats the rules as a STACK CFI rule set, .cfa and .ra first
// (the form of Breakpad's CFIFrameInfo::Serialize).
func (r *CFIRules) String() string {
	var parts []string
	if r.CFA != "" {
		parts = append(parts, ".cfa: "+r.CFA)
	}
	if r.RA != "" {
		parts = append(parts, ".ra: "+r.RA)
	}
	for _, x := range r.Regs {
		parts = append(parts, x.Reg+": "+x.Expr)
	}
	return strings.Join(parts, " ")
}

var errNoCFI = errors.New("breakpad: no STACK CFI record covers the address")

// CFIRulesAt returns the rules in effect at rva: the STACK CFI INIT record
// whose range holds rva, with every delta record at or below rva applied in
// address order (symbol_files.md; Breakpad's FindCFIFrameInfo). It fails
// when no record covers rva or a rule set is malformed.
func (f *File) CFIRulesAt(rva uint64) (CFIRules, error) {
	i, _ := slices.BinarySearchFunc(f.cfi, rva, func(c cfiInit, a uint64) int {
		if c.addr <= a {
			return -1
		}
		return 1
	})
	i--
	if i < 0 || rva-f.cfi[i].addr >= f.cfi[i].size {
		return CFIRules{}, errNoCFI
	}
	init := &f.cfi[i]
	m := map[string]string{}
	if err := parseRuleSet(init.rules, m); err != nil {
		return CFIRules{}, fmt.Errorf("breakpad: STACK CFI INIT %x: %w", init.addr, err)
	}
	applied := 0
	for _, d := range init.deltas {
		if d.addr > rva {
			break
		}
		if applied++; applied > maxCFIDeltas {
			return CFIRules{}, fmt.Errorf("breakpad: STACK CFI INIT %x: more than %d delta records", init.addr, maxCFIDeltas)
		}
		if err := parseRuleSet(d.rules, m); err != nil {
			return CFIRules{}, fmt.Errorf("breakpad: STACK CFI %x: %w", d.addr, err)
		}
	}
	r := CFIRules{Start: init.addr, End: init.addr + init.size}
	r.CFA, r.RA = m[".cfa"], m[".ra"]
	delete(m, ".cfa")
	delete(m, ".ra")
	for k, v := range m {
		r.Regs = append(r.Regs, Rule{k, v})
	}
	slices.SortFunc(r.Regs, func(a, b Rule) int { return strings.Compare(a.Reg, b.Reg) })
	return r, nil
}

// NumCFI returns the number of STACK CFI INIT records.
func (f *File) NumCFI() int { return len(f.cfi) }

// parseRuleSet adds "name: expr name: expr ..." to m, later names
// replacing earlier ones. As in Breakpad's CFIRuleParser, a token ending in
// ':' starts a rule, other tokens extend its expression, and a rule set with
// an empty name or expression is malformed.
func parseRuleSet(s string, m map[string]string) error {
	name := ""
	var expr []string
	report := func() error {
		if name == "" || len(expr) == 0 {
			return fmt.Errorf("malformed rule set %q", truncate(s))
		}
		if _, ok := m[name]; !ok && len(m) >= maxRules {
			return fmt.Errorf("more than %d registers in rule set", maxRules)
		}
		m[name] = strings.Join(expr, " ")
		return nil
	}
	for _, tok := range strings.Fields(s) {
		if strings.HasSuffix(tok, ":") {
			if len(tok) < 2 {
				return fmt.Errorf("empty register name in %q", truncate(s))
			}
			if name != "" || len(expr) > 0 {
				if err := report(); err != nil {
					return err
				}
			}
			name, expr = tok[:len(tok)-1], expr[:0]
			continue
		}
		expr = append(expr, tok)
	}
	return report()
}

func truncate(s string) string {
	if len(s) > 80 {
		return s[:80] + "..."
	}
	return s
}
