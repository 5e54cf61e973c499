package exchange

import (
	"net/netip"
	"time"
)

// Direction says which side of a flow is on this host.
type Direction uint8

const (
	// DirUnknown: neither or both endpoints are local (a capture taken
	// elsewhere, or traffic between two local addresses).
	DirUnknown Direction = iota
	// DirInbound: the server is a local service and the client calls it.
	DirInbound
	// DirOutbound: a local client calls a remote server.
	DirOutbound
)

// String returns "inbound", "outbound" or "unknown".
func (d Direction) String() string {
	switch d {
	case DirInbound:
		return "inbound"
	case DirOutbound:
		return "outbound"
	}
	return "unknown"
}

// Protocol names as they appear in exchange records.
const (
	ProtoHTTP10 = "http/1.0"
	ProtoHTTP11 = "http/1.1"
	ProtoH2C    = "h2c"
	ProtoH2     = "h2"
	// SuffixTLS is appended when the plaintext came from a TLS library
	// (eBPF uprobes) rather than from the wire: "http/1.1+tls".
	SuffixTLS = "+tls"
)

// Process identifies the local process that owns a flow, when a source
// knows it (eBPF); nil otherwise.
type Process struct {
	PID       uint32 `json:"pid"`
	TID       uint32 `json:"tid,omitempty"`
	Comm      string `json:"comm"`
	CgroupID  uint64 `json:"cgroup,omitempty"`
	Container string `json:"container,omitempty"`
	Pod       string `json:"pod,omitempty"` // pod UID, or namespace/name when known
}

// Header is one header field as sent. Value may carry a credential: it is
// for detectors only and must never be emitted as is.
type Header struct {
	Name  string // canonical lower case
	Value string
}

// Message is one side of an exchange.
type Message struct {
	Headers     []Header
	ContentType string // media type only, lower case, no parameters
	// Bytes is the body size on the wire (after de-chunking, before
	// content decoding); Body is a decoded prefix of it, bounded by the
	// parser's body limit.
	Bytes int64
	Body  []byte
	// BodyTruncated is set when Body is shorter than the decoded body.
	BodyTruncated bool
	// Encoding is the Content-Encoding that was decoded ("gzip", …) or "".
	Encoding string
}

// Header returns the first value of the named (lower-case) header.
func (m *Message) Header(name string) (string, bool) {
	for i := range m.Headers {
		if m.Headers[i].Name == name {
			return m.Headers[i].Value, true
		}
	}
	return "", false
}

// Exchange is one HTTP request and, when it was seen, its response.
type Exchange struct {
	Start time.Time // first byte of the request
	End   time.Time // last byte of the response (or of the request)

	Client    netip.AddrPort
	Server    netip.AddrPort
	Direction Direction
	Protocol  string // ProtoHTTP11, ProtoH2C, … with SuffixTLS when decrypted

	Method string
	Host   string // Host header or :authority, lower case, port removed
	Path   string // request path without query, as sent (not decoded)
	// RawQuery is the query string without '?'. It may carry secrets:
	// detectors read it, nothing emits it.
	RawQuery  string
	QueryKeys []string // names of query parameters, in order, unique

	Status int // 0 when no response was seen

	Request  Message
	Response Message

	// Auth is the credential scheme the request carried: "basic",
	// "bearer", "api-key", "cookie", … or "" for none (see Credentials).
	Auth string
	// Creds is every kind of credential the request carried.
	Creds     Creds
	UserAgent string

	Process *Process // nil unless an eBPF source attributed the flow

	// Flags from the parser: the request or response lost bytes to a gap,
	// the connection was upgraded, etc.
	Flags Flags
}

// Flags record how an exchange ended.
type Flags uint16

const (
	FlagRequestGap  Flags = 1 << iota // request bytes were lost
	FlagResponseGap                   // response bytes were lost
	FlagUpgrade                       // 101 Switching Protocols or CONNECT 2xx
	FlagNoResponse                    // the flow ended before a response
)

// Flow summarises one transport flow when it ends (or is evicted). Analysis
// uses it for vendor callouts that carry no HTTP: TLS, and bytes counts.
type Flow struct {
	Start, End time.Time
	// Client is the side that opened the flow (sent the SYN, the first
	// request, or the first datagram); Server is the other side.
	Client, Server netip.AddrPort
	Transport      string // "tcp" or "udp"
	Direction      Direction
	BytesOut       int64 // payload bytes client → server
	BytesIn        int64 // payload bytes server → client
	Packets        int64

	// What the core recognised on the flow. Empty when unknown.
	AppProto string   // "http", "h2c", "tls", "quic", "dns", ""
	SNI      string   // TLS or QUIC server name
	ALPN     []string // offered by the client
	JA4      string   // client fingerprint
	// TLSVersion is the version the server chose, e.g. "1.3"; "" unknown.
	TLSVersion string
	// Hosts are the HTTP Host values seen on the flow (plaintext only).
	Hosts     []string
	Exchanges int

	Process *Process
}

// DNS is one DNS response: the question and what it resolved to.
type DNS struct {
	Time   time.Time
	Client netip.Addr // who asked
	Server netip.AddrPort
	Name   string // question name, lower case, no trailing dot
	QType  uint16
	RCode  uint8
	// CNAMEs is the chain from Name to the final name, in order.
	CNAMEs []string
	Addrs  []netip.Addr // A and AAAA answers
	TTL    uint32       // the smallest TTL of the answers used
}
