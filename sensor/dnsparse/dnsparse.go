package dnsparse

import (
	"errors"
	"net/netip"
)

// Errors returned by Parse and SplitTCP, preallocated for the packet path.
var (
	// ErrShort means the message ends inside its header or a record.
	ErrShort = errors.New("dnsparse: message truncated")
	// ErrName means a malformed name: a label over 63 bytes, a name over
	// 255, a reserved label type, or a compression pointer that does not
	// point backwards.
	ErrName = errors.New("dnsparse: malformed name")
	// ErrTooMany means more records than Limits allow.
	ErrTooMany = errors.New("dnsparse: too many records")
	// ErrRData means an A, AAAA or CNAME record whose data does not match
	// its type.
	ErrRData = errors.New("dnsparse: bad record data")
)

// Record types and classes the parser interprets.
const (
	TypeA     uint16 = 1
	TypeCNAME uint16 = 5
	TypeAAAA  uint16 = 28
	ClassIN   uint16 = 1
)

const (
	headerLen = 12
	maxName   = 255 // wire length, RFC 1035 §2.3.4
	maxLabel  = 63
	// maxJumps bounds pointer chasing; backwards-only pointers already
	// forbid loops, this caps the work on a name of single-label hops.
	maxJumps = 64
	// MaxQuestions and MaxAnswers bound one message. Real messages carry
	// one question; mDNS responses carry a few dozen answers at most.
	MaxQuestions = 64
	MaxAnswers   = 256
)

// Question is one entry of the question section. Name points into the
// Message's storage.
type Question struct {
	Name  []byte
	Type  uint16
	Class uint16 // with mDNS's unicast-response bit (0x8000) cleared
	// UnicastResponse is the mDNS QU bit (RFC 6762 §5.4).
	UnicastResponse bool
}

// Answer is an A, AAAA or CNAME record of the answer section.
type Answer struct {
	Name  []byte
	Type  uint16
	Class uint16 // with mDNS's cache-flush bit cleared
	TTL   uint32
	// Addr is set for A and AAAA.
	Addr netip.Addr
	// Target is set for CNAME; it points into the Message's storage.
	Target []byte
}

// Message is a decoded DNS message. Its slices, and the names they point
// to, are owned by the Message and overwritten by the next Parse into it. A
// Message is not safe for concurrent use.
type Message struct {
	ID    uint16
	Flags uint16
	// Counts as the header states them.
	QDCount, ANCount, NSCount, ARCount uint16
	Questions                          []Question
	// Answers holds the A, AAAA and CNAME records of the answer section, in
	// order; Skipped counts the answer records of other types.
	Answers []Answer
	Skipped int

	names []byte // backing storage for every name
}

// Response reports the QR bit.
func (m *Message) Response() bool { return m.Flags&0x8000 != 0 }

// Opcode returns the 4-bit opcode.
func (m *Message) Opcode() uint8 { return uint8(m.Flags >> 11 & 0xf) }

// Truncated reports the TC bit: a UDP answer cut short.
func (m *Message) Truncated() bool { return m.Flags&0x0200 != 0 }

// RCode returns the 4-bit response code of the header.
func (m *Message) RCode() uint8 { return uint8(m.Flags & 0xf) }

// Reset empties m, keeping its storage.
func (m *Message) Reset() {
	*m = Message{
		Questions: m.Questions[:0],
		Answers:   m.Answers[:0],
		names:     m.names[:0],
	}
}

// Parse decodes the DNS message b into out: header, questions, and the
// answer section (A, AAAA, CNAME kept; others skipped). The authority and
// additional sections are not read. Over TCP, b is one message without its
// 2-byte length prefix (see SplitTCP). On error out holds what was decoded
// before the fault.
func Parse(b []byte, out *Message) error {
	out.Reset()
	if len(b) < headerLen {
		return ErrShort
	}
	out.ID = be16(b[0:])
	out.Flags = be16(b[2:])
	out.QDCount, out.ANCount = be16(b[4:]), be16(b[6:])
	out.NSCount, out.ARCount = be16(b[8:]), be16(b[10:])
	if out.QDCount > MaxQuestions || out.ANCount > MaxAnswers {
		return ErrTooMany
	}

	off := headerLen
	for range out.QDCount {
		name, next, err := out.name(b, off)
		if err != nil {
			return err
		}
		if len(b) < next+4 {
			return ErrShort
		}
		class := be16(b[next+2:])
		out.Questions = append(out.Questions, Question{
			Name:            name,
			Type:            be16(b[next:]),
			Class:           class &^ 0x8000,
			UnicastResponse: class&0x8000 != 0,
		})
		off = next + 4
	}

	for range out.ANCount {
		name, next, err := out.name(b, off)
		if err != nil {
			return err
		}
		if len(b) < next+10 {
			return ErrShort
		}
		typ, class := be16(b[next:]), be16(b[next+2:])
		ttl := uint32(be16(b[next+4:]))<<16 | uint32(be16(b[next+6:]))
		rdlen := int(be16(b[next+8:]))
		rdata := next + 10
		if len(b) < rdata+rdlen {
			return ErrShort
		}
		off = rdata + rdlen
		a := Answer{Name: name, Type: typ, Class: class &^ 0x8000, TTL: ttl}
		switch typ {
		case TypeA:
			if rdlen != 4 {
				return ErrRData
			}
			a.Addr = netip.AddrFrom4([4]byte(b[rdata:off]))
		case TypeAAAA:
			if rdlen != 16 {
				return ErrRData
			}
			a.Addr = netip.AddrFrom16([16]byte(b[rdata:off]))
		case TypeCNAME:
			// The target may use compression, so it is decoded against the
			// whole message, but it must end inside its rdata.
			target, end, err := out.name(b[:off], rdata)
			if err != nil {
				return err
			}
			if end != off {
				return ErrRData
			}
			a.Target = target
		default:
			out.Skipped++
			continue
		}
		out.Answers = append(out.Answers, a)
	}
	return nil
}

// name decodes the name at off, appends it (lower-case, dotted, no trailing
// dot) to m.names and returns it with the offset just past its in-place part.
func (m *Message) name(b []byte, off int) (name []byte, next int, err error) {
	start := len(m.names)
	next = -1
	wire := 0    // wire length: label bytes plus length octets
	limit := off // pointers must land strictly before this offset
	for jumps := 0; ; {
		if off >= len(b) {
			return nil, 0, ErrShort
		}
		c := int(b[off])
		switch c & 0xc0 {
		case 0x00:
			wire += 1 + c
			if wire > maxName {
				return nil, 0, ErrName
			}
			if c == 0 {
				if next < 0 {
					next = off + 1
				}
				return m.names[start:len(m.names):len(m.names)], next, nil
			}
			if off+1+c > len(b) {
				return nil, 0, ErrShort
			}
			if len(m.names) > start {
				m.names = append(m.names, '.')
			}
			for _, ch := range b[off+1 : off+1+c] {
				if 'A' <= ch && ch <= 'Z' {
					ch += 'a' - 'A'
				}
				m.names = append(m.names, ch)
			}
			off += 1 + c
		case 0xc0:
			// RFC 1035 §4.1.4 compression pointer.
			if off+1 >= len(b) {
				return nil, 0, ErrShort
			}
			ptr := (c&0x3f)<<8 | int(b[off+1])
			if next < 0 {
				next = off + 2
			}
			if ptr >= limit || jumps >= maxJumps {
				return nil, 0, ErrName
			}
			jumps++
			off, limit = ptr, ptr
		default:
			// 0x40 and 0x80: extended label types (RFC 6891), unused.
			return nil, 0, ErrName
		}
	}
}

// SplitTCP splits the first length-prefixed message (RFC 1035 §4.2.2,
// RFC 7766) off a TCP stream buffer. It returns ErrShort when the buffer
// does not yet hold the whole message; msg and rest alias stream.
func SplitTCP(stream []byte) (msg, rest []byte, err error) {
	if len(stream) < 2 {
		return nil, stream, ErrShort
	}
	n := int(be16(stream))
	if len(stream) < 2+n {
		return nil, stream, ErrShort
	}
	return stream[2 : 2+n], stream[2+n:], nil
}

func be16(b []byte) uint16 { return uint16(b[0])<<8 | uint16(b[1]) }
