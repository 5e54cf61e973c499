// Package tlsparse reads the cleartext start of a TLS connection: the
// ClientHello a client sends and the ServerHello that answers it. From them
// the sensor learns who a flow talks to (SNI), which application protocol it
// asked for (ALPN), and a JA4 fingerprint of the client's TLS stack.
//
// Input is the byte stream of one direction of a TCP flow, from its start,
// as the reassembly core hands it over (possibly several records, possibly
// incomplete), or a bare handshake message taken from QUIC CRYPTO frames.
// Output is written into a caller-owned ClientHello or ServerHello whose
// slices are reused from call to call, so steady-state parsing does not
// allocate.
//
// The parsers never panic and never read outside their input, whatever the
// bytes. They decrypt nothing: with TLS 1.3 everything after the
// ServerHello, including the server's ALPN choice, is out of reach.
package tlsparse
