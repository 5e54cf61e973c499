// Package httpparse turns the two reassembled byte streams of one TCP
// connection into HTTP messages: HTTP/1.0 and HTTP/1.1 (RFC 9112), and
// cleartext HTTP/2 (h2c, RFC 9113) reached by prior knowledge or by an
// "Upgrade: h2c" handshake.
//
// Input: the core calls Conn.Feed with ordered chunks of each direction, and
// Conn.Gap when bytes were lost. Which direction is the client is not told:
// the Conn decides from the bytes (a request line, a status line or the
// HTTP/2 preface) and reports it through Conn.ClientDir.
//
// Output: a Handler receives each complete Request, each complete Response
// already paired with the Request it answers, and Events (upgrades, h2c,
// resyncs, parse errors with a Reason) meant for counters. Messages are views
// into buffers the Conn owns and reuses: they are valid only during the
// callback.
//
// # Resynchronisation
//
// After a gap that framing cannot absorb, a rejected message, or at the
// start of a capture that begins mid-stream, a direction discards bytes until
// the next plausible start: a known method, SP, a target, SP and "HTTP/1.d"
// at the end of the line for requests, "HTTP/1.d SP 3DIGIT" for responses.
// A gap inside a body of known length (Content-Length, or inside one chunk)
// only shortens the body and flags the message FlagGap.
//
// # Pairing
//
// Responses answer pending requests in order (a bounded queue, so
// pipelining works). A request head lost to a gap leaves a placeholder: its
// response is reported with a nil Request. Once the response direction
// loses sync, the next response answers the newest pending request and the
// older ones are reported as EventNoResponse; that is right for clients
// with one request in flight, and can mispair a pipelined burst that lost
// responses. Interim 1xx responses (100 Continue, 103) are reported as
// EventInterim and never paired: the final response is. For HTTP/2, pairs
// are made by stream id; the request that carried "Upgrade: h2c" is stream 1.
//
// # Limits
//
// Trailer fields are skipped, not reported. A gap in an HTTP/2 direction
// ends HTTP/2 parsing of that direction, because the HPACK table can no
// longer be trusted. Bodies are decoded (gzip, deflate, br, zstd, stacked)
// only with Config.DecodeBodies, and only up to Config.MaxBodyPrefix.
//
// # Memory
//
// A Conn keeps what outlives a chunk: a copy of each request waiting for
// its response, the header block of a message whose body spans chunks, a
// bounded body prefix. A worker driving many connections gives its Conns
// one Scratch (Conn.SetScratch): these buffers are then lent for the life
// of one message and given back, and the last one given back is lent next,
// so the working set stays that of the few messages in flight rather than
// of every connection.
//
// This is the hot path of the sensor. In steady state Feed allocates nothing
// per chunk, never uses regexps or fmt, and never panics on any input:
// malformed traffic is counted by Reason, never returned as an error value.
package httpparse
