package egress

import (
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/apitap/apitap/sensor/exchange"
)

func TestLocal(t *testing.T) {
	c := NewClassifier([]netip.Prefix{netip.MustParsePrefix("203.0.113.0/24")}, nil)
	tests := []struct {
		addr string
		want bool
	}{
		{"127.0.0.1", true},
		{"::1", true},
		{"10.1.2.3", true},
		{"172.16.0.1", true},
		{"172.32.0.1", false},
		{"192.168.115.75", true},
		{"100.64.0.1", true},
		{"100.127.255.254", true},
		{"100.128.0.1", false},
		{"169.254.169.254", true},
		{"fe80::1", true},
		{"fd00::1", true},
		{"fc00::1", true},
		{"224.0.0.251", true},
		{"ff02::fb", true},
		{"0.0.0.0", true},
		{"::", true},
		{"255.255.255.255", true},
		{"::ffff:10.0.0.1", true},
		{"::ffff:8.8.8.8", false},
		{"8.8.8.8", false},
		{"52.114.250.152", false},
		{"2606:4700::1111", false},
		{"203.0.113.9", true}, // configured
		{"203.0.114.9", false},
	}
	for _, tt := range tests {
		t.Run(tt.addr, func(t *testing.T) {
			if got := c.Local(netip.MustParseAddr(tt.addr)); got != tt.want {
				t.Errorf("Local(%s) = %v; want %v", tt.addr, got, tt.want)
			}
		})
	}
	if c.Local(netip.Addr{}) {
		t.Errorf("Local(invalid) = true; want false")
	}
}

func TestInternalName(t *testing.T) {
	c := NewClassifier(nil, []string{"corp.example.com", ".Svc.Example.NET."})
	tests := []struct {
		host string
		want bool
	}{
		{"redis", true},
		{"redis:6379", true},
		{"localhost", true},
		{"api.internal", true},
		{"api.internal:8080", true},
		{"printer.local.", true},
		{"payments.default.svc.cluster.local", true},
		{"payments.default.svc", true},
		{"router.home.arpa", true},
		{"db.corp.example.com", true},
		{"corp.example.com", true},
		{"a.svc.example.net", true},
		{"badcorp.example.com", false},
		{"example.com", false},
		{"api.openai.com", false},
		{"API.OPENAI.COM", false},
		{"10.0.0.1", true},
		{"[fd00::1]:443", true},
		{"8.8.8.8", false},
		{"", false},
		{"notinternal.com", false},
	}
	for _, tt := range tests {
		t.Run(tt.host, func(t *testing.T) {
			if got := c.InternalName(tt.host); got != tt.want {
				t.Errorf("InternalName(%q) = %v; want %v", tt.host, got, tt.want)
			}
		})
	}
}

func TestRegistrable(t *testing.T) {
	tests := []struct {
		host, want string
	}{
		{"o123.ingest.sentry.io", "sentry.io"},
		{"api.openai.com", "openai.com"},
		{"API.OpenAI.com.", "openai.com"},
		{"api.openai.com:443", "openai.com"},
		{"www.bbc.co.uk", "bbc.co.uk"},
		{"bbc.co.uk", "bbc.co.uk"},
		{"co.uk", "co.uk"},
		{"com", "com"},
		{"localhost", "localhost"},
		{"redis:6379", "redis"},
		{"myapp.herokuapp.com", "myapp.herokuapp.com"},
		{"user.github.io", "user.github.io"},
		{"1.2.3.4", "1.2.3.4"},
		{"1.2.3.4:80", "1.2.3.4"},
		{"[2001:db8::1]:443", "2001:db8::1"},
		{"2001:db8::1", "2001:db8::1"},
		{"::ffff:1.2.3.4", "1.2.3.4"},
		{"", ""},
		{"a.b.c.example.com", "example.com"},
		{"foo.unknowntld", "foo.unknowntld"},
	}
	for _, tt := range tests {
		t.Run(tt.host, func(t *testing.T) {
			if got := Registrable(tt.host); got != tt.want {
				t.Errorf("Registrable(%q) = %q; want %q", tt.host, got, tt.want)
			}
		})
	}
}

var t0 = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

func dnsAnswer(client, name string, ttl uint32, at time.Time, addrs ...string) *exchange.DNS {
	d := &exchange.DNS{Time: at, Client: netip.MustParseAddr(client), Name: name, TTL: ttl}
	for _, a := range addrs {
		d.Addrs = append(d.Addrs, netip.MustParseAddr(a))
	}
	return d
}

func TestCacheTTL(t *testing.T) {
	c := NewCache(CacheConfig{MinHold: time.Minute})
	srv := netip.MustParseAddr("104.18.0.1")
	cli := netip.MustParseAddr("10.0.0.5")
	c.Add(dnsAnswer("10.0.0.5", "api.openai.com", 300, t0, "104.18.0.1"))

	tests := []struct {
		name   string
		at     time.Time
		wantOK bool
	}{
		{"fresh", t0.Add(time.Second), true},
		{"at ttl", t0.Add(300 * time.Second), true},
		{"after ttl", t0.Add(301 * time.Second), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			name, ok := c.Lookup(cli, srv, tt.at)
			if ok != tt.wantOK || (ok && name != "api.openai.com") {
				t.Errorf("Lookup at +%v = %q, %v; want ok=%v", tt.at.Sub(t0), name, ok, tt.wantOK)
			}
		})
	}
	if c.Len() != 0 {
		t.Errorf("Len after expiry = %d; want 0", c.Len())
	}

	// A 5 s TTL is held for MinHold.
	c.Add(dnsAnswer("10.0.0.5", "short.example.com", 5, t0, "1.1.1.1"))
	if _, ok := c.Lookup(cli, netip.MustParseAddr("1.1.1.1"), t0.Add(50*time.Second)); !ok {
		t.Errorf("Lookup within MinHold of a 5 s TTL: not found; want found")
	}
	if _, ok := c.Lookup(cli, netip.MustParseAddr("1.1.1.1"), t0.Add(61*time.Second)); ok {
		t.Errorf("Lookup after MinHold of a 5 s TTL: found; want expired")
	}
}

func TestCachePrefersClient(t *testing.T) {
	c := NewCache(CacheConfig{})
	srv := netip.MustParseAddr("151.101.1.1")
	c.Add(dnsAnswer("10.0.0.1", "a.example.com", 60, t0, "151.101.1.1"))
	c.Add(dnsAnswer("10.0.0.2", "b.example.com", 60, t0, "151.101.1.1"))

	tests := []struct {
		client, want string
	}{
		{"10.0.0.1", "a.example.com"},
		{"10.0.0.2", "b.example.com"},
		{"10.0.0.3", "b.example.com"}, // any client: the latest answer
	}
	for _, tt := range tests {
		t.Run(tt.client, func(t *testing.T) {
			got, ok := c.Lookup(netip.MustParseAddr(tt.client), srv, t0)
			if !ok || got != tt.want {
				t.Errorf("Lookup(%s) = %q, %v; want %q", tt.client, got, ok, tt.want)
			}
		})
	}
}

func TestCacheCNAMEKeepsQuestion(t *testing.T) {
	c := NewCache(CacheConfig{})
	d := dnsAnswer("10.0.0.1", "api.segment.io", 60, t0, "52.1.1.1")
	d.CNAMEs = []string{"api-segment.elb.amazonaws.com"}
	c.Add(d)
	got, _ := c.Lookup(netip.MustParseAddr("10.0.0.1"), netip.MustParseAddr("52.1.1.1"), t0)
	if got != "api.segment.io" {
		t.Errorf("Lookup = %q; want the question name api.segment.io", got)
	}
}

func TestCacheIgnoresFailures(t *testing.T) {
	c := NewCache(CacheConfig{})
	d := dnsAnswer("10.0.0.1", "nx.example.com", 60, t0, "52.1.1.1")
	d.RCode = 3
	c.Add(d)
	c.Add(nil)
	c.Add(&exchange.DNS{Name: "empty.example.com", Time: t0})
	if c.Len() != 0 {
		t.Errorf("Len = %d; want 0", c.Len())
	}
}

func TestCacheLRU(t *testing.T) {
	c := NewCache(CacheConfig{MaxEntries: 2})
	cli := netip.MustParseAddr("10.0.0.1")
	// Answers seen without a client (e.g. a one-sided capture) add only the
	// any-client entry, so each answer here is one entry.
	add := func(name, addr string) {
		c.Add(&exchange.DNS{Time: t0, Name: name, TTL: 600,
			Addrs: []netip.Addr{netip.MustParseAddr(addr)}})
	}
	add("one.example.com", "1.0.0.1")
	add("two.example.com", "1.0.0.2")
	// Touch "one" so that "two" is the least recently used.
	if _, ok := c.Lookup(cli, netip.MustParseAddr("1.0.0.1"), t0); !ok {
		t.Fatalf("Lookup(one) before eviction: not found")
	}
	add("three.example.com", "1.0.0.3")

	if c.Len() != 2 {
		t.Errorf("Len = %d; want 2", c.Len())
	}
	if c.Evictions() != 1 {
		t.Errorf("Evictions = %d; want 1", c.Evictions())
	}
	for _, tt := range []struct {
		addr string
		want bool
	}{{"1.0.0.1", true}, {"1.0.0.2", false}, {"1.0.0.3", true}} {
		if _, ok := c.Lookup(cli, netip.MustParseAddr(tt.addr), t0); ok != tt.want {
			t.Errorf("Lookup(%s) found = %v; want %v", tt.addr, ok, tt.want)
		}
	}

	// With a client, an answer takes two entries; the cache stays bounded.
	for i := range 10 {
		c.Add(dnsAnswer("10.0.0.9", "n.example.com", 600, t0,
			netip.AddrFrom4([4]byte{2, 0, 0, byte(i)}).String()))
	}
	if c.Len() != 2 {
		t.Errorf("Len after 10 more answers = %d; want 2", c.Len())
	}
}

func BenchmarkCacheLookup(b *testing.B) {
	c := NewCache(CacheConfig{})
	for i := range 1000 {
		a := netip.AddrFrom4([4]byte{52, 0, byte(i >> 8), byte(i)})
		c.Add(&exchange.DNS{Time: t0, Client: netip.MustParseAddr("10.0.0.1"),
			Name: "api.example.com", TTL: 60, Addrs: []netip.Addr{a}})
	}
	cli := netip.MustParseAddr("10.0.0.1")
	srv := netip.AddrFrom4([4]byte{52, 0, 1, 1})
	b.ReportAllocs()
	for b.Loop() {
		if _, ok := c.Lookup(cli, srv, t0); !ok {
			b.Fatal("not found")
		}
	}
}

func FuzzRegistrable(f *testing.F) {
	for _, s := range []string{"o123.ingest.sentry.io", "API.OpenAI.com.:443", "[::1]:80", "co.uk",
		"1.2.3.4", "a..b.example.com", "x.com..", "", ":", "[", "myapp.herokuapp.com"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, host string) {
		r := Registrable(host)
		if r != strings.ToLower(r) {
			t.Fatalf("Registrable(%q) = %q: not lower case", host, r)
		}
		if again := Registrable(r); again != r {
			t.Fatalf("Registrable(%q) = %q, but Registrable(%q) = %q", host, r, r, again)
		}
	})
}
