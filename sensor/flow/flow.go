// Package flow keeps the table of live transport flows: a bounded map from a
// flow's 5-tuple to its state, with an idle timeout measured in capture time
// and a counter for every way a flow leaves it.
//
// A Table belongs to one worker and is not safe for concurrent use; workers
// own disjoint flows (see Hash), so no locks are needed on the packet path.
package flow

import (
	"encoding/binary"
	"net/netip"
	"time"
)

// Key identifies a flow in both directions: A is the smaller endpoint, so
// a packet and its reply map to the same key.
type Key struct {
	A, B  netip.AddrPort
	Proto uint8
}

// KeyOf returns the key of a packet from src to dst, and the direction of
// the packet within the flow: 0 when src is the key's A, 1 when it is B.
func KeyOf(src, dst netip.AddrPort, proto uint8) (Key, uint8) {
	if less(dst, src) {
		return Key{A: dst, B: src, Proto: proto}, 1
	}
	return Key{A: src, B: dst, Proto: proto}, 0
}

func less(a, b netip.AddrPort) bool {
	aa, ba := a.Addr(), b.Addr()
	if aa.Is4() && ba.Is4() {
		// The usual case, ordered as Compare orders two IPv4 addresses
		// (by value), without its general path.
		x, y := aa.As4(), ba.As4()
		if u, v := binary.BigEndian.Uint32(x[:]), binary.BigEndian.Uint32(y[:]); u != v {
			return u < v
		}
		return a.Port() < b.Port()
	}
	if c := aa.Compare(ba); c != 0 {
		return c < 0
	}
	return a.Port() < b.Port()
}

// Hash spreads flows over workers. It is symmetric (both directions of a
// flow hash alike) and cheap; it need not resist an attacker, because a
// skewed spread only costs balance, not correctness.
func Hash(src, dst netip.AddrPort, proto uint8) uint32 {
	return mix(src) ^ mix(dst) ^ uint32(proto)
}

func mix(ap netip.AddrPort) uint32 {
	b := ap.Addr().As16()
	h := uint32(2166136261)
	for _, c := range b[8:] {
		h = (h ^ uint32(c)) * 16777619
	}
	h = (h ^ uint32(ap.Port())) * 16777619
	return h ^ h>>15
}

// Evict reasons, for the counters.
type Reason uint8

const (
	ReasonClosed Reason = iota // the flow ended (FIN/RST) and was removed
	ReasonIdle                 // no packet for the idle timeout
	ReasonFull                 // pushed out because the table was full
	ReasonFlush                // the capture ended
	numReasons
)

var reasonNames = [numReasons]string{"closed", "idle", "evicted_full", "flushed"}

// String returns the reason's counter name.
func (r Reason) String() string { return reasonNames[r] }

// Config bounds a table. The zero value works.
type Config struct {
	// MaxFlows is the most flows held at once. Default 262144. When the
	// table is full the least recently active flow is evicted to make room.
	MaxFlows int
	// IdleTimeout evicts a flow with no packet for this long, in capture
	// time. Default 2 minutes.
	IdleTimeout time.Duration
}

func (c *Config) maxFlows() int {
	if c.MaxFlows <= 0 {
		return 262144
	}
	return c.MaxFlows
}

func (c *Config) idle() time.Duration {
	if c.IdleTimeout <= 0 {
		return 2 * time.Minute
	}
	return c.IdleTimeout
}

// Entry is a flow's slot in the table; V is the caller's state, held inline.
type Entry[V any] struct {
	Key Key
	// LastSeen and the list links sit next to the key, which every lookup
	// reads: one cache line more, not one at the far end of Value.
	LastSeen   time.Time
	prev, next *Entry[V]
	Value      V
}

// Table maps keys to flow state, least recently used last.
type Table[V any] struct {
	cfg  Config
	m    map[Key]*Entry[V]
	head Entry[V] // sentinel: head.next is the most recent
	free []*Entry[V]
	// last is the entry Get or Insert returned last, nil once removed.
	// Consecutive packets of one flow are common (a burst of segments, a
	// request and its ACK): they skip the map and the list alike.
	last *Entry[V]

	sweepAt time.Time

	// Created counts flows added; Evicted counts them by reason.
	Created uint64
	Evicted [numReasons]uint64
}

// NewTable returns an empty table.
func NewTable[V any](cfg Config) *Table[V] {
	t := &Table[V]{cfg: cfg, m: make(map[Key]*Entry[V])}
	t.head.next = &t.head
	t.head.prev = &t.head
	return t
}

// Len returns the number of flows held.
func (t *Table[V]) Len() int { return len(t.m) }

// Get returns the entry for k, marking it active at now, or nil.
func (t *Table[V]) Get(k Key, now time.Time) *Entry[V] {
	e := t.last
	if e == nil || e.Key != k {
		if e = t.m[k]; e == nil {
			return nil
		}
		t.last = e
	}
	e.LastSeen = now
	if t.head.next != e {
		t.unlink(e)
		t.pushFront(e)
	}
	return e
}

// Insert adds a flow for k with a zero Value. When the table is full the
// least recently active flow is first handed to evict and removed.
func (t *Table[V]) Insert(k Key, now time.Time, evict func(*Entry[V], Reason)) *Entry[V] {
	if len(t.m) >= t.cfg.maxFlows() {
		old := t.head.prev
		t.Evicted[ReasonFull]++
		evict(old, ReasonFull)
		t.remove(old)
	}
	var e *Entry[V]
	if n := len(t.free); n > 0 {
		e = t.free[n-1]
		t.free = t.free[:n-1]
	} else {
		e = new(Entry[V])
	}
	e.Key = k
	e.LastSeen = now
	t.m[k] = e
	t.last = e
	t.pushFront(e)
	t.Created++
	return e
}

// Delete removes a flow the caller has finished with (reason Closed).
func (t *Table[V]) Delete(e *Entry[V]) {
	t.Evicted[ReasonClosed]++
	t.remove(e)
}

// Expire hands every flow idle since before now-IdleTimeout to evict and
// removes it. It does the walk at most once per second of capture time and
// stops at the first active flow, so calling it per packet is cheap.
func (t *Table[V]) Expire(now time.Time, evict func(*Entry[V], Reason)) {
	if now.Before(t.sweepAt) {
		return
	}
	t.sweepAt = now.Add(time.Second)
	limit := now.Add(-t.cfg.idle())
	for e := t.head.prev; e != &t.head && e.LastSeen.Before(limit); e = t.head.prev {
		t.Evicted[ReasonIdle]++
		evict(e, ReasonIdle)
		t.remove(e)
	}
}

// Flush hands every flow to evict and empties the table.
func (t *Table[V]) Flush(evict func(*Entry[V], Reason)) {
	for e := t.head.prev; e != &t.head; e = t.head.prev {
		t.Evicted[ReasonFlush]++
		evict(e, ReasonFlush)
		t.remove(e)
	}
}

func (t *Table[V]) remove(e *Entry[V]) {
	if t.last == e {
		t.last = nil
	}
	delete(t.m, e.Key)
	t.unlink(e)
	var zero V
	e.Value = zero
	// Keep a bounded number of entries for reuse: their Value fields may
	// hold buffers worth keeping warm.
	if len(t.free) < 1024 {
		t.free = append(t.free, e)
	}
}

func (t *Table[V]) unlink(e *Entry[V]) {
	e.prev.next = e.next
	e.next.prev = e.prev
	e.prev, e.next = nil, nil
}

func (t *Table[V]) pushFront(e *Entry[V]) {
	e.next = t.head.next
	e.prev = &t.head
	t.head.next.prev = e
	t.head.next = e
}
