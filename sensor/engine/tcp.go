package engine

import (
	"net/netip"
	"time"

	"github.com/apitap/apitap/sensor/decode"
	"github.com/apitap/apitap/sensor/exchange"
	"github.com/apitap/apitap/sensor/flow"
	"github.com/apitap/apitap/sensor/httpparse"
	"github.com/apitap/apitap/sensor/reasm"
	"github.com/apitap/apitap/sensor/tlsparse"
)

// app is what a flow was recognised to carry.
type app uint8

const (
	appUnknown app = iota
	appHTTP
	appTLS
	appDNS
	appOther // not a protocol we parse: bytes are only counted
)

// conn is the state of one flow, held inline in its flow table entry. The
// fields every packet touches come first, so they share a few cache lines:
// with hundreds of flows interleaved, each packet finds its flow's state
// cold.
type conn struct {
	w       *Worker
	http    *httpConn
	last    time.Time
	packets int64
	bytes   [2]int64

	// client is the direction the client sends in, -1 while unknown.
	client int8
	app    app
	closed [2]bool // FIN delivered in that direction
	rst    bool
	parsed bool // the HTTP parser produced at least one message
	// attributed: Config.Attribute was asked (see conn.attribute).
	attributed bool

	streams [2]reasm.Stream
	sinks   [2]dirSink

	ends  [2]netip.AddrPort // ends[d] sent the packets of direction d
	proto uint8
	start time.Time

	hello    [2][]byte
	helloEnd [2]bool
	sni      string
	alpn     []string
	ja4      string
	tlsVer   string
	dnsBuf   [2][]byte
	proc     *exchange.Process

	// Filled by the HTTP side, kept for the flow report.
	hosts []string
	// lastHost holds the newest Host value (when it fits), the one the
	// next exchange most likely repeats (see addHost).
	lastHost    [48]byte
	lastHostLen uint8
	lastHostStr string // the same name, as kept in hosts
	// dir is the exchanges' direction for client direction dirFor-1, or
	// unknown while dirFor is 0.
	dir       exchange.Direction
	dirFor    uint8
	exchanges int
	h2c       bool
	// decrypted marks a stream read from a TLS library, not the wire.
	decrypted bool
}

// dirSink adapts one direction of a conn to reasm.Sink.
type dirSink struct {
	c   *conn
	dir uint8
}

func (s *dirSink) Data(b []byte, ts time.Time) { s.c.data(s.dir, b, ts) }
func (s *dirSink) Gap(n int, ts time.Time)     { s.c.gap(s.dir, n, ts) }

func (w *Worker) tcp(p *decode.Packet) {
	src := netip.AddrPortFrom(p.Src, p.SrcPort)
	dst := netip.AddrPortFrom(p.Dst, p.DstPort)
	key, dir := flow.KeyOf(src, dst, decode.ProtoTCP)
	e := w.flows.Get(key, p.Time)
	syn := p.Flags&decode.FlagSYN != 0
	ack := p.Flags&decode.FlagACK != 0
	if e != nil && syn && !ack && e.Value.streams[dir].Started() &&
		e.Value.streams[dir].Next() != p.Seq+1 {
		// A new connection on the same ports: end the old one first.
		w.endConn(&e.Value)
		w.flows.Delete(e)
		e = nil
	}
	if e == nil {
		if !syn && len(p.Payload) == 0 {
			// An ACK, FIN or RST for a flow we do not hold (it ended, or
			// the capture began after its last data): nothing to learn,
			// and no reason to hold state for it.
			return
		}
		if !w.cfg.admit() {
			w.stats.Shed++
			return
		}
		e = w.flows.Insert(key, p.Time, w.evictF)
		e.Value.init(w, key, dir, src, dst, decode.ProtoTCP, p.Time)
	}
	c := &e.Value
	c.last = p.Time
	c.packets++
	st := &c.streams[dir]
	if syn {
		st.SYN(p.Seq)
		if c.client < 0 {
			if ack {
				c.client = int8(1 - dir)
			} else {
				c.client = int8(dir)
			}
		}
	}
	seq := p.Seq
	if syn {
		seq++ // data on a SYN (TCP Fast Open) starts after the SYN's number
	}
	payload := p.Payload
	fin := p.Flags&decode.FlagFIN != 0
	if len(payload) > 0 || fin {
		c.bytes[dir] += int64(len(payload))
		st.Segment(seq, payload, fin, p.Time, &w.budget, &c.sinks[dir])
		if p.Truncated {
			// The capture cut the segment: the rest is a hole the next
			// segment will reveal; nothing to do here but count it.
			w.stats.LostBytes += uint64(p.Missing)
		}
	}
	if ack {
		other := &c.streams[1-dir]
		other.PeerAck(p.Ack, p.Time, &w.budget, &c.sinks[1-dir])
	}
	if st.Done() {
		c.closed[dir] = true
	}
	if p.Flags&decode.FlagRST != 0 {
		c.rst = true
	}
	if c.rst || (c.closed[0] && c.closed[1]) {
		w.endConn(c)
		w.flows.Delete(e)
	}
}

func (c *conn) init(w *Worker, key flow.Key, dir uint8, src, dst netip.AddrPort, proto uint8,
	ts time.Time) {
	c.w = w
	c.ends[dir] = src
	c.ends[1-dir] = dst
	c.proto = proto
	c.start = ts
	c.last = ts
	c.client = -1
	for d := range c.sinks {
		c.sinks[d] = dirSink{c: c, dir: uint8(d)}
		c.streams[d].MaxBuffered = w.cfg.maxStreamBuffer()
	}
	_ = key
}

// data takes the next in-order bytes of direction dir.
func (c *conn) data(dir uint8, b []byte, ts time.Time) {
	if !c.attributed && c.w.cfg.Attribute != nil && dir != c.clientDir() {
		c.attribute() // before the parser, which may emit an exchange now
	}
	if c.app == appUnknown {
		c.classify(dir, b)
	}
	switch c.app {
	case appHTTP:
		c.http.p.Feed(httpparse.Dir(dir), b, ts)
		if !c.parsed {
			st := c.http.p.Stats()
			if st.Requests+st.Responses > 0 {
				c.parsed = true
			} else if c.bytes[0]+c.bytes[1] > c.w.cfg.nonHTTPLimit() {
				c.w.stats.NotHTTP++
				c.dropHTTP(ts)
				c.app = appOther
			}
		}
	case appTLS:
		c.tlsData(dir, b)
	case appDNS:
		c.dnsTCP(dir, b, ts)
	}
}

// gap takes the news that n bytes of direction dir were lost.
func (c *conn) gap(dir uint8, n int, ts time.Time) {
	c.w.stats.Gaps++
	c.w.stats.LostBytes += uint64(n)
	switch c.app {
	case appHTTP:
		c.http.p.Gap(httpparse.Dir(dir), n, ts)
	case appTLS:
		c.helloEnd[dir] = true
		c.hello[dir] = nil
	case appDNS:
		c.dnsBuf[dir] = c.dnsBuf[dir][:0]
	}
}

// classify decides from the first bytes what the flow carries.
func (c *conn) classify(dir uint8, b []byte) {
	switch {
	case c.ends[0].Port() == 53 || c.ends[1].Port() == 53:
		c.app = appDNS
	case tlsparse.LooksLikeTLS(b):
		c.app = appTLS
		c.w.stats.TLSFlows++
		if len(b) > 5 && b[5] == 1 { // handshake type ClientHello
			c.client = int8(dir)
		}
	default:
		c.app = appHTTP
		c.http = c.w.newHTTPConn(c)
	}
}

func (c *conn) dropHTTP(ts time.Time) {
	if c.http != nil {
		c.w.freeHTTPConn(c.http)
		c.http = nil
	}
}

// clientDir returns the client's direction, guessing from ports when the
// flow showed no SYN and no request: the side on the well-known (lower)
// port is the server.
func (c *conn) clientDir() uint8 {
	if c.client >= 0 {
		return uint8(c.client)
	}
	if c.http != nil {
		if d, ok := c.http.p.ClientDir(); ok {
			return uint8(d)
		}
	}
	if c.ends[0].Port() > c.ends[1].Port() {
		return 0
	}
	return 1
}

// attribute asks Config.Attribute, once per packet flow, for the process
// that owns it. A flow that already has one (a decrypted stream) keeps it.
func (c *conn) attribute() {
	if c.attributed {
		return
	}
	c.attributed = true
	f := c.w.cfg.Attribute
	if f == nil || c.proc != nil || c.proto != decode.ProtoTCP {
		return
	}
	cd := c.clientDir()
	c.proc = f(c.ends[cd], c.ends[1-cd])
}

// endConn delivers what is left of a flow and reports it.
func (w *Worker) endConn(c *conn) {
	if c.w == nil {
		return
	}
	c.attribute() // a flow the server never answered
	for d := range c.streams {
		c.streams[d].Flush(c.last, &w.budget, &c.sinks[d])
	}
	if c.app == appTLS {
		c.tlsFinish()
	}
	if c.http != nil {
		c.http.p.Close(c.last)
		c.dropHTTP(c.last)
	}
	w.reportFlow(c)
	for d := range c.streams {
		c.streams[d].Reset(&w.budget)
	}
	c.w = nil
}

func (w *Worker) reportFlow(c *conn) {
	cd := c.clientDir()
	f := &w.fl
	*f = exchange.Flow{
		Start:     c.start,
		End:       c.last,
		Client:    c.ends[cd],
		Server:    c.ends[1-cd],
		BytesOut:  c.bytes[cd],
		BytesIn:   c.bytes[1-cd],
		Packets:   c.packets,
		SNI:       c.sni,
		ALPN:      c.alpn,
		JA4:       c.ja4,
		Process:   c.proc,
		Direction: w.direction(c.ends[cd].Addr(), c.ends[1-cd].Addr()),
	}
	if c.proto == decode.ProtoTCP {
		f.Transport = "tcp"
	} else {
		f.Transport = "udp"
	}
	f.TLSVersion = c.tlsVer
	switch c.app {
	case appHTTP:
		f.AppProto = "http"
		if c.h2c {
			f.AppProto = "h2c"
		}
		f.Hosts = c.hosts
		f.Exchanges = c.exchanges
	case appTLS:
		f.AppProto = "tls"
	case appDNS:
		f.AppProto = "dns"
	}
	if c.sni != "" && c.proto == decode.ProtoUDP {
		f.AppProto = "quic"
	}
	w.emit.Flow(f)
}

// direction says whether a flow from client to server enters a local
// service or leaves for a remote one.
func (w *Worker) direction(client, server netip.Addr) exchange.Direction {
	sl, cl := w.cfg.local(server), w.cfg.local(client)
	switch {
	case sl:
		return exchange.DirInbound
	case cl:
		return exchange.DirOutbound
	}
	return exchange.DirUnknown
}
