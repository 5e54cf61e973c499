// Package httpparse turns the two reassembled byte streams of one TCP
// connection into HTTP messages: HTTP/1.0 and HTTP/1.1 (RFC 9112), and
// cleartext HTTP/2 (h2c, RFC 9113) reached by prior knowledge or by an
// "Upgrade: h2c" handshake.
//
// Input: the core calls Conn.Feed with ordered chunks of each direction, and
// Conn.Gap when bytes were lost. Which direction is the client is not told:
// the Conn decides from the bytes (a request line or a status line) and
// reports it through Conn.ClientDir. A capture that starts in the middle of
// a message is handled by resynchronising on the next plausible start line.
//
// Output: a Handler receives each complete Request, each complete Response
// already paired with the Request it answers, and Events (upgrades, h2c,
// resyncs, parse errors with a Reason) meant for counters. Messages are views
// into buffers the Conn owns and reuses: they are valid only during the
// callback.
//
// This is the hot path of the sensor. In steady state Feed allocates nothing
// per chunk, never uses regexps or fmt, and never panics on any input:
// malformed traffic is counted by Reason, never returned as an error value.
package httpparse
