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

// clientSet is the exact set of an endpoint's client addresses. IPv4
// addresses, nearly all clients in most networks, sit in an open
// addressing table of uint32s: hashing one by hand costs less than the
// generic map hash that every exchange would pay, and the table holds no
// pointers for the collector to scan. Other addresses go to a map.
type clientSet struct {
	v4     []uint32 // 0 marks a free slot; 0.0.0.0 is v4zero
	n4     int      // used slots in v4
	shift  uint8    // 64 - log2(len(v4))
	v4zero bool
	other  map[netip.Addr]struct{}
}

// len returns the number of members.
func (s *clientSet) len() int {
	n := s.n4 + len(s.other)
	if s.v4zero {
		n++
	}
	return n
}

// has reports whether a is a member.
func (s *clientSet) has(a netip.Addr) bool {
	if !a.Is4() {
		_, ok := s.other[a]
		return ok
	}
	u := v4key(a)
	if u == 0 {
		return s.v4zero
	}
	if len(s.v4) == 0 {
		return false
	}
	mask := len(s.v4) - 1
	for i := s.slot(u); ; i = (i + 1) & mask {
		switch s.v4[i] {
		case u:
			return true
		case 0:
			return false
		}
	}
}

// add inserts a; adding a member again changes nothing.
func (s *clientSet) add(a netip.Addr) {
	if !a.Is4() {
		if s.other == nil {
			s.other = map[netip.Addr]struct{}{}
		}
		s.other[a] = struct{}{}
		return
	}
	u := v4key(a)
	if u == 0 {
		s.v4zero = true
		return
	}
	// Keep the table at most three quarters full, so that probes stay short.
	if 4*(s.n4+1) > 3*len(s.v4) {
		s.grow()
	}
	s.insert(u)
}

func (s *clientSet) insert(u uint32) {
	mask := len(s.v4) - 1
	for i := s.slot(u); ; i = (i + 1) & mask {
		switch s.v4[i] {
		case u:
			return
		case 0:
			s.v4[i] = u
			s.n4++
			return
		}
	}
}

func (s *clientSet) grow() {
	old := s.v4
	size := max(16, 2*len(old))
	s.v4 = make([]uint32, size)
	s.shift = uint8(64 - bits.TrailingZeros(uint(size)))
	s.n4 = 0
	for _, u := range old {
		if u != 0 {
			s.insert(u)
		}
	}
}

// slot is the home slot of u (Fibonacci hashing).
func (s *clientSet) slot(u uint32) int {
	return int((uint64(u) * 0x9e3779b97f4a7c15) >> s.shift)
}

func v4key(a netip.Addr) uint32 {
	b := a.As4()
	return binary.BigEndian.Uint32(b[:])
}

// each calls fn for every member.
func (s *clientSet) each(fn func(netip.Addr)) {
	if s.v4zero {
		fn(netip.AddrFrom4([4]byte{}))
	}
	for _, u := range s.v4 {
		if u != 0 {
			var b [4]byte
			binary.BigEndian.PutUint32(b[:], u)
			fn(netip.AddrFrom4(b))
		}
	}
	for a := range s.other {
		fn(a)
	}
}
