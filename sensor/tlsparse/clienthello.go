package tlsparse

// ClientHello holds what a ClientHello tells about its client (RFC 8446
// §4.1.2). Lists keep wire order and include GREASE values; JA4 drops them.
//
// The slices are owned by the ClientHello and reused by the next parse into
// it: copy what must outlive that. A ClientHello is not safe for concurrent
// use; give each worker its own.
type ClientHello struct {
	// RecordVersion is the version of the first record header, 0 when the
	// hello came without a record layer (QUIC).
	RecordVersion uint16
	// LegacyVersion is the client_version field; TLS 1.3 clients send
	// 0x0303 here and the real offer in SupportedVersions.
	LegacyVersion     uint16
	SupportedVersions []uint16
	// ServerName is the first host_name of the server_name extension,
	// lower-cased as sent (DNS names are case-insensitive), or empty.
	ServerName []byte
	// HasServerName is set when the server_name extension is present, even
	// if it holds no host_name (JA4 counts the extension, not the name).
	HasServerName bool
	// ALPN lists the offered protocols in order; each element points into
	// storage owned by the ClientHello.
	ALPN                [][]byte
	CipherSuites        []uint16
	Extensions          []uint16
	SignatureAlgorithms []uint16
	SupportedGroups     []uint16
	// GREASE is set when any cipher, extension, group, signature algorithm
	// or version is a GREASE value.
	GREASE bool
	// Len is the length of the handshake message, header included.
	Len int
	// Need is set with ErrShort: the input length to wait for at least.
	Need int

	scratch []byte // record fragments gathered when the hello spans records
	store   []byte // backing bytes for ServerName and ALPN
}

// Reset empties h, keeping its storage for reuse.
func (h *ClientHello) Reset() {
	*h = ClientHello{
		SupportedVersions:   h.SupportedVersions[:0],
		ServerName:          h.ServerName[:0],
		ALPN:                h.ALPN[:0],
		CipherSuites:        h.CipherSuites[:0],
		Extensions:          h.Extensions[:0],
		SignatureAlgorithms: h.SignatureAlgorithms[:0],
		SupportedGroups:     h.SupportedGroups[:0],
		scratch:             h.scratch[:0],
		store:               h.store[:0],
	}
}

// Version returns the version the client prefers: the highest non-GREASE
// entry of supported_versions if the extension is present, else the legacy
// version field.
func (h *ClientHello) Version() uint16 {
	var best uint16
	for _, v := range h.SupportedVersions {
		if !IsGREASE(v) && v > best {
			best = v
		}
	}
	if best != 0 {
		return best
	}
	return h.LegacyVersion
}

// ParseClientHello parses the ClientHello at the start of b, the bytes a
// client sent on a TCP connection (TLS records, from the first). A hello
// spread over several records is gathered. If b stops short, it returns
// ErrShort and sets out.Need; other errors mean the stream is not (or not
// well-formed) TLS and more bytes will not help.
func ParseClientHello(b []byte, out *ClientHello) error {
	out.Reset()
	if len(b) >= 3 {
		out.RecordVersion = uint16(b[1])<<8 | uint16(b[2])
	}
	msg, need, err := handshake(b, typeClientHello, &out.scratch)
	if err != nil {
		out.Need = need
		return err
	}
	return out.parse(msg)
}

// ParseClientHelloMessage parses a ClientHello handshake message without
// record framing, as QUIC carries it in CRYPTO frames (RFC 9001 §4.1.3): b
// starts with the handshake type byte. ErrShort and out.Need work as for
// ParseClientHello.
func ParseClientHelloMessage(b []byte, out *ClientHello) error {
	out.Reset()
	if len(b) >= 1 && b[0] != typeClientHello {
		return ErrNotClientHello
	}
	if len(b) < handshakeHeaderLen {
		out.Need = handshakeHeaderLen
		return ErrShort
	}
	n := int(b[1])<<16 | int(b[2])<<8 | int(b[3])
	if n > MaxHelloLen {
		return ErrTooLarge
	}
	if len(b) < handshakeHeaderLen+n {
		out.Need = handshakeHeaderLen + n
		return ErrShort
	}
	return out.parse(b[:handshakeHeaderLen+n])
}

// parse reads a complete ClientHello message, header included.
func (h *ClientHello) parse(msg []byte) error {
	h.Len = len(msg)
	r := reader{b: msg[handshakeHeaderLen:]}
	h.LegacyVersion = r.u16()
	r.bytes(32) // random
	r.vec8()    // legacy_session_id
	suites := r.vec16()
	r.vec8() // legacy_compression_methods
	if r.bad {
		return ErrMalformed
	}
	var ok bool
	if h.CipherSuites, ok = appendU16s(h.CipherSuites, suites); !ok {
		return ErrMalformed
	}
	for _, c := range h.CipherSuites {
		if IsGREASE(c) {
			h.GREASE = true
		}
	}
	if len(r.b) == 0 {
		// Extensions are optional before TLS 1.2 (RFC 5246 §7.4.1.2).
		return nil
	}

	exts := reader{b: r.vec16()}
	if r.bad {
		return ErrMalformed
	}
	for len(exts.b) > 0 {
		typ := exts.u16()
		data := exts.vec16()
		if exts.bad {
			return ErrMalformed
		}
		h.Extensions = append(h.Extensions, typ)
		if IsGREASE(typ) {
			h.GREASE = true
			continue
		}
		if err := h.extension(typ, data); err != nil {
			return err
		}
	}
	return nil
}

// extension decodes the body of one extension the sensor cares about.
func (h *ClientHello) extension(typ uint16, data []byte) error {
	r := reader{b: data}
	var ok = true
	switch typ {
	case ExtServerName:
		// RFC 6066 §3: a list of (type, name); only host_name (0) exists.
		h.HasServerName = true
		list := reader{b: r.vec16()}
		for len(list.b) > 0 && !list.bad {
			nameType := list.u8()
			name := list.vec16()
			if nameType == 0 && len(h.ServerName) == 0 && !list.bad {
				start := len(h.store)
				h.store = appendLower(h.store, name)
				h.ServerName = h.store[start:len(h.store):len(h.store)]
			}
		}
		ok = !list.bad
	case ExtALPN:
		// RFC 7301 §3.1: a list of non-empty 1-byte-length strings. The
		// whole list is copied first, so the element slices never point
		// into storage that a later append moves.
		list := r.vec16()
		start := len(h.store)
		h.store = append(h.store, list...)
		p := reader{b: h.store[start:]}
		for len(p.b) > 0 && !p.bad {
			if v := p.vec8(); !p.bad {
				h.ALPN = append(h.ALPN, v)
			}
		}
		ok = !p.bad
	case ExtSignatureAlgorithms:
		h.SignatureAlgorithms, ok = appendU16s(h.SignatureAlgorithms, r.vec16())
		h.GREASE = h.GREASE || anyGREASE(h.SignatureAlgorithms)
	case ExtSupportedGroups:
		h.SupportedGroups, ok = appendU16s(h.SupportedGroups, r.vec16())
		h.GREASE = h.GREASE || anyGREASE(h.SupportedGroups)
	case ExtSupportedVersions:
		h.SupportedVersions, ok = appendU16s(h.SupportedVersions, r.vec8())
		h.GREASE = h.GREASE || anyGREASE(h.SupportedVersions)
	}
	if !ok || r.bad {
		return ErrMalformed
	}
	return nil
}

func anyGREASE(l []uint16) bool {
	for _, v := range l {
		if IsGREASE(v) {
			return true
		}
	}
	return false
}

// appendLower appends b to dst with ASCII letters lower-cased.
func appendLower(dst, b []byte) []byte {
	for _, c := range b {
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		dst = append(dst, c)
	}
	return dst
}
