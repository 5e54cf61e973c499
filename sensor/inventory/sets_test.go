package inventory

import (
	"math/rand/v2"
	"net/netip"
	"testing"
)

// TestClientSet holds the hand-made set to a map over a mix of IPv4,
// IPv6, IPv4-mapped, 0.0.0.0 and zero addresses, through several growths.
func TestClientSet(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	var s clientSet
	want := map[netip.Addr]bool{}
	for i := range 5000 {
		var a netip.Addr
		switch r.IntN(4) {
		case 0:
			a = netip.AddrFrom4([4]byte{10, 0, byte(r.IntN(8)), byte(r.IntN(256))})
		case 1:
			a = netip.AddrFrom16([16]byte{0: 0xfd, 15: byte(r.IntN(256))})
		case 2:
			a = netip.AddrFrom16(netip.AddrFrom4([4]byte{10, 0, 0, byte(r.IntN(256))}).As16())
		default:
			switch r.IntN(50) {
			case 0:
				a = netip.Addr{}
			case 1:
				a = netip.AddrFrom4([4]byte{})
			default:
				a = netip.AddrFrom4([4]byte{192, 168, 1, byte(r.IntN(256))})
			}
		}
		if got := s.has(a); got != want[a] {
			t.Fatalf("step %d: has(%v) = %v; want %v", i, a, got, want[a])
		}
		s.add(a)
		want[a] = true
		if s.len() != len(want) {
			t.Fatalf("step %d: len() = %d; want %d", i, s.len(), len(want))
		}
	}
	seen := map[netip.Addr]bool{}
	s.each(func(a netip.Addr) { seen[a] = true })
	if len(seen) != len(want) {
		t.Errorf("each visited %d addresses; want %d", len(seen), len(want))
	}
}

// TestStatusCounts does the same for the status counters, past the inline
// slots.
func TestStatusCounts(t *testing.T) {
	var c statusCounts
	want := map[int]int64{}
	for i, code := range []int{200, 200, 404, 0, 500, 201, 200, 302, 404, 503, 201} {
		if got := c.has(code); got != (want[code] > 0) {
			t.Fatalf("step %d: has(%d) = %v; want %v", i, code, got, want[code] > 0)
		}
		c.add(code, int64(i+1))
		want[code] += int64(i + 1)
	}
	got := map[int]int64{}
	c.each(func(code int, n int64) { got[code] = n })
	if len(got) != len(want) || c.len() != len(want) {
		t.Fatalf("each gave %v (len %d); want %v", got, c.len(), want)
	}
	for code, n := range want {
		if got[code] != n {
			t.Errorf("count of %d = %d; want %d", code, got[code], n)
		}
	}
}
