package engine

import (
	"math/rand"
	"testing"
	"time"
)

// TestRingOrder passes many more entries than the ring holds between two
// goroutines, the producer flushing at odd moments and the consumer
// sometimes slower, sometimes faster: every entry must arrive once, in
// order, and get must report the end only after the last one.
func TestRingOrder(t *testing.T) {
	for _, size := range []int{8, 64, 1024} {
		q := newRing(size)
		const n = 200_000
		go func() {
			rng := rand.New(rand.NewSource(1))
			for i := range uint64(n) {
				if !q.put(i) {
					panic("put refused an entry with the consumer running")
				}
				if rng.Intn(97) == 0 {
					q.flush()
				}
			}
			q.close()
		}()
		rng := rand.New(rand.NewSource(2))
		var want uint64
		for {
			e, ok := q.get()
			if !ok {
				break
			}
			if e != want {
				t.Fatalf("ring of %d: get() = %d; want %d", size, e, want)
			}
			want++
			if rng.Intn(50_000) == 0 {
				// Long enough for the producer to fill the ring and park.
				time.Sleep(time.Millisecond)
			}
		}
		if want != n {
			t.Fatalf("ring of %d: got %d entries before the end; want %d", size, want, n)
		}
		if _, ok := q.get(); ok {
			t.Fatalf("ring of %d: get after the end returned an entry", size)
		}
	}
}

// TestRingFullEmpty fills a ring from one goroutine: put must not wait
// while there is room nor publish before a batch is full, and a closed ring
// must hand out what it holds before reporting the end, and say it took it
// all.
func TestRingFullEmpty(t *testing.T) {
	q := newRing(8)
	for i := range uint64(8) {
		if !q.put(i) {
			t.Fatalf("put(%d) on a ring with room returned false", i)
		}
	}
	if got := q.head.Load(); got != 0 {
		t.Fatalf("head = %d before a batch was full or flushed; want 0", got)
	}
	q.close()
	for i := range uint64(8) {
		if e, ok := q.get(); !ok || e != i {
			t.Fatalf("get() = %d, %v; want %d, true", e, ok, i)
		}
	}
	if e, ok := q.get(); ok {
		t.Fatalf("get() on a drained closed ring = %d, true; want false", e)
	}
	if got := q.tail.Load(); got != 8 {
		t.Fatalf("tail = %d once every entry was taken; want 8", got)
	}

	// A consumer that waits long enough to park is woken by the entry.
	q = newRing(8)
	got := make(chan uint64)
	go func() {
		e, _ := q.get()
		got <- e
	}()
	time.Sleep(10 * time.Millisecond)
	q.put(42)
	q.flush()
	if e := <-got; e != 42 {
		t.Fatalf("parked consumer got %d; want 42", e)
	}
}

// TestRingStop has a producer wait on a full ring whose consumer then
// stops: the producer must go on, and every later put must return false
// without waiting.
func TestRingStop(t *testing.T) {
	q := newRing(8)
	for i := range uint64(8) {
		q.put(i)
	}
	done := make(chan bool)
	go func() {
		ok := q.put(8) // the ring is full: this waits, then parks
		for i := range uint64(1000) {
			ok = ok || q.put(9+i)
		}
		done <- ok
	}()
	time.Sleep(10 * time.Millisecond)
	q.stop()
	if <-done {
		t.Fatal("put returned true after the consumer stopped")
	}
}

// TestOwners checks that groups of flows stick to the worker first chosen
// and that the walker gets less than a follower, in proportion to its
// weight, and nothing when there are many workers.
func TestOwners(t *testing.T) {
	for _, n := range []int{2, 3, 5} {
		o := newOwners(n)
		rng := rand.New(rand.NewSource(int64(n)))
		packets := make([]int, n)
		first := map[uint32]int{}
		for range 400_000 {
			h := rng.Uint32()
			h = h&^(1<<(32-ownerBits)-1) | 0x1234 // same group, other flow bits
			w := o.of(h)
			packets[w]++
			g := h >> (32 - ownerBits)
			if f, ok := first[g]; ok && f != w {
				t.Fatalf("%d workers: group %d went to worker %d, then %d", n, g, f, w)
			}
			first[g] = w
			if rng.Intn(65536) == 0 {
				o.decay()
			}
		}
		want := float64(max(0, 100-n*walkShare)) / 100
		got := float64(packets[0]) / float64(packets[1])
		if got < want-0.1 || got > want+0.1 {
			t.Errorf("%d workers: walker got %d packets, worker 1 %d (ratio %.2f); want "+
				"a ratio near %.2f", n, packets[0], packets[1], got, want)
		}
	}
}
