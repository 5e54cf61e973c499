package engine

import "sync/atomic"

// cacheLine pads the ring's fields apart, so that the producer's writes do
// not evict the line the consumer is reading, and the other way round.
const cacheLine = 64

// ringPublish is how many entries the producer writes before it publishes
// them: one atomic store per batch instead of one per entry.
const ringPublish = 32

// ringSpin is how many times a side that has to wait looks again before it
// parks. The other side is running on another core and usually catches up
// within that; parking costs both sides a system call.
const ringSpin = 4096

// ring hands uint64 entries from one goroutine to one other, in order,
// through a fixed buffer: no allocation and no channel operation per entry.
// The producer calls put, flush and close; the consumer calls get and stop.
// Each side waits, spinning a little and then parked on a channel, only
// when the ring is full or empty.
//
// head and tail count entries since the start: head those published, tail
// those the consumer is done with. Each is written by one side only.
type ring struct {
	buf  []uint64 // length a power of two
	mask uint64
	// wakeProducer and wakeConsumer carry one token to a parked side.
	wakeProducer, wakeConsumer chan struct{}

	_ [cacheLine]byte
	// Written by the producer.
	head   atomic.Uint64
	closed atomic.Bool // no entry follows head

	_ [cacheLine]byte
	// Written by the consumer.
	tail    atomic.Uint64
	stopped atomic.Bool // the consumer takes nothing more

	_ [cacheLine]byte
	// Set by a side before it parks; cleared by whichever side wakes it.
	producerParked, consumerParked atomic.Bool

	_ [cacheLine]byte
	// The producer's own: entries written, published or not, and the tail
	// it last read.
	next, seenTail uint64
	dropping       bool // stopped was seen: put discards

	_ [cacheLine]byte
	// The consumer's own: entries taken, and the head it last read.
	taken, seenHead uint64
}

// newRing returns a ring of size entries, a power of two.
func newRing(size int) *ring {
	if size <= 0 || size&(size-1) != 0 {
		panic("engine: ring size must be a power of two")
	}
	return &ring{buf: make([]uint64, size), mask: uint64(size - 1),
		wakeProducer: make(chan struct{}, 1), wakeConsumer: make(chan struct{}, 1)}
}

// put appends e, publishing every ringPublish entries. When the ring is
// full it publishes and waits for room. Once the consumer has stopped,
// nothing put is taken any more, and put returns false instead of waiting
// when the ring is full.
func (q *ring) put(e uint64) bool {
	if q.next-q.seenTail > q.mask && !q.room() {
		return false
	}
	q.buf[q.next&q.mask] = e
	q.next++
	if q.next%ringPublish == 0 {
		q.flush()
	}
	return true
}

// room waits until the ring has room for one entry, and reports false if
// the consumer stopped instead.
func (q *ring) room() bool {
	for spin := 0; !q.dropping; spin++ {
		q.seenTail = q.tail.Load()
		if q.next-q.seenTail <= q.mask {
			return true
		}
		if q.stopped.Load() {
			q.dropping = true
			break
		}
		if spin == 0 {
			// The consumer may be parked, waiting for these very entries.
			q.flush()
		}
		if spin < ringSpin {
			continue
		}
		q.producerParked.Store(true)
		if q.tail.Load() != q.seenTail || q.stopped.Load() {
			q.producerParked.Store(false)
			continue
		}
		<-q.wakeProducer
	}
	return false
}

// flush publishes the entries put so far and wakes the consumer if it is
// parked.
func (q *ring) flush() {
	if q.head.Load() == q.next {
		return
	}
	q.head.Store(q.next)
	wake(&q.consumerParked, q.wakeConsumer)
}

// close publishes what is left and tells the consumer that nothing follows.
// Closing a closed ring changes nothing.
func (q *ring) close() {
	q.head.Store(q.next)
	q.closed.Store(true)
	wake(&q.consumerParked, q.wakeConsumer)
}

// get returns the next entry, waiting for one if there is none, or false
// once the producer has closed the ring and every entry was taken.
func (q *ring) get() (uint64, bool) {
	if q.taken == q.seenHead && !q.wait() {
		return 0, false
	}
	e := q.buf[q.taken&q.mask]
	q.taken++
	// The entry is copied out, so its slot may be reused. Saying so every
	// so often, not once per entry, keeps the tail's line from bouncing
	// between the cores.
	if q.taken%ringPublish == 0 {
		q.tail.Store(q.taken)
		if q.producerParked.Load() {
			wake(&q.producerParked, q.wakeProducer)
		}
	}
	return e, true
}

// peek returns the entry k places after the next one, if published.
func (q *ring) peek(k uint64) (uint64, bool) {
	if q.taken+k >= q.seenHead {
		// A consumer that keeps up sees one batch at a time: look for the
		// next one, or the end of each batch would go without a peek.
		if q.seenHead = q.head.Load(); q.taken+k >= q.seenHead {
			return 0, false
		}
	}
	return q.buf[(q.taken+k)&q.mask], true
}

// wait waits until the producer publishes more entries, and reports false
// when it closed the ring instead.
func (q *ring) wait() bool {
	// The producer may be parked on a full ring that only looks full
	// because tail is behind.
	q.tail.Store(q.taken)
	wake(&q.producerParked, q.wakeProducer)
	for spin := 0; ; spin++ {
		// closed first: a producer sets it after its last head.
		closed := q.closed.Load()
		if q.seenHead = q.head.Load(); q.seenHead != q.taken {
			return true
		}
		if closed {
			return false
		}
		if spin < ringSpin {
			continue
		}
		q.consumerParked.Store(true)
		if q.head.Load() != q.taken || q.closed.Load() {
			q.consumerParked.Store(false)
			continue
		}
		<-q.wakeConsumer
	}
}

// stop tells the producer that the consumer takes nothing more: put then
// discards, and a producer waiting for room goes on.
func (q *ring) stop() {
	q.stopped.Store(true)
	wake(&q.producerParked, q.wakeProducer)
}

// wake hands a token to a side parked on ch. The parked flag is set before
// the side looks at the ring a last time, and the other side changes the
// ring before it looks at the flag: with both atomic, one of them sees the
// other's write, so no wake-up is lost. A token left over from a side that
// found work on that last look only makes its next park return early.
func wake(parked *atomic.Bool, ch chan struct{}) {
	if parked.Load() && parked.CompareAndSwap(true, false) {
		select {
		case ch <- struct{}{}:
		default:
		}
	}
}
