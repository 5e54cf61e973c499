package ebpf

import (
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"sync"
	"sync/atomic"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/link"

	"github.com/apitap/apitap/sensor/exchange"
)

// SocketMapConfig configures a SocketMap; the zero value works.
type SocketMapConfig struct {
	// Resolver maps cgroup ids to containers and pods. Nil: a Resolver
	// over the host's cgroup v2 mount.
	Resolver *Resolver
	// Logger receives lifecycle lines. Nil: silent.
	Logger *slog.Logger
}

// SocketStats counts what the socket map recorded and what was asked of it.
type SocketStats struct {
	Connects uint64 // connecting sockets recorded at ESTABLISHED (kernel)
	Accepts  uint64 // accepted sockets recorded (kernel)
	// NoOwner counts sockets that reached ESTABLISHED from SYN_SENT with
	// no owner parked: their connect ran before the map was loaded, or the
	// parking map's LRU evicted the entry (kernel).
	NoOwner uint64
	NotInet uint64 // accepted fds that were not TCP over IPv4/IPv6 (kernel)
	Lookups uint64 // Lookup calls
	Hits    uint64 // Lookup calls that found an owner
}

// SocketMap joins TCP flows to the processes that own their sockets. A BTF
// tracepoint on inet_sock_set_state records the task that connects a
// socket, and syscall exit tracepoints on accept and accept4 the task that
// accepts one, in an LRU map keyed by the socket's local and remote
// addresses. Packet capture has no process context; a lookup in that map
// gives it one.
//
// Only sockets that connect or are accepted after NewSocketMap are known.
// Addresses are not qualified by network namespace: two namespaces using
// the same addresses and ports at once (common for loopback) can answer
// for each other. Needs Linux 5.5+ (BTF tracepoints), kernel BTF and
// tracefs. Lookup, Attribute and Stats are safe for concurrent use.
type SocketMap struct {
	objs  socketObjects
	links []link.Link
	res   *Resolver

	lookups, hits atomic.Uint64

	closeOnce sync.Once
	closeErr  error
}

// NewSocketMap loads the socket-owner programs and attaches them. An error
// wrapping ErrNotSupported means this kernel or process cannot run them.
func NewSocketMap(cfg SocketMapConfig) (*SocketMap, error) {
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	log = log.With("component", "ebpf.SocketMap")
	if err := checkKernel(); err != nil {
		return nil, err
	}
	if err := ensureTracefs(); err != nil {
		return nil, err
	}
	spec, err := loadSocket()
	if err != nil {
		return nil, fmt.Errorf("ebpf: parse socket object: %w", err)
	}
	m := &SocketMap{res: cfg.Resolver}
	if m.res == nil {
		m.res = NewResolver("")
	}
	if err := loadSpec(spec, &m.objs); err != nil {
		return nil, err
	}
	l, err := link.AttachTracing(link.TracingOptions{Program: m.objs.OnSockState})
	if err != nil {
		m.Close()
		return nil, notSupported("cannot attach tp_btf/inet_sock_set_state", err)
	}
	m.links = append(m.links, l)
	for name, prog := range map[string]*ebpf.Program{
		"sys_exit_accept4": m.objs.ExitAccept4, "sys_exit_accept": m.objs.ExitAccept,
	} {
		l, err := link.Tracepoint("syscalls", name, prog, nil)
		if err != nil {
			m.Close()
			return nil, notSupported("cannot attach syscall tracepoint "+name, err)
		}
		m.links = append(m.links, l)
	}
	log.Info("socket owner map attached", "entries", m.objs.SockOwners.MaxEntries())
	return m, nil
}

// Lookup returns the process that owns the TCP socket whose own end is
// local and whose peer is remote (as the socket sees them, so for a flow
// between two processes of this host each end is a different socket). The
// Process is freshly allocated; the caller may keep it.
func (m *SocketMap) Lookup(local, remote netip.AddrPort) (*exchange.Process, bool) {
	m.lookups.Add(1)
	k := socketSockTuple{
		Laddr: as16(local.Addr()), Raddr: as16(remote.Addr()),
		Lport: local.Port(), Rport: remote.Port(),
	}
	var o socketSockOwner
	if err := m.objs.SockOwners.Lookup(&k, &o); err != nil {
		return nil, false
	}
	m.hits.Add(1)
	return m.res.Process(o.Pid, o.Tid, commString(&o.Comm), o.CgroupId), true
}

// Attribute returns the owner of a flow from client to server: the client's
// socket when the client runs here, else the server's, else nil. Preferring
// the client decides the case where both ends are local: the process that
// made the call is the one a callout is charged to. Its signature is that
// of engine.Config.Attribute.
func (m *SocketMap) Attribute(client, server netip.AddrPort) *exchange.Process {
	if p, ok := m.Lookup(client, server); ok {
		return p
	}
	if p, ok := m.Lookup(server, client); ok {
		return p
	}
	return nil
}

// Stats returns the kernel counters, summed over CPUs, and the lookup
// counts. It allocates; call it from a metrics scrape.
func (m *SocketMap) Stats() (SocketStats, error) {
	var v [socketStatMax]uint64
	if err := sumPerCPU(m.objs.SockStats, v[:]); err != nil {
		return SocketStats{}, err
	}
	return SocketStats{Connects: v[0], Accepts: v[1], NoOwner: v[2], NotInet: v[3],
		Lookups: m.lookups.Load(), Hits: m.hits.Load()}, nil
}

const socketStatMax = 4 // SSTAT_MAX in bpf/socket.c

// Close detaches the programs and frees the maps. Safe to call more than
// once; Lookup must not be called after it.
func (m *SocketMap) Close() error {
	m.closeOnce.Do(func() {
		var errs []error
		for _, l := range m.links {
			errs = append(errs, l.Close())
		}
		errs = append(errs, m.objs.Close())
		m.closeErr = errors.Join(errs...)
	})
	return m.closeErr
}

// as16 returns a as 16 bytes; As16 maps IPv4 to ::ffff:a.b.c.d, the form
// bpf/socket.c stores.
func as16(a netip.Addr) [16]byte { return a.As16() }

// commString cuts a kernel task name at its NUL.
func commString(c *[16]int8) string {
	var b [16]byte
	n := 0
	for ; n < len(c) && c[n] != 0; n++ {
		b[n] = byte(c[n])
	}
	return string(b[:n])
}
