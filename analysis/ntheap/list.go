package ntheap

import "fmt"

// walkList follows the doubly linked LIST_ENTRY whose head is at head: fn gets the
// address of each link (not of the structure holding it) until the list comes back
// to head. It stops, with an error saying where, when a link is not captured, when
// a node's Blink does not point back at the previous node, when it meets a cycle
// that does not pass through the head (Brent's algorithm: constant memory) or when
// it has visited max nodes.
func (m *mem) walkList(head uint64, max int, what string, fn func(link uint64) bool) error {
	ptr := uint64(m.ptr)
	first, err := m.ptrAt(head, what+" list head")
	if err != nil {
		return err
	}
	prev := head
	cur := first
	// Brent: tortoise jumps to the hare at powers of two.
	tortoise, power, lam := cur, 1, 0
	for n := 0; cur != head; n++ {
		if n >= max {
			return fmt.Errorf("%s list at %#x: more than %d entries (a cycle or damage)", what, head, max)
		}
		if cur == 0 {
			return fmt.Errorf("%s list at %#x: a null link after %#x", what, head, prev)
		}
		var pair [16]byte
		b := pair[:2*ptr]
		if err := m.cached(b, cur, what+" list entry"); err != nil {
			return err
		}
		next, back := le(b, 0, m.ptr), le(b, ptr, m.ptr)
		if back != prev {
			return fmt.Errorf("%s list entry at %#x: its Blink is %#x, not the previous entry %#x (damaged list)", what, cur, back, prev)
		}
		if !fn(cur) {
			return nil
		}
		prev, cur = cur, next
		if cur == tortoise && cur != head {
			return fmt.Errorf("%s list at %#x: the entry at %#x leads back to itself without reaching the head (a cycle)", what, head, cur)
		}
		lam++
		if lam == power {
			tortoise, power, lam = cur, power*2, 0
		}
	}
	return nil
}
