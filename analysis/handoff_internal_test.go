package analysis

import (
	"math/rand/v2"
	"runtime"
	"testing"
	"time"
)

// TestMoveSecondHandoff runs the split layout's handoff alone: a second half
// appends regions to full[top:] and publishes them in random steps (sometimes
// with its last one still open, sometimes running out of its part), while the
// first moves them behind its own regions and sleeps in between; then the join.
// Every region must end up once, in order, and neither side may wait forever
// (the test would time out). Under -race (.ci/run) it also wants the two sides
// never to touch the same memory unsynchronised: before ensureRoom, append
// moved a second half that outgrew its part while the first wrote there.
func TestMoveSecondHandoff(t *testing.T) {
	defer func(v int64) { wakeEvery = v }(wakeEvery)
	relocated := 0
	for seed := range uint64(400) {
		r := rand.New(rand.NewPCG(seed, 13))
		wakeEvery = []int64{1, 2, 7, 64, 8192}[r.IntN(5)]
		k1, k2 := r.IntN(300), r.IntN(3000)
		top := k1 + r.IntN(200)
		room := k2 + r.IntN(50)
		if r.IntN(4) == 0 {
			room = r.IntN(k2 + 1) // the second half runs out of its part
		}
		full := make([]Region, top+room)
		for i := range k1 {
			full[i] = Region{Base: uint64(i)}
		}
		l := &layout{out: full[:k1:top]}
		l2 := &layout{out: full[top:top]}
		s := &secondProgress{wake: make(chan struct{}, 1)}
		moved := make(chan int)
		var late time.Duration // the first half still laying out
		if r.IntN(3) == 0 {
			late = time.Duration(r.IntN(100)) * time.Microsecond
		}
		go func() {
			time.Sleep(late)
			moved <- l.moveSecond(full, top, s)
		}()
		for i := 0; i < k2; {
			step := 1 + r.IntN(200)
			l2.ensureRoom(full, top, s, step)
			for ; step > 0 && i < k2; step-- {
				l2.out = append(l2.out, Region{Base: uint64(k1 + i)})
				i++
			}
			l2.inFree = r.IntN(3) == 0 // the last region may still change
			l2.publish(full, top, s, false)
			if r.IntN(4) == 0 {
				runtime.Gosched()
			}
			if r.IntN(50) == 0 {
				time.Sleep(10 * time.Microsecond)
			}
		}
		l2.inFree = false
		l2.publish(full, top, s, true)
		m := <-moved
		if s.n.Load() < 0 {
			relocated++
		}
		l.join(l2, full, top, m)
		if len(l.out) != k1+k2 {
			t.Fatalf("seed %d: %d regions joined, want %d", seed, len(l.out), k1+k2)
		}
		for i := range k1 + k2 {
			if l.out[i].Base != uint64(i) {
				t.Fatalf("seed %d (k1 %d, k2 %d, top %d, room %d, moved %d, wake every %d): region %d is %d",
					seed, k1, k2, top, room, m, wakeEvery, i, l.out[i].Base)
			}
		}
	}
	if relocated < 20 {
		t.Fatalf("only %d second halves ran out of their part", relocated)
	}
}
