package tlsparse

import (
	"crypto/sha256"
	"encoding/hex"
	"slices"
)

// Transport bytes for JA4's first character.
const (
	TransportTCP  byte = 't'
	TransportQUIC byte = 'q'
	TransportDTLS byte = 'd'
)

// JA4 returns the JA4 fingerprint of ch (FoxIO JA4 specification), for
// example "t13d1516h2_8daaf6152771_e5627efa2ab1". transport is 't' for TLS
// over TCP, 'q' for QUIC, 'd' for DTLS. GREASE values are ignored throughout.
func JA4(ch *ClientHello, transport byte) string {
	var buf [36]byte
	return string(AppendJA4(buf[:0], ch, transport))
}

// AppendJA4 appends the JA4 fingerprint of ch to dst, without allocating
// when dst has room for its 36 bytes.
func AppendJA4(dst []byte, ch *ClientHello, transport byte) []byte {
	return appendJA4(dst, ch, transport, false)
}

// AppendJA4Raw appends JA4_r, the fingerprint before hashing: the sorted
// cipher list, then the sorted extension list (without SNI and ALPN) and the
// signature algorithms, as 4-digit hex. It exists to explain a JA4 value.
func AppendJA4Raw(dst []byte, ch *ClientHello, transport byte) []byte {
	return appendJA4(dst, ch, transport, true)
}

func appendJA4(dst []byte, ch *ClientHello, transport byte, raw bool) []byte {
	// Filtered copies live on the stack for any realistic hello.
	var cbuf, ebuf, sbuf [64]uint16
	ciphers := withoutGREASE(cbuf[:0], ch.CipherSuites)
	exts := withoutGREASE(ebuf[:0], ch.Extensions)
	sigs := withoutGREASE(sbuf[:0], ch.SignatureAlgorithms)
	extCount := len(exts)
	hashedExts := slices.DeleteFunc(exts, func(v uint16) bool {
		return v == ExtServerName || v == ExtALPN
	})

	// JA4_a: transport, version, SNI, counts, ALPN.
	dst = append(dst, transport)
	dst = append(dst, versionCode(ch.Version())...)
	if ch.HasServerName {
		dst = append(dst, 'd')
	} else {
		dst = append(dst, 'i')
	}
	dst = appendCount(dst, len(ciphers))
	dst = appendCount(dst, extCount)
	dst = appendALPN(dst, ch.ALPN)
	dst = append(dst, '_')

	// JA4_b: sorted ciphers.
	slices.Sort(ciphers)
	var list [512]byte
	l := appendHexList(list[:0], ciphers)
	if raw {
		dst = append(dst, l...)
	} else {
		dst = appendHash12(dst, l)
	}
	dst = append(dst, '_')

	// JA4_c: sorted extensions without SNI and ALPN, then the signature
	// algorithms in the order the client sent them.
	slices.Sort(hashedExts)
	l = appendHexList(list[:0], hashedExts)
	if len(sigs) > 0 && (raw || len(hashedExts) > 0) {
		l = append(l, '_')
		l = appendHexList(l, sigs)
	}
	if raw {
		return append(dst, l...)
	}
	if len(hashedExts) == 0 {
		return append(dst, "000000000000"...)
	}
	return appendHash12(dst, l)
}

// withoutGREASE appends the non-GREASE values of src to dst.
func withoutGREASE(dst, src []uint16) []uint16 {
	for _, v := range src {
		if !IsGREASE(v) {
			dst = append(dst, v)
		}
	}
	return dst
}

func versionCode(v uint16) string {
	switch v {
	case VersionTLS13:
		return "13"
	case VersionTLS12:
		return "12"
	case VersionTLS11:
		return "11"
	case VersionTLS10:
		return "10"
	case VersionSSL30:
		return "s3"
	case 0x0002:
		return "s2"
	case 0xfeff:
		return "d1"
	case 0xfefd:
		return "d2"
	case 0xfefc:
		return "d3"
	}
	return "00"
}

// appendCount appends n as two decimal digits, capped at 99.
func appendCount(dst []byte, n int) []byte {
	n = min(n, 99)
	return append(dst, byte('0'+n/10), byte('0'+n%10))
}

// appendALPN appends the first and last character of the first ALPN value,
// or of its hex form when either end is not alphanumeric, or "00".
func appendALPN(dst []byte, alpn [][]byte) []byte {
	if len(alpn) == 0 || len(alpn[0]) == 0 {
		return append(dst, "00"...)
	}
	p := alpn[0]
	first, last := p[0], p[len(p)-1]
	if isAlnum(first) && isAlnum(last) {
		return append(dst, first, last)
	}
	const digits = "0123456789abcdef"
	return append(dst, digits[first>>4], digits[last&0x0f])
}

func isAlnum(c byte) bool {
	return '0' <= c && c <= '9' || 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z'
}

// appendHexList appends l as comma-separated 4-digit lower-case hex.
func appendHexList(dst []byte, l []uint16) []byte {
	const digits = "0123456789abcdef"
	for i, v := range l {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = append(dst, digits[v>>12], digits[v>>8&0xf], digits[v>>4&0xf], digits[v&0xf])
	}
	return dst
}

// appendHash12 appends the first 12 hex digits of SHA-256(s), or twelve
// zeros for an empty list, so that "nothing" is visible as such.
func appendHash12(dst, s []byte) []byte {
	if len(s) == 0 {
		return append(dst, "000000000000"...)
	}
	sum := sha256.Sum256(s)
	var h [12]byte
	hex.Encode(h[:], sum[:6])
	return append(dst, h[:]...)
}
