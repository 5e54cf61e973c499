package decode

import (
	"encoding/binary"
	"net/netip"
	"time"

	"github.com/apitap/apitap/sensor/capture"
)

// Transport protocol numbers.
const (
	ProtoTCP = 6
	ProtoUDP = 17
)

// TCP flags, as in the header's flag byte.
const (
	FlagFIN = 0x01
	FlagSYN = 0x02
	FlagRST = 0x04
	FlagPSH = 0x08
	FlagACK = 0x10
)

// Reason says why a frame produced no packet. Each has a counter.
type Reason uint8

const (
	OK                Reason = iota
	ReasonLinkType           // a link type we do not decode
	ReasonEtherType          // a layer-3 protocol other than IPv4/IPv6
	ReasonShort              // a header cut short (snaplen or corruption)
	ReasonBadIP              // an invalid IP header
	ReasonBadTCP             // an invalid TCP header
	ReasonBadUDP             // an invalid UDP header
	ReasonOtherProto         // IP carrying neither TCP nor UDP (ICMP, …)
	ReasonFragment           // an IP fragment held for reassembly
	ReasonFragDropped        // fragments given up (timeout, limits, overlap)
	ReasonTunnelDepth        // too many nested encapsulations
	numReasons
)

var reasonNames = [numReasons]string{
	OK:                "ok",
	ReasonLinkType:    "unsupported_link_type",
	ReasonEtherType:   "non_ip",
	ReasonShort:       "truncated_header",
	ReasonBadIP:       "bad_ip_header",
	ReasonBadTCP:      "bad_tcp_header",
	ReasonBadUDP:      "bad_udp_header",
	ReasonOtherProto:  "non_tcp_udp",
	ReasonFragment:    "ip_fragment_held",
	ReasonFragDropped: "ip_fragment_dropped",
	ReasonTunnelDepth: "tunnel_too_deep",
}

// String returns the reason's counter name.
func (r Reason) String() string {
	if r < numReasons {
		return reasonNames[r]
	}
	return "unknown"
}

// Packet is one decoded TCP segment or UDP datagram.
//
// Payload points into the frame passed to Decode (or into the decoder's
// fragment buffer); it is valid until the next call to Decode.
type Packet struct {
	Time     time.Time
	Src, Dst netip.Addr
	SrcPort  uint16
	DstPort  uint16
	Proto    uint8 // ProtoTCP or ProtoUDP
	Flags    uint8 // TCP flags
	Seq, Ack uint32
	Window   uint16
	Payload  []byte
	// Truncated is set when the capture cut the payload short: the packet
	// carried Missing more bytes than Payload holds.
	Truncated bool
	Missing   int
}

// Stats counts what the decoder saw. Read it from the decoding goroutine.
type Stats struct {
	Frames    uint64
	Packets   uint64 // TCP and UDP packets returned
	Truncated uint64 // packets whose payload the capture cut short
	Rejected  [numReasons]uint64
}

// Reasons calls fn for every rejection reason with a non-zero count.
func (s *Stats) Reasons(fn func(name string, n uint64)) {
	for r := Reason(1); r < numReasons; r++ {
		if s.Rejected[r] > 0 {
			fn(r.String(), s.Rejected[r])
		}
	}
}

// maxTunnelDepth bounds nested encapsulations (GRE in IP in IP …) so that a
// crafted packet cannot make the decoder loop.
const maxTunnelDepth = 4

// Decoder decodes frames. The zero value is not usable; call New.
type Decoder struct {
	Stats Stats
	frags *fragTable
}

// New returns a decoder. fragLimit bounds the bytes held for IPv4 fragment
// reassembly (0 means 4 MiB).
func New(fragLimit int) *Decoder {
	if fragLimit <= 0 {
		fragLimit = 4 << 20
	}
	return &Decoder{frags: newFragTable(fragLimit)}
}

// Decode decodes one frame of the given link type into p. It returns OK
// when p holds a TCP or UDP packet, and otherwise the reason it does not.
func (d *Decoder) Decode(link capture.LinkType, frame []byte, ts time.Time, p *Packet) Reason {
	d.Stats.Frames++
	*p = Packet{Time: ts}
	r := d.link(link, frame, p)
	if r == OK {
		d.Stats.Packets++
		if p.Truncated {
			d.Stats.Truncated++
		}
	} else {
		d.Stats.Rejected[r]++
	}
	return r
}

// Link-layer framing constants.
const (
	etherIPv4      = 0x0800
	etherIPv6      = 0x86dd
	etherVLAN      = 0x8100
	etherQinQ      = 0x88a8
	etherQinQOld   = 0x9100
	etherPPPoE     = 0x8864
	etherMPLS      = 0x8847
	etherMPLSMcast = 0x8848
	etherTEB       = 0x6558 // transparent Ethernet bridging, in GRE
)

func (d *Decoder) link(link capture.LinkType, b []byte, p *Packet) Reason {
	switch link {
	case capture.LinkEthernet:
		return d.ethernet(b, p, 0)
	case capture.LinkLinuxSLL:
		// 16 bytes: packet type, ARPHRD, address length, 8 address bytes,
		// then the protocol (an EtherType).
		if len(b) < 16 {
			return ReasonShort
		}
		return d.ether(binary.BigEndian.Uint16(b[14:16]), b[16:], p, 0)
	case capture.LinkLinuxSLL2:
		// 20 bytes: the protocol comes first.
		if len(b) < 20 {
			return ReasonShort
		}
		return d.ether(binary.BigEndian.Uint16(b[0:2]), b[20:], p, 0)
	case capture.LinkRaw, capture.LinkRawBSD, capture.LinkRawBSD14, capture.LinkIPv4,
		capture.LinkIPv6:
		return d.ipAny(b, p, 0)
	case capture.LinkNull, capture.LinkLoop:
		// A 4-byte address family: host order for NULL (so either byte
		// order, depending on who wrote the file), network order for LOOP.
		if len(b) < 4 {
			return ReasonShort
		}
		fam := binary.LittleEndian.Uint32(b)
		if fam > 0xffff {
			fam = binary.BigEndian.Uint32(b)
		}
		switch fam {
		case 2:
			return d.ipv4(b[4:], p, 0)
		case 10, 24, 28, 30: // AF_INET6 on Linux, NetBSD/OpenBSD, FreeBSD, macOS
			return d.ipv6(b[4:], p, 0)
		}
		return ReasonEtherType
	}
	return ReasonLinkType
}

func (d *Decoder) ethernet(b []byte, p *Packet, depth int) Reason {
	if len(b) < 14 {
		return ReasonShort
	}
	return d.ether(binary.BigEndian.Uint16(b[12:14]), b[14:], p, depth)
}

// ether decodes the payload of a frame with the given EtherType, peeling
// VLAN tags (802.1Q, QinQ), PPPoE sessions and MPLS label stacks.
func (d *Decoder) ether(typ uint16, b []byte, p *Packet, depth int) Reason {
	for i := 0; i < 8; i++ {
		switch typ {
		case etherIPv4:
			return d.ipv4(b, p, depth)
		case etherIPv6:
			return d.ipv6(b, p, depth)
		case etherVLAN, etherQinQ, etherQinQOld:
			if len(b) < 4 {
				return ReasonShort
			}
			typ = binary.BigEndian.Uint16(b[2:4])
			b = b[4:]
		case etherPPPoE:
			// A 6-byte PPPoE header, then the PPP protocol: two bytes, or
			// one when the peers negotiated protocol field compression
			// (RFC 1661 §6.5: an odd first byte is the whole field).
			if len(b) < 8 {
				return ReasonShort
			}
			proto, n := binary.BigEndian.Uint16(b[6:8]), 8
			if b[6]&1 == 1 {
				proto, n = uint16(b[6]), 7
			}
			switch proto {
			case 0x0021:
				return d.ipv4(b[n:], p, depth)
			case 0x0057:
				return d.ipv6(b[n:], p, depth)
			}
			return ReasonEtherType
		case etherMPLS, etherMPLSMcast:
			return d.mpls(b, p, depth)
		default:
			return ReasonEtherType
		}
	}
	return ReasonTunnelDepth
}

// mpls skips the label stack and guesses what follows, as the label itself
// does not say: IPv4 or IPv6 by version nibble, or an Ethernet pseudowire
// behind a zero control word.
func (d *Decoder) mpls(b []byte, p *Packet, depth int) Reason {
	for i := 0; ; i++ {
		if len(b) < 4 || i > 16 {
			return ReasonShort
		}
		bottom := b[2]&1 == 1
		b = b[4:]
		if bottom {
			break
		}
	}
	if len(b) == 0 {
		return ReasonShort
	}
	switch b[0] >> 4 {
	case 4:
		return d.ipv4(b, p, depth)
	case 6:
		return d.ipv6(b, p, depth)
	case 0:
		if len(b) < 4 {
			return ReasonShort
		}
		if depth >= maxTunnelDepth {
			return ReasonTunnelDepth
		}
		return d.ethernet(b[4:], p, depth+1)
	}
	return ReasonEtherType
}

func (d *Decoder) ipAny(b []byte, p *Packet, depth int) Reason {
	if len(b) == 0 {
		return ReasonShort
	}
	switch b[0] >> 4 {
	case 4:
		return d.ipv4(b, p, depth)
	case 6:
		return d.ipv6(b, p, depth)
	}
	return ReasonBadIP
}

func (d *Decoder) ipv4(b []byte, p *Packet, depth int) Reason {
	if len(b) < 20 {
		return ReasonShort
	}
	ihl := int(b[0]&0x0f) * 4
	if b[0]>>4 != 4 || ihl < 20 {
		return ReasonBadIP
	}
	if len(b) < ihl {
		return ReasonShort
	}
	total := int(binary.BigEndian.Uint16(b[2:4]))
	// Offloads (TSO) leave a zero total length in captures; trust the frame.
	if total == 0 {
		total = len(b)
	}
	if total < ihl {
		return ReasonBadIP
	}
	missing := 0
	if total > len(b) {
		missing = total - len(b)
	} else {
		b = b[:total] // drop Ethernet padding
	}
	p.Src = netip.AddrFrom4([4]byte(b[12:16]))
	p.Dst = netip.AddrFrom4([4]byte(b[16:20]))
	proto := b[9]
	payload := b[ihl:]

	flagsFrag := binary.BigEndian.Uint16(b[6:8])
	if flagsFrag&0x3fff != 0 { // more fragments, or a non-zero offset
		if missing > 0 {
			d.Stats.Rejected[ReasonFragDropped]++
			return ReasonShort
		}
		whole, r := d.frags.add(b[:ihl], payload, p.Time)
		if r != OK {
			return r
		}
		payload = whole
	}
	return d.transport(proto, payload, missing, p, depth)
}

func (d *Decoder) ipv6(b []byte, p *Packet, depth int) Reason {
	if len(b) < 40 {
		return ReasonShort
	}
	if b[0]>>4 != 6 {
		return ReasonBadIP
	}
	plen := int(binary.BigEndian.Uint16(b[4:6]))
	missing := 0
	body := b[40:]
	if plen == 0 {
		// A jumbogram, or a TSO capture: use what we have.
	} else if plen > len(body) {
		missing = plen - len(body)
	} else {
		body = body[:plen]
	}
	p.Src = netip.AddrFrom16([16]byte(b[8:24]))
	p.Dst = netip.AddrFrom16([16]byte(b[24:40]))
	next := b[6]
	// Walk the extension headers (RFC 8200 §4) to the upper layer.
	for i := 0; i < 8; i++ {
		switch next {
		case 0, 43, 60: // hop-by-hop, routing, destination options
			if len(body) < 8 {
				return ReasonShort
			}
			n := (int(body[1]) + 1) * 8
			if len(body) < n {
				return ReasonShort
			}
			next = body[0]
			body = body[n:]
		case 44: // fragment: reassembly of IPv6 fragments is not done
			if len(body) < 8 {
				return ReasonShort
			}
			if binary.BigEndian.Uint16(body[2:4])&0xfff9 != 0 {
				return ReasonFragDropped
			}
			next = body[0]
			body = body[8:] // an atomic fragment: offset 0, no more
		default:
			return d.transport(next, body, missing, p, depth)
		}
	}
	return ReasonBadIP
}

func (d *Decoder) transport(proto uint8, b []byte, missing int, p *Packet, depth int) Reason {
	switch proto {
	case ProtoTCP:
		return d.tcp(b, missing, p)
	case ProtoUDP:
		return d.udp(b, missing, p)
	case 4: // IPv4 in IP
		if depth >= maxTunnelDepth {
			return ReasonTunnelDepth
		}
		return d.ipv4(b, p, depth+1)
	case 41: // IPv6 in IP (6in4)
		if depth >= maxTunnelDepth {
			return ReasonTunnelDepth
		}
		return d.ipv6(b, p, depth+1)
	case 47:
		if depth >= maxTunnelDepth {
			return ReasonTunnelDepth
		}
		return d.gre(b, p, depth+1)
	}
	return ReasonOtherProto
}

// gre decodes GRE (RFC 2784, with RFC 2890 key and sequence fields).
func (d *Decoder) gre(b []byte, p *Packet, depth int) Reason {
	if len(b) < 4 {
		return ReasonShort
	}
	flags := b[0]
	n := 4
	if flags&0x80 != 0 { // checksum present (and reserved1)
		n += 4
	}
	if flags&0x20 != 0 { // key
		n += 4
	}
	if flags&0x10 != 0 { // sequence number
		n += 4
	}
	if len(b) < n {
		return ReasonShort
	}
	typ := binary.BigEndian.Uint16(b[2:4])
	if typ == etherTEB {
		return d.ethernet(b[n:], p, depth)
	}
	return d.ether(typ, b[n:], p, depth)
}

func (d *Decoder) tcp(b []byte, missing int, p *Packet) Reason {
	if len(b) < 20 {
		return ReasonShort
	}
	off := int(b[12]>>4) * 4
	if off < 20 {
		return ReasonBadTCP
	}
	if len(b) < off {
		return ReasonShort
	}
	p.Proto = ProtoTCP
	p.SrcPort = binary.BigEndian.Uint16(b[0:2])
	p.DstPort = binary.BigEndian.Uint16(b[2:4])
	p.Seq = binary.BigEndian.Uint32(b[4:8])
	p.Ack = binary.BigEndian.Uint32(b[8:12])
	p.Flags = b[13]
	p.Window = binary.BigEndian.Uint16(b[14:16])
	p.Payload = b[off:]
	if missing > 0 {
		p.Truncated = true
		p.Missing = missing
	}
	return OK
}

func (d *Decoder) udp(b []byte, missing int, p *Packet) Reason {
	if len(b) < 8 {
		return ReasonShort
	}
	p.Proto = ProtoUDP
	p.SrcPort = binary.BigEndian.Uint16(b[0:2])
	p.DstPort = binary.BigEndian.Uint16(b[2:4])
	ulen := int(binary.BigEndian.Uint16(b[4:6]))
	body := b[8:]
	if ulen >= 8 && ulen-8 <= len(body) {
		body = body[:ulen-8]
	} else if ulen != 0 && ulen < 8 {
		return ReasonBadUDP
	}
	p.Payload = body
	if missing > 0 {
		p.Truncated = true
		p.Missing = missing
	}
	return OK
}
