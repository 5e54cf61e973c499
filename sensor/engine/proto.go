package engine

import (
	"net/netip"
	"strings"
	"time"

	"github.com/apitap/apitap/sensor/dnsparse"
	"github.com/apitap/apitap/sensor/exchange"
	"github.com/apitap/apitap/sensor/quic"
)

// udpState holds the UDP parsers' scratch, reused for every datagram.
type udpState struct {
	dns    dnsparse.Message
	ev     exchange.DNS
	names  map[string]string // interned names: DNS names repeat a lot
	quic   *quic.Assembler
	result quic.Result
}

// maxInternedNames bounds the name intern table; it is reset when full.
const maxInternedNames = 4096

func (u *udpState) intern(b []byte) string {
	if s, ok := u.names[string(b)]; ok {
		return s
	}
	if u.names == nil || len(u.names) >= maxInternedNames {
		u.names = make(map[string]string)
	}
	s := strings.ToLower(string(b))
	u.names[string(b)] = s
	return s
}

// dnsMessage parses one DNS message (UDP datagram or one TCP record) and
// reports each answered question: the name asked, the CNAME chain and the
// addresses. Queries are counted; their names reach analysis through the
// answers, or not at all when no answer was captured.
func (w *Worker) dnsMessage(b []byte, src, dst netip.AddrPort, ts time.Time) {
	u := &w.udp
	m := &u.dns
	m.Reset()
	if err := dnsparse.Parse(b, m); err != nil {
		w.stats.DNSErrors++
		return
	}
	w.stats.DNSMessages++
	if !m.Response() {
		return
	}
	for qi := range m.Questions {
		q := &m.Questions[qi]
		ev := &u.ev
		*ev = exchange.DNS{
			Time:   ts,
			Client: dst.Addr(),
			Server: src,
			Name:   u.intern(q.Name),
			QType:  q.Type,
			RCode:  m.RCode(),
			CNAMEs: ev.CNAMEs[:0],
			Addrs:  ev.Addrs[:0],
		}
		// Follow the chain from the question through CNAMEs (RFC 1034
		// §3.6.2), collecting the addresses of the last name.
		name := q.Name
		minTTL := uint32(0)
		for hop := 0; hop < 16; hop++ {
			next := []byte(nil)
			for ai := range m.Answers {
				a := &m.Answers[ai]
				if !equalName(a.Name, name) {
					continue
				}
				switch a.Type {
				case dnsparse.TypeCNAME:
					next = a.Target
				case dnsparse.TypeA, dnsparse.TypeAAAA:
					ev.Addrs = append(ev.Addrs, a.Addr)
				default:
					continue
				}
				if minTTL == 0 || a.TTL < minTTL {
					minTTL = a.TTL
				}
			}
			if next == nil {
				break
			}
			ev.CNAMEs = append(ev.CNAMEs, u.intern(next))
			name = next
		}
		ev.TTL = minTTL
		// An empty list goes out as nil, whatever the worker emitted
		// before: its reused buffers would make it empty but not nil after
		// the first answer, and the output would depend on which worker a
		// flow went to. The buffers are kept for the next event.
		cnames, addrs := ev.CNAMEs, ev.Addrs
		if len(cnames) == 0 {
			ev.CNAMEs = nil
		}
		if len(addrs) == 0 {
			ev.Addrs = nil
		}
		w.emit.DNS(ev)
		ev.CNAMEs, ev.Addrs = cnames, addrs
	}
}

// equalName compares two DNS names without regard to ASCII case.
func equalName(a, b []byte) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		x, y := a[i], b[i]
		if 'A' <= x && x <= 'Z' {
			x += 'a' - 'A'
		}
		if 'A' <= y && y <= 'Z' {
			y += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}

// quicInitial feeds a client datagram on UDP 443 to the QUIC Initial
// assembler; once the ClientHello is complete the flow gets its SNI, ALPN
// and JA4, as a TLS flow would.
func (w *Worker) quicInitial(c *conn, b []byte, ts time.Time) {
	u := &w.udp
	if u.quic == nil {
		u.quic = quic.NewAssembler(quic.Config{})
	}
	done, err := u.quic.Feed(b, ts, &u.result)
	if err != nil || !done {
		return
	}
	w.stats.QUICInitials++
	h := &u.result.Hello
	c.sni = strings.ToLower(string(h.ServerName))
	c.alpn = c.alpn[:0]
	for _, p := range h.ALPN {
		c.alpn = append(c.alpn, string(p))
	}
	c.ja4 = u.result.JA4()
}
