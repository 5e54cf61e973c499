package engine

import (
	"encoding/binary"
	"net/netip"
	"time"

	"github.com/apitap/apitap/sensor/exchange"
	"github.com/apitap/apitap/sensor/flow"
	"github.com/apitap/apitap/sensor/httpparse"
)

// Chunk is a piece of an already ordered byte stream, such as the plaintext
// a TLS library read or wrote (eBPF uprobes). It needs no reassembly.
type Chunk struct {
	Time time.Time
	// Conn identifies the connection within its process (the TLS
	// library's connection pointer); with PID it names the stream even
	// when the socket's addresses are unknown.
	Conn uint64
	PID  uint32
	// Local and Remote are the socket's addresses, zero when unknown.
	Local, Remote netip.AddrPort
	// Write is set when the local process sent Data, clear when it
	// received it.
	Write bool
	// Data is valid only during the call.
	Data []byte
	// Lost bytes of this direction went missing right before Data.
	Lost int
	// Process is the local process; the engine keeps the pointer.
	Process *exchange.Process
}

// Stream feeds one chunk of a decrypted stream to the HTTP parser of its
// connection. Exchanges from such streams carry the "+tls" protocol suffix
// and the process.
func (w *Worker) Stream(ch *Chunk) {
	w.now = ch.Time
	w.flows.Expire(ch.Time, w.evictF)
	key := streamKey(ch)
	e := w.flows.Get(key, ch.Time)
	if e == nil {
		if !w.cfg.admit() {
			w.stats.Shed++
			return
		}
		e = w.flows.Insert(key, ch.Time, w.evictF)
		c := &e.Value
		// Without its socket (the library never touched it in the call,
		// as Node.js's does not) the stream has no addresses: its ends stay
		// unknown rather than take the key's stand-ins, which would make a
		// service of every connection.
		local, remote := ch.Local, ch.Remote
		if !local.IsValid() || !remote.IsValid() {
			local, remote = netip.AddrPort{}, netip.AddrPort{}
		}
		c.init(w, key, 0, local, remote, 0, ch.Time)
		c.app = appHTTP
		c.decrypted = true
		c.http = w.newHTTPConn(c)
	}
	c := &e.Value
	c.last = ch.Time
	c.packets++
	if ch.Process != nil {
		c.proc = ch.Process
	}
	dir := uint8(1)
	if ch.Write {
		dir = 0
	}
	if c.app != appHTTP {
		return
	}
	if ch.Lost > 0 {
		c.gap(dir, ch.Lost, ch.Time)
	}
	c.bytes[dir] += int64(len(ch.Data))
	c.http.p.Feed(httpparse.Dir(dir), ch.Data, ch.Time)
}

// streamKey names a decrypted stream in the flow table. Proto 0 keeps it
// apart from the packet flows of the same addresses; when the addresses are
// unknown, the process id and connection pointer stand in for them.
func streamKey(ch *Chunk) flow.Key {
	if ch.Local.IsValid() && ch.Remote.IsValid() {
		return flow.Key{A: ch.Local, B: ch.Remote}
	}
	var a [16]byte
	a[0] = 0xfd // unique-local range: never a real peer of this host's streams
	binary.BigEndian.PutUint32(a[4:], ch.PID)
	binary.BigEndian.PutUint64(a[8:], ch.Conn)
	return flow.Key{A: netip.AddrPortFrom(netip.AddrFrom16(a), 0)}
}
