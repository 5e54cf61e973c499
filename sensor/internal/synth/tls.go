package synth

import (
	"encoding/binary"
)

// vendorHosts are the names TLS connections in a synthetic capture ask
// for, so that a benchmark exercises vendor matching as real egress does.
var vendorHosts = []string{"api.openai.com", "api.segment.io", "o4501.ingest.sentry.io",
	"api.stripe.com", "hooks.slack.com", "api.mixpanel.com", "api.anthropic.com",
	"browser-intake-datadoghq.com", "api.hubapi.com", "unknown-saas.example.net"}

// clientHello returns a TLS 1.3 ClientHello record asking for host: the
// shape browsers and SDKs send (SNI, ALPN, supported versions, groups,
// signature algorithms, a key share), with the random parts from rng.
func (g *writer) clientHello(host string) []byte {
	var ext []byte
	// server_name (RFC 6066 §3)
	sni := []byte{0, 0}
	sni = binary.BigEndian.AppendUint16(sni, uint16(len(host)+5))
	sni = binary.BigEndian.AppendUint16(sni, uint16(len(host)+3))
	sni = append(sni, 0)
	sni = binary.BigEndian.AppendUint16(sni, uint16(len(host)))
	sni = append(sni, host...)
	binary.BigEndian.PutUint16(sni[2:], uint16(len(sni)-4))
	ext = append(ext, sni...)
	// groups
	ext = appendExt(ext, 0x000a, []byte{0, 6, 0, 0x1d, 0, 0x17, 0, 0x18})
	// sig algs
	ext = appendExt(ext, 0x000d, []byte{0, 6, 4, 3, 8, 4, 4, 1})
	// ALPN
	ext = appendExt(ext, 0x0010, []byte{0, 12, 2, 'h', '2', 8, 'h', 't', 't', 'p', '/', '1', '.', '1'})
	// versions
	ext = appendExt(ext, 0x002b, []byte{4, 3, 4, 3, 3})
	ks := []byte{0, 36, 0, 0x1d, 0, 32}
	for i := 0; i < 32; i++ {
		ks = append(ks, byte(g.rng.Intn(256)))
	}
	ext = appendExt(ext, 0x0033, ks) // key_share

	var body []byte
	body = append(body, 3, 3)
	for i := 0; i < 32; i++ {
		body = append(body, byte(g.rng.Intn(256)))
	}
	body = append(body, 32)
	for i := 0; i < 32; i++ {
		body = append(body, byte(g.rng.Intn(256)))
	}
	body = append(body, 0, 6, 0x13, 0x01, 0x13, 0x02, 0x13, 0x03) // cipher suites
	body = append(body, 1, 0)                                     // null compression
	body = binary.BigEndian.AppendUint16(body, uint16(len(ext)))
	body = append(body, ext...)

	hs := []byte{1, 0, 0, 0}
	hs[1], hs[2], hs[3] = byte(len(body)>>16), byte(len(body)>>8), byte(len(body))
	hs = append(hs, body...)
	rec := []byte{0x16, 3, 1}
	rec = binary.BigEndian.AppendUint16(rec, uint16(len(hs)))
	return append(rec, hs...)
}

func appendExt(dst []byte, typ uint16, data []byte) []byte {
	dst = binary.BigEndian.AppendUint16(dst, typ)
	dst = binary.BigEndian.AppendUint16(dst, uint16(len(data)))
	return append(dst, data...)
}

// appData returns TLS application-data records of about n bytes, filled
// with random bytes as ciphertext is.
func (g *writer) appData(n int) []byte {
	var b []byte
	for n > 0 {
		m := min(n, 16384)
		b = append(b, 0x17, 3, 3)
		b = binary.BigEndian.AppendUint16(b, uint16(m))
		for i := 0; i < m; i++ {
			b = append(b, byte(g.rng.Uint32()))
		}
		n -= m
	}
	return b
}
