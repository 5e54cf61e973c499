package inventory

import (
	"encoding/binary"
	"math/bits"
	"net/netip"
)

// statusCounts counts responses per status code. An endpoint answers with
// one or two codes nearly always, so the first few live inline and are
// found by a short scan; a map holds any further ones.
type statusCounts struct {
	code [4]int // status codes in the order first seen; n[i] > 0 marks a used slot
	n    [4]int64
	more map[int]int64
}

// has reports whether code was counted.
func (c *statusCounts) has(code int) bool {
	for i := range c.code {
		if c.n[i] > 0 && c.code[i] == code {
			return true
		}
	}
	_, ok := c.more[code]
	return ok
}

// add counts by (> 0) responses with code.
func (c *statusCounts) add(code int, by int64) {
	for i := range c.code {
		if c.n[i] > 0 && c.code[i] == code {
			c.n[i] += by
			return
		}
	}
	if n, ok := c.more[code]; ok {
		c.more[code] = n + by
		return
	}
	for i := range c.code {
		if c.n[i] == 0 {
			c.code[i], c.n[i] = code, by
			return
		}
	}
	if c.more == nil {
		c.more = map[int]int64{}
	}
	c.more[code] = by
}

// len returns how many codes were counted.
func (c *statusCounts) len() int {
	n := len(c.more)
	for i := range c.n {
		if c.n[i] > 0 {
			n++
		}
	}
	return n
}

// each calls fn for every code and its count, in no particular order.
func (c *statusCounts) each(fn func(code int, n int64)) {
	for i := range c.code {
		if c.n[i] > 0 {
			fn(c.code[i], c.n[i])
		}
	}
	for code, n := range c.more {
		fn(code, n)
	}
}

// clientSet is the exact set of an endpoint's client addresses: an open
// addressing table, since hashing an address by hand costs less than the
// generic map hash and every exchange looks one up.
type clientSet struct {
	slots []netip.Addr // the zero Addr marks a free slot
	n     int
	zero  bool // the zero Addr itself is a member
}

// len returns the number of members.
func (s *clientSet) len() int {
	if s.zero {
		return s.n + 1
	}
	return s.n
}

// has reports whether a is a member.
func (s *clientSet) has(a netip.Addr) bool {
	if a == (netip.Addr{}) {
		return s.zero
	}
	if len(s.slots) == 0 {
		return false
	}
	mask := len(s.slots) - 1
	for i := hashAddr(a) & mask; ; i = (i + 1) & mask {
		switch s.slots[i] {
		case a:
			return true
		case netip.Addr{}:
			return false
		}
	}
}

// add inserts a; adding a member again changes nothing.
func (s *clientSet) add(a netip.Addr) {
	if a == (netip.Addr{}) {
		s.zero = true
		return
	}
	// Keep the table at most half full, so that probes stay short.
	if 2*(s.n+1) > len(s.slots) {
		s.grow()
	}
	mask := len(s.slots) - 1
	for i := hashAddr(a) & mask; ; i = (i + 1) & mask {
		switch s.slots[i] {
		case a:
			return
		case netip.Addr{}:
			s.slots[i] = a
			s.n++
			return
		}
	}
}

func (s *clientSet) grow() {
	old := s.slots
	s.slots = make([]netip.Addr, max(8, 2*len(old)))
	s.n = 0
	for _, a := range old {
		if a != (netip.Addr{}) {
			s.add(a)
		}
	}
}

// each calls fn for every member.
func (s *clientSet) each(fn func(netip.Addr)) {
	if s.zero {
		fn(netip.Addr{})
	}
	for _, a := range s.slots {
		if a != (netip.Addr{}) {
			fn(a)
		}
	}
}

// hashAddr mixes the 16 bytes of an address (IPv4 ones as mapped IPv6;
// the set compares whole Addrs, so the two forms stay apart).
func hashAddr(a netip.Addr) int {
	b := a.As16()
	h := binary.LittleEndian.Uint64(b[:8]) ^ bits.RotateLeft64(binary.LittleEndian.Uint64(b[8:]), 29)
	h *= 0x9e3779b97f4a7c15
	return int(h >> 32)
}
