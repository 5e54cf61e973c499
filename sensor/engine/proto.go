package engine

import (
	"net/netip"
	"time"
)

// udpState holds scratch for UDP protocol parsers.
type udpState struct{}

// dnsMessage parses one DNS message. Wired to sensor/dnsparse next.
func (w *Worker) dnsMessage(b []byte, src, dst netip.AddrPort, ts time.Time) {
	w.stats.DNSMessages++
}

// quicInitial looks for a QUIC Initial's ClientHello. Wired to sensor/quic next.
func (w *Worker) quicInitial(c *conn, b []byte, ts time.Time) {}
