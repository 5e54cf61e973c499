package flow

import (
	"net/netip"
	"testing"
	"time"
)

func key(port uint16) Key {
	a := netip.MustParseAddrPort("10.0.0.1:443")
	b := netip.AddrPortFrom(netip.MustParseAddr("10.0.0.2"), port)
	k, _ := KeyOf(a, b, 6)
	return k
}

// order lists the ports of the B side from the most recent flow on.
func order(t *Table[int]) []uint16 {
	var out []uint16
	for e := t.head.next; e != &t.head; e = e.next {
		out = append(out, e.Key.B.Port())
	}
	return out
}

func TestTableGetInsertDelete(t *testing.T) {
	t0 := time.Unix(1_700_000_000, 0)
	for _, tc := range []struct {
		name string
		run  func(t *testing.T, tb *Table[int])
	}{
		{"get finds what insert added, and only that", func(t *testing.T, tb *Table[int]) {
			tb.Insert(key(1), t0, nil).Value = 1
			tb.Insert(key(2), t0, nil).Value = 2
			for _, p := range []uint16{1, 2, 1, 1, 2} {
				e := tb.Get(key(p), t0)
				if e == nil || e.Value != int(p) {
					t.Fatalf("get %d: got %v; want the entry holding %d", p, e, p)
				}
			}
			if e := tb.Get(key(3), t0); e != nil {
				t.Fatalf("get 3: got %v; want nil", e)
			}
		}},
		{"get moves the flow to the front", func(t *testing.T, tb *Table[int]) {
			for p := uint16(1); p <= 3; p++ {
				tb.Insert(key(p), t0, nil)
			}
			tb.Get(key(1), t0)
			tb.Get(key(1), t0) // the cached entry, already in front
			if got := order(tb); len(got) != 3 || got[0] != 1 || got[1] != 3 || got[2] != 2 {
				t.Fatalf("got order %v; want [1 3 2]", got)
			}
		}},
		{"a deleted flow is gone even right after a get", func(t *testing.T, tb *Table[int]) {
			e := tb.Insert(key(1), t0, nil)
			tb.Get(key(1), t0)
			tb.Delete(e)
			if got := tb.Get(key(1), t0); got != nil {
				t.Fatalf("get after delete: got %v; want nil", got)
			}
			// The freed entry is reused for another key: the old key must
			// not find it.
			tb.Insert(key(2), t0, nil).Value = 2
			if got := tb.Get(key(1), t0); got != nil {
				t.Fatalf("get of the deleted key: got entry of port %d; want nil",
					got.Key.B.Port())
			}
			if got := tb.Get(key(2), t0); got == nil || got.Value != 2 {
				t.Fatalf("get 2: got %v; want the entry holding 2", got)
			}
		}},
		{"a full table evicts the least recent flow", func(t *testing.T, tb *Table[int]) {
			var evicted []uint16
			ev := func(e *Entry[int], r Reason) {
				if r != ReasonFull {
					t.Errorf("evicted for %v; want %v", r, ReasonFull)
				}
				evicted = append(evicted, e.Key.B.Port())
			}
			tb.cfg.MaxFlows = 2
			tb.Insert(key(1), t0, ev)
			tb.Insert(key(2), t0, ev)
			tb.Get(key(1), t0)
			tb.Insert(key(3), t0, ev)
			if len(evicted) != 1 || evicted[0] != 2 || tb.Get(key(2), t0) != nil {
				t.Fatalf("got evicted %v; want [2]", evicted)
			}
		}},
		{"expire removes idle flows only", func(t *testing.T, tb *Table[int]) {
			tb.Insert(key(1), t0, nil)
			tb.Insert(key(2), t0.Add(5*time.Second), nil)
			tb.Get(key(1), t0.Add(20*time.Second))
			var idle []uint16
			tb.Expire(t0.Add(2*time.Minute+11*time.Second), func(e *Entry[int], r Reason) {
				idle = append(idle, e.Key.B.Port())
			})
			if len(idle) != 1 || idle[0] != 2 || tb.Len() != 1 || tb.Get(key(2), t0) != nil {
				t.Fatalf("got expired %v, %d left; want [2], 1 left", idle, tb.Len())
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) { tc.run(t, NewTable[int](Config{})) })
	}
}

func TestKeyOfSymmetric(t *testing.T) {
	a := netip.MustParseAddrPort("192.0.2.1:40000")
	b := netip.MustParseAddrPort("192.0.2.9:80")
	k1, d1 := KeyOf(a, b, 6)
	k2, d2 := KeyOf(b, a, 6)
	if k1 != k2 || d1 == d2 {
		t.Fatalf("got keys %v/%v and directions %d/%d; want one key, two directions",
			k1, k2, d1, d2)
	}
	if Hash(a, b, 6) != Hash(b, a, 6) {
		t.Fatal("hash differs by direction; want the same")
	}
}

// TestLessMatchesCompare checks the IPv4 shortcut orders endpoints as
// netip's Compare does, for IPv4, IPv6 and mixed pairs.
func TestLessMatchesCompare(t *testing.T) {
	addrs := []string{"10.0.0.1:80", "10.0.0.1:443", "10.0.0.2:80", "9.255.255.255:1",
		"192.168.1.1:8080", "255.255.255.255:0", "0.0.0.0:0", "[::1]:80", "[::ffff:10.0.0.1]:80",
		"[2001:db8::1]:443", "[fe80::1%eth0]:80"}
	for _, x := range addrs {
		for _, y := range addrs {
			a, b := netip.MustParseAddrPort(x), netip.MustParseAddrPort(y)
			want := a.Compare(b) < 0
			if got := less(a, b); got != want {
				t.Errorf("less(%v, %v) = %v; want %v", a, b, got, want)
			}
		}
	}
}
