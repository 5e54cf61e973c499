package tlsparse

import "bytes"

// helloRetryRandom is the fixed random that marks a HelloRetryRequest, which
// TLS 1.3 sends as a ServerHello (RFC 8446 §4.1.3): SHA-256("HelloRetryRequest").
var helloRetryRandom = []byte{
	0xcf, 0x21, 0xad, 0x74, 0xe5, 0x9a, 0x61, 0x11, 0xbe, 0x1d, 0x8c, 0x02, 0x1e, 0x65, 0xb8, 0x91,
	0xc2, 0xa2, 0x11, 0x16, 0x7a, 0xbb, 0x8c, 0x5e, 0x07, 0x9e, 0x09, 0xe2, 0xc8, 0xa8, 0x33, 0x9c,
}

// ServerHello holds the server's choices (RFC 8446 §4.1.3, RFC 5246 §7.4.1.3).
//
// Its slices are owned by it and reused by the next parse into it. It is not
// safe for concurrent use.
type ServerHello struct {
	RecordVersion uint16
	// LegacyVersion is the server_version field (0x0303 under TLS 1.3).
	LegacyVersion uint16
	// Version is the negotiated version: the supported_versions extension
	// if present (TLS 1.3), else LegacyVersion.
	Version     uint16
	CipherSuite uint16
	// ALPN is the protocol the server selected. Under TLS 1.3 the choice
	// travels in the encrypted EncryptedExtensions and ALPN stays empty.
	ALPN       []byte
	Extensions []uint16
	// HelloRetry marks a HelloRetryRequest rather than a real ServerHello.
	HelloRetry bool
	Len        int
	// Need is set with ErrShort: the input length to wait for at least.
	Need int

	scratch []byte
}

// Reset empties h, keeping its storage for reuse.
func (h *ServerHello) Reset() {
	*h = ServerHello{
		ALPN:       h.ALPN[:0],
		Extensions: h.Extensions[:0],
		scratch:    h.scratch[:0],
	}
}

// ParseServerHello parses the ServerHello at the start of b, the bytes a
// server sent on a TCP connection. Errors are as for ParseClientHello.
func ParseServerHello(b []byte, out *ServerHello) error {
	out.Reset()
	if len(b) >= 3 {
		out.RecordVersion = uint16(b[1])<<8 | uint16(b[2])
	}
	msg, need, err := handshake(b, typeServerHello, &out.scratch)
	if err != nil {
		out.Need = need
		return err
	}
	return out.parse(msg)
}

func (h *ServerHello) parse(msg []byte) error {
	h.Len = len(msg)
	r := reader{b: msg[handshakeHeaderLen:]}
	h.LegacyVersion = r.u16()
	random := r.bytes(32)
	r.vec8() // legacy_session_id_echo
	h.CipherSuite = r.u16()
	r.u8() // legacy_compression_method
	if r.bad {
		return ErrMalformed
	}
	h.Version = h.LegacyVersion
	h.HelloRetry = bytes.Equal(random, helloRetryRandom)
	if len(r.b) == 0 {
		return nil
	}

	exts := reader{b: r.vec16()}
	if r.bad {
		return ErrMalformed
	}
	for len(exts.b) > 0 {
		typ := exts.u16()
		data := reader{b: exts.vec16()}
		if exts.bad {
			return ErrMalformed
		}
		h.Extensions = append(h.Extensions, typ)
		switch typ {
		case ExtSupportedVersions:
			// A server selects exactly one version (RFC 8446 §4.2.1).
			h.Version = data.u16()
		case ExtALPN:
			// RFC 7301 §3.1: the list holds exactly one protocol.
			list := reader{b: data.vec16()}
			h.ALPN = append(h.ALPN[:0], list.vec8()...)
			data.bad = data.bad || list.bad
		}
		if data.bad {
			return ErrMalformed
		}
	}
	return nil
}
