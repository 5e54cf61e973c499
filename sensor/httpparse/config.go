package httpparse

import "time"

// Config holds the limits of a Conn. The zero value works: each field
// documents the default used when it is zero or negative. A Config may be
// shared by many Conns and must not change while they use it.
type Config struct {
	// MaxHeaderBytes bounds the whole header block of one message (start
	// line included), in bytes. Default 64 KiB. A longer block is rejected
	// with ReasonHeaderTooLarge and the direction resynchronises.
	MaxHeaderBytes int
	// MaxHeaders bounds the number of header fields of one message.
	// Default 128. More fields are rejected with ReasonTooManyHeaders.
	MaxHeaders int
	// MaxBodyPrefix bounds the body bytes kept per message (after content
	// decoding when DecodeBodies is set), in bytes. Default 64 KiB. The
	// wire size is still counted past it.
	MaxBodyPrefix int
	// MaxPending bounds the requests waiting for a response on one
	// connection (pipelining). Default 32. When full, the oldest is
	// reported with EventNoResponse and dropped. Each pending request
	// keeps a copy of its header block and body prefix, so a Conn holds
	// at most MaxPending × (MaxHeaderBytes + MaxBodyPrefix) bytes for them.
	MaxPending int
	// MaxStreams bounds the open HTTP/2 streams of one connection.
	// Default 128. A new stream beyond it is ignored and counted as
	// ReasonTooManyStreams.
	MaxStreams int
	// DecodeBodies makes the Conn decode Content-Encoding gzip, deflate
	// (zlib-wrapped or raw), zstd and br, stacked up to four deep, into the
	// body prefix. Default false: Body holds the bytes as sent.
	DecodeBodies bool
}

const (
	defaultMaxHeaderBytes = 64 << 10
	defaultMaxHeaders     = 128
	defaultMaxBodyPrefix  = 64 << 10
	defaultMaxPending     = 32
	defaultMaxStreams     = 128

	// maxStartLine bounds how far back resynchronisation looks for the
	// beginning of a request line; longer lines are not recognised after
	// a gap (they still parse when the stream is in sync).
	maxStartLine = 8 << 10
)

func (c *Config) maxHeaderBytes() int {
	if c == nil || c.MaxHeaderBytes <= 0 {
		return defaultMaxHeaderBytes
	}
	return c.MaxHeaderBytes
}

func (c *Config) maxHeaders() int {
	if c == nil || c.MaxHeaders <= 0 {
		return defaultMaxHeaders
	}
	return c.MaxHeaders
}

func (c *Config) maxBodyPrefix() int {
	if c == nil || c.MaxBodyPrefix <= 0 {
		return defaultMaxBodyPrefix
	}
	return c.MaxBodyPrefix
}

func (c *Config) maxPending() int {
	if c == nil || c.MaxPending <= 0 {
		return defaultMaxPending
	}
	return c.MaxPending
}

func (c *Config) maxStreams() int {
	if c == nil || c.MaxStreams <= 0 {
		return defaultMaxStreams
	}
	return c.MaxStreams
}

func (c *Config) decodeBodies() bool { return c != nil && c.DecodeBodies }

// Dir labels one direction of a connection: 0 or 1, as the core numbers
// them. Which one is the client is decided by the Conn (see Conn.ClientDir).
type Dir uint8

// Reason says why a message or a stream was rejected. Each has a counter in
// Stats; the names are stable tokens for metrics labels.
type Reason uint8

const (
	ReasonNone            Reason = iota
	ReasonBadStartLine           // request or status line does not parse
	ReasonBadHeader              // header line without colon, bad name, etc.
	ReasonHeaderTooLarge         // header block over MaxHeaderBytes
	ReasonTooManyHeaders         // more than MaxHeaders fields
	ReasonBadLength              // invalid or conflicting Content-Length
	ReasonBadChunk               // chunk size line or chunk framing invalid
	ReasonBadTrailer             // trailer section malformed or too large
	ReasonGap                    // bytes lost where framing could not continue
	ReasonPendingOverflow        // more than MaxPending requests unanswered
	ReasonH2Frame                // HTTP/2 frame invalid
	ReasonH2HPACK                // HPACK block could not be decoded
	ReasonTooManyStreams         // more than MaxStreams HTTP/2 streams
	ReasonDecode                 // content decoding failed
	numReasons
)

var reasonNames = [numReasons]string{
	ReasonNone:            "none",
	ReasonBadStartLine:    "bad_start_line",
	ReasonBadHeader:       "bad_header",
	ReasonHeaderTooLarge:  "header_too_large",
	ReasonTooManyHeaders:  "too_many_headers",
	ReasonBadLength:       "bad_length",
	ReasonBadChunk:        "bad_chunk",
	ReasonBadTrailer:      "bad_trailer",
	ReasonGap:             "gap",
	ReasonPendingOverflow: "pending_overflow",
	ReasonH2Frame:         "h2_frame",
	ReasonH2HPACK:         "h2_hpack",
	ReasonTooManyStreams:  "h2_too_many_streams",
	ReasonDecode:          "decode",
}

// String returns the metric token of r, e.g. "bad_chunk".
func (r Reason) String() string {
	if r < numReasons {
		return reasonNames[r]
	}
	return "unknown"
}

// EventKind classifies an Event.
type EventKind uint8

const (
	// EventError: a message or frame was rejected; Reason says why.
	EventError EventKind = iota + 1
	// EventResync: the direction found a plausible message start again
	// after a gap, a rejection, or a capture that began mid-stream.
	EventResync
	// EventUpgrade: a 101 response switched the connection to another
	// protocol (websocket, ...); HTTP parsing of the connection stops.
	EventUpgrade
	// EventTunnel: a CONNECT request got a 2xx; the rest is opaque.
	EventTunnel
	// EventH2C: the connection now carries HTTP/2 (prior-knowledge
	// preface, or Upgrade: h2c and 101).
	EventH2C
	// EventInterim: a 1xx response other than 101 (100 Continue, 103
	// Early Hints). It is not paired: the final response is.
	EventInterim
	// EventNoResponse: a request will never be answered as far as the
	// Conn can tell (connection closed, pending queue overflow, responses
	// lost to a gap, HTTP/2 stream reset). Request points to it.
	EventNoResponse
	// EventGoAway: an HTTP/2 GOAWAY frame.
	EventGoAway
)

// Event is a protocol-level note, meant for counters rather than logs. It
// is valid only during the Handler call.
type Event struct {
	Kind    EventKind
	Reason  Reason // for EventError; ReasonGap for a resync after a gap
	Dir     Dir
	Time    time.Time
	Status  int      // EventInterim, EventUpgrade, EventTunnel
	Proto   []byte   // EventUpgrade: the Upgrade header value
	Request *Request // EventNoResponse, EventUpgrade, EventTunnel
}

// Handler receives what a Conn parses. Its methods run synchronously inside
// Feed, Gap and Close; every pointer they receive is valid only during the
// call.
type Handler interface {
	// Request is called once per complete request (headers and body).
	Request(m *Request)
	// Response is called once per complete final response. m.Request is
	// the request it answers, or nil when that request was never seen.
	Response(m *Response)
	// Event reports protocol-level notes.
	Event(e Event)
}

// Stats counts what one Conn saw since NewConn or Reset.
type Stats struct {
	Requests  uint64
	Responses uint64
	// Unanswered counts requests reported with EventNoResponse.
	Unanswered uint64
	Resyncs    uint64
	Gaps       uint64
	// Errors counts rejections by Reason; index with a Reason.
	Errors [numReasons]uint64
}
