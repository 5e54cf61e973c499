package ebpf

import (
	"errors"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func newTestSocketMap(t *testing.T) *SocketMap {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("skipping: needs root to load BPF programs")
	}
	m, err := NewSocketMap(SocketMapConfig{})
	if errors.Is(err, ErrNotSupported) {
		t.Skipf("skipping: %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	return m
}

// dialPair connects to a fresh listener on addr and returns both ends.
func dialPair(t *testing.T, network, addr string) (client, server net.Conn) {
	t.Helper()
	ln, err := net.Listen(network, addr)
	if err != nil {
		t.Skipf("skipping: listen %s %s: %v", network, addr, err)
	}
	defer ln.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			close(accepted)
			return
		}
		accepted <- c
	}()
	client, err = net.DialTimeout(network, ln.Addr().String(), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { client.Close() })
	select {
	case server = <-accepted:
	case <-time.After(5 * time.Second):
		t.Fatal("accept timed out")
	}
	if server == nil {
		t.Fatal("accept failed")
	}
	t.Cleanup(func() { server.Close() })
	return client, server
}

func addrPort(a net.Addr) netip.AddrPort { return a.(*net.TCPAddr).AddrPort() }

// TestSocketMapOwnSockets connects to itself over IPv4 and IPv6 loopback:
// both the connecting and the accepted socket must be found, owned by this
// process under its comm, and a tuple nobody uses must not.
func TestSocketMapOwnSockets(t *testing.T) {
	m := newTestSocketMap(t)
	exe, _ := os.Executable()
	wantComm := filepath.Base(exe)
	if len(wantComm) > 15 {
		wantComm = wantComm[:15] // TASK_COMM_LEN - 1
	}
	for _, tc := range []struct{ name, network, addr string }{
		{"ipv4", "tcp4", "127.0.0.1:0"},
		{"ipv6", "tcp6", "[::1]:0"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, s := dialPair(t, tc.network, tc.addr)
			cl, sv := addrPort(c.LocalAddr()), addrPort(s.LocalAddr())
			for _, side := range []struct {
				what          string
				local, remote netip.AddrPort
			}{{"client", cl, sv}, {"server", sv, cl}} {
				p, ok := m.Lookup(side.local, side.remote)
				if !ok {
					t.Errorf("%s socket %s->%s: not found", side.what, side.local, side.remote)
					continue
				}
				if p.PID != uint32(os.Getpid()) || p.Comm != wantComm {
					t.Errorf("%s socket owner pid %d comm %q; want pid %d comm %q",
						side.what, p.PID, p.Comm, os.Getpid(), wantComm)
				}
				if p.CgroupID == 0 {
					t.Errorf("%s socket owner has cgroup 0", side.what)
				}
			}
			unused := netip.AddrPortFrom(cl.Addr(), 1)
			if p, ok := m.Lookup(unused, sv); ok {
				t.Errorf("Lookup(%s, %s) = %+v; want not found", unused, sv, p)
			}
			if p := m.Attribute(cl, sv); p == nil || p.PID != uint32(os.Getpid()) {
				t.Errorf("Attribute(%s, %s) = %+v; want this process", cl, sv, p)
			}
		})
	}
	st, err := m.Stats()
	if err != nil {
		t.Fatal(err)
	}
	if st.Connects < 2 || st.Accepts < 2 || st.Hits < 6 {
		t.Errorf("stats %+v; want at least 2 connects, 2 accepts, 6 hits", st)
	}
}

// TestSocketMapBeforeLoad pins the documented limit: a connection made
// before the map was loaded is unknown.
func TestSocketMapBeforeLoad(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("skipping: needs root to load BPF programs")
	}
	c, s := dialPair(t, "tcp4", "127.0.0.1:0")
	m := newTestSocketMap(t)
	if p, ok := m.Lookup(addrPort(c.LocalAddr()), addrPort(s.LocalAddr())); ok {
		t.Errorf("connection older than the map found, owner %+v; want not found", p)
	}
}

// BenchmarkSocketMapLookup measures one lookup, the price paid per flow.
func BenchmarkSocketMapLookup(b *testing.B) {
	if os.Geteuid() != 0 {
		b.Skip("skipping: needs root to load BPF programs")
	}
	m, err := NewSocketMap(SocketMapConfig{})
	if err != nil {
		b.Skipf("skipping: %v", err)
	}
	defer m.Close()
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer ln.Close()
	// No accept needed: the connecting socket is recorded at ESTABLISHED,
	// which the handshake reaches while the connection waits in the backlog.
	c, err := net.Dial("tcp4", ln.Addr().String())
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	cl, sv := addrPort(c.LocalAddr()), addrPort(ln.Addr())
	b.ReportAllocs()
	for b.Loop() {
		if _, ok := m.Lookup(cl, sv); !ok {
			b.Fatal("not found")
		}
	}
}
