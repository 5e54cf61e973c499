package httpparse

import "time"

// Protocol names carried by Message.Proto. They match the exchange package.
const (
	ProtoHTTP10 = "http/1.0"
	ProtoHTTP11 = "http/1.1"
	ProtoH2C    = "h2c"
)

// Header is one header field as it appeared on the wire (for HTTP/1.x, the
// value has its surrounding whitespace removed, and obs-fold line breaks
// replaced by spaces). Both slices point into Conn-owned memory and are
// valid only during the Handler call.
type Header struct {
	Name  []byte
	Value []byte
}

// Flags describe how a message was parsed.
type Flags uint16

const (
	// FlagGap: bytes of the message were lost (a Gap fell inside its body
	// of known length, or cut it short).
	FlagGap Flags = 1 << iota
	// FlagTruncated: Body is shorter than the (decoded) body.
	FlagTruncated
	// FlagCloseDelimited: the body ended with the connection (RFC 9112
	// §6.3 rule 8).
	FlagCloseDelimited
	// FlagIncomplete: the message ended early (connection closed or bytes
	// lost before the framing said it was done).
	FlagIncomplete
	// FlagDecodeError: Content-Encoding decoding failed; Body holds what
	// was decoded before the error.
	FlagDecodeError
	// FlagFolded: a header used obs-fold continuation lines.
	FlagFolded
	// FlagUpgrade: the request asked for a protocol upgrade, or the
	// response switched protocols.
	FlagUpgrade
	// FlagBadFraming: the head parsed but its length could not be trusted
	// (invalid or conflicting Content-Length, a Transfer-Encoding other
	// than chunked on a request, Transfer-Encoding on HTTP/1.0). The
	// message is reported with no body and the direction resynchronises.
	FlagBadFraming
)

// Message is what requests and responses share. All slices are views into
// Conn-owned memory, valid only during the Handler call.
type Message struct {
	// Proto is ProtoHTTP10, ProtoHTTP11 or ProtoH2C.
	Proto   string
	Headers []Header
	// ContentLength is the declared Content-Length, or -1 when absent (or
	// ignored because the message is chunked).
	ContentLength int64
	Chunked       bool
	// BodyBytes is the body size on the wire after de-chunking and before
	// content decoding; for HTTP/2, the sum of DATA payloads.
	BodyBytes int64
	// Body is a prefix of the body, decoded when Encoding is set, bounded
	// by Config.MaxBodyPrefix; FlagTruncated says it is not all of it.
	Body []byte
	// Encoding is the Content-Encoding that was decoded into Body, as sent
	// ("gzip", "gzip, br"); empty when Body holds the wire bytes.
	Encoding string
	// Start and End are the timestamps of the chunks that carried the
	// first and the last byte of the message.
	Start, End time.Time
	Flags      Flags
	// StreamID is the HTTP/2 stream, 0 for HTTP/1.x.
	StreamID uint32
}

// Header returns the value of the first field named name, compared
// ASCII-case-insensitively, and whether there was one. It allocates nothing.
func (m *Message) Header(name string) ([]byte, bool) {
	for i := range m.Headers {
		if equalFold(m.Headers[i].Name, name) {
			return m.Headers[i].Value, true
		}
	}
	return nil, false
}

// ContentType returns the Content-Type value, or nil.
func (m *Message) ContentType() []byte {
	v, _ := m.Header("content-type")
	return v
}

// Request is one parsed request. Views are valid only during the Handler
// call that received it (or, for Response.Request, during that call).
type Request struct {
	Message
	// Method is interned: converting it costs nothing and it may be kept.
	Method string
	// Target is the raw request-target as sent: origin-form "/p?q",
	// absolute-form "http://h/p", authority-form "h:443" (CONNECT) or "*".
	// For HTTP/2 it is :path.
	Target []byte
	// Authority is the Host header (HTTP/1.x) or :authority (HTTP/2).
	Authority []byte
	// Scheme is :scheme for HTTP/2, nil for HTTP/1.x.
	Scheme []byte
}

// Response is one parsed final response.
type Response struct {
	Message
	Status int
	Reason []byte
	// Request is the request this response answers, nil when it was
	// never seen (capture started mid-stream, or lost to a gap).
	Request *Request
}

// equalFold reports whether b equals the lower-case ASCII string s,
// ignoring the case of b.
func equalFold(b []byte, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i := 0; i < len(b); i++ {
		c := b[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != s[i] && !(s[i] >= 'A' && s[i] <= 'Z' && c == s[i]+'a'-'A') {
			return false
		}
	}
	return true
}

// methods are the request methods resynchronisation trusts (RFC 9110 §9
// plus the WebDAV and PATCH extensions seen on real APIs). Any token is
// accepted as a method when the stream is in sync.
var methods = [...]string{
	"GET", "POST", "PUT", "DELETE", "HEAD", "OPTIONS", "PATCH", "CONNECT",
	"TRACE", "PROPFIND", "PROPPATCH", "MKCOL", "COPY", "MOVE", "LOCK",
	"UNLOCK", "REPORT", "SEARCH", "PURGE", "MKCALENDAR",
}

// knownMethod returns the interned method for b, or "" if b is not one of
// methods. The string(b) comparisons do not allocate.
func knownMethod(b []byte) string {
	for _, m := range methods {
		if len(m) == len(b) && string(b) == m {
			return m
		}
	}
	return ""
}
