package engine

import (
	"encoding/binary"
	"net/netip"
	"time"

	"github.com/apitap/apitap/sensor/decode"
	"github.com/apitap/apitap/sensor/flow"
)

// DNS ports: DNS, multicast DNS, LLMNR.
func isDNSPort(p uint16) bool { return p == 53 || p == 5353 || p == 5355 }

func (w *Worker) udpPacket(p *decode.Packet) {
	src := netip.AddrPortFrom(p.Src, p.SrcPort)
	dst := netip.AddrPortFrom(p.Dst, p.DstPort)
	key, dir := flow.KeyOf(src, dst, decode.ProtoUDP)
	e := w.flows.Get(key, p.Time)
	if e == nil {
		if !w.cfg.admit() {
			w.stats.Shed++
			return
		}
		e = w.flows.Insert(key, p.Time, w.evictF)
		e.Value.init(w, key, dir, src, dst, decode.ProtoUDP, p.Time)
		// The first datagram's sender is the client, unless it came from
		// a well-known service port to an ephemeral one.
		e.Value.client = int8(dir)
		if isServicePort(p.SrcPort) && !isServicePort(p.DstPort) {
			e.Value.client = int8(1 - dir)
		}
	}
	c := &e.Value
	c.last = p.Time
	c.packets++
	c.bytes[dir] += int64(len(p.Payload))
	switch {
	case isDNSPort(p.SrcPort) || isDNSPort(p.DstPort):
		c.app = appDNS
		w.dnsMessage(p.Payload, src, dst, p.Time)
	case (p.DstPort == 443 || p.SrcPort == 443) && c.sni == "" && int8(dir) == c.client:
		w.quicInitial(c, p.Payload, p.Time)
	}
}

// isServicePort reports ports that are a server's, not a client's.
func isServicePort(p uint16) bool { return p < 1024 || isDNSPort(p) }

// dnsTCP splits DNS messages out of a TCP stream: each is prefixed with its
// two-byte length (RFC 1035 §4.2.2).
func (c *conn) dnsTCP(dir uint8, b []byte, ts time.Time) {
	buf := append(c.dnsBuf[dir], b...)
	for len(buf) >= 2 {
		n := int(binary.BigEndian.Uint16(buf))
		if len(buf) < 2+n {
			break
		}
		c.w.dnsMessage(buf[2:2+n], c.ends[dir], c.ends[1-dir], ts)
		buf = buf[2+n:]
	}
	if len(buf) > 64<<10 {
		buf = buf[:0] // not DNS after all, or badly out of step
	}
	c.dnsBuf[dir] = append(c.dnsBuf[dir][:0], buf...)
}
