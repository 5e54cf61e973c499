// Package quic reads the client's first flight of a QUIC connection, which
// is encrypted with keys anyone can derive (RFC 9001 §5.2): it removes the
// Initial packet protection, gathers the CRYPTO frames of one connection and
// parses the TLS ClientHello inside with sensor/tlsparse. The sensor gets the
// SNI, the ALPN offer and a JA4 fingerprint (transport 'q') of HTTP/3 and
// other QUIC traffic without holding any secret.
//
// Input is whole UDP payloads, client to server. QUIC versions 1 (RFC 9000),
// 2 (RFC 9369) and draft-29 are understood; Google QUIC (Q0xx) is not.
//
// Key derivation allocates (AES and GCM state), once per connection ID; the
// Opener keeps the last keys so further packets of the connection do not.
// The Assembler bounds its connection table and the CRYPTO bytes it holds
// per connection. Nothing here panics on any input.
package quic
