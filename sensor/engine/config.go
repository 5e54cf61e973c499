package engine

import (
	"net/netip"
	"time"

	"github.com/apitap/apitap/sensor/exchange"
	"github.com/apitap/apitap/sensor/flow"
	"github.com/apitap/apitap/sensor/httpparse"
)

// Emitter receives what the workers find. With several workers its methods
// are called from several goroutines: an Emitter must be safe for that (see
// Locked). The values are valid only during the call.
type Emitter interface {
	Exchange(ex *exchange.Exchange)
	Flow(f *exchange.Flow)
	DNS(d *exchange.DNS)
}

// Config tunes the engine. The zero value works; each field says its default.
type Config struct {
	// Flows bounds the flow table of each worker (see flow.Config).
	Flows flow.Config
	// HTTP bounds the HTTP parser (see httpparse.Config). Body decoding is
	// switched on by default; set NoBodyDecode to keep wire bytes.
	HTTP         httpparse.Config
	NoBodyDecode bool
	// MaxStreamBuffer bounds the out-of-order bytes held for one direction
	// of one TCP connection. Default 1 MiB.
	MaxStreamBuffer int
	// MaxBuffered bounds the out-of-order bytes held by one worker across
	// all its connections. Default 64 MiB.
	MaxBuffered int
	// NonHTTPLimit: a TCP flow that yields no HTTP message in this many
	// bytes is marked as not HTTP and no longer parsed (only counted).
	// Default 64 KiB.
	NonHTTPLimit int
	// HelloLimit bounds the bytes buffered to parse a TLS ClientHello or
	// ServerHello that spans segments. Default 16 KiB.
	HelloLimit int
	// Local reports whether an address belongs to this host or its
	// network, which decides an exchange's direction. Default: loopback,
	// private, shared (CGNAT), link-local and unique-local ranges.
	Local func(netip.Addr) bool
	// UDPIdleTimeout evicts UDP flows sooner than TCP ones. Default 30 s.
	UDPIdleTimeout time.Duration
	// AdmitFlow, when set, is asked before a worker creates a flow; false
	// drops the packet (or chunk) that would have created it and counts it
	// in Stats.Shed. Flows already held keep being parsed, so a memory
	// guard can stop growth without cutting exchanges in half. It is called
	// on the packet path of every worker at once: it must be cheap (an
	// atomic load) and safe for concurrent use. Default: admit every flow.
	AdmitFlow func() bool
	// Attribute, when set, names the local process that owns a TCP flow
	// from client to server seen by packet capture (ebpf.SocketMap's
	// Attribute), or returns nil. It is called at most once per flow, when
	// the flow first needs the answer rather than when it is created: at
	// its first bytes from the server, or at its end if none come. By then
	// the client has connected and the server has accepted, and accept
	// comes after the handshake that creates the flow. Workers call it at
	// once: it must be safe for concurrent use. The engine keeps the
	// returned pointer for the flow's exchanges and its flow report. Streams
	// (Worker.Stream) carry their own process and never call it. Default:
	// no attribution.
	Attribute func(client, server netip.AddrPort) *exchange.Process
}

// admit reports whether a new flow may be created.
func (c *Config) admit() bool { return c.AdmitFlow == nil || c.AdmitFlow() }

func (c *Config) maxStreamBuffer() int {
	if c.MaxStreamBuffer <= 0 {
		return 1 << 20
	}
	return c.MaxStreamBuffer
}

func (c *Config) nonHTTPLimit() int64 {
	if c.NonHTTPLimit <= 0 {
		return 64 << 10
	}
	return int64(c.NonHTTPLimit)
}

func (c *Config) helloLimit() int {
	if c.HelloLimit <= 0 {
		return 16 << 10
	}
	return c.HelloLimit
}

func (c *Config) local(a netip.Addr) bool {
	if c.Local != nil {
		return c.Local(a)
	}
	return DefaultLocal(a)
}

var (
	cgnat = netip.MustParsePrefix("100.64.0.0/10")
)

// DefaultLocal treats loopback, RFC 1918 and RFC 4193 private ranges, CGNAT
// and link-local addresses as local: in a capture with no other
// knowledge, that is what "this side of the network" means.
func DefaultLocal(a netip.Addr) bool {
	a = a.Unmap()
	return a.IsLoopback() || a.IsPrivate() || a.IsLinkLocalUnicast() ||
		a.IsUnspecified() || cgnat.Contains(a)
}
