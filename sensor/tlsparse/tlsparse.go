package tlsparse

import "errors"

// Errors returned by the parsers. They are preallocated so that rejecting
// malformed traffic on the packet path costs nothing; callers count them.
var (
	// ErrShort means the input ends before the hello does. The Need field
	// of the output says how many bytes of input (from its start) are
	// needed at least; the caller keeps buffering up to its own bound.
	ErrShort = errors.New("tlsparse: need more data")
	// ErrNotTLS means the bytes are not a TLS handshake record stream.
	ErrNotTLS = errors.New("tlsparse: not a tls handshake")
	// ErrNotClientHello means the first handshake message is of another type.
	ErrNotClientHello = errors.New("tlsparse: first handshake message is not a clienthello")
	// ErrNotServerHello means the first handshake message is of another type.
	ErrNotServerHello = errors.New("tlsparse: first handshake message is not a serverhello")
	// ErrTooLarge means the hello claims a length above MaxHelloLen.
	ErrTooLarge = errors.New("tlsparse: hello too large")
	// ErrMalformed means a length field or list inside the hello is
	// inconsistent with its container.
	ErrMalformed = errors.New("tlsparse: malformed hello")
)

// MaxHelloLen bounds the handshake message body the parsers accept. Real
// ClientHellos are under 2 KiB, post-quantum key shares included; a bigger
// claim is treated as garbage rather than a reason to buffer.
const MaxHelloLen = 1 << 14

// Record and handshake constants (RFC 8446 §5.1, §4).
const (
	recordHeaderLen    = 5
	handshakeHeaderLen = 4
	recordHandshake    = 22
	// maxRecordLen is 2^14 plus the expansion RFC 8446 §5.2 allows.
	maxRecordLen = 1<<14 + 256

	typeClientHello = 1
	typeServerHello = 2
)

// Extension types the parsers look into (IANA TLS ExtensionType registry).
const (
	ExtServerName          uint16 = 0x0000
	ExtSupportedGroups     uint16 = 0x000a
	ExtSignatureAlgorithms uint16 = 0x000d
	ExtALPN                uint16 = 0x0010
	ExtSupportedVersions   uint16 = 0x002b
)

// Protocol versions as they appear on the wire.
const (
	VersionSSL30 uint16 = 0x0300
	VersionTLS10 uint16 = 0x0301
	VersionTLS11 uint16 = 0x0302
	VersionTLS12 uint16 = 0x0303
	VersionTLS13 uint16 = 0x0304
)

// IsGREASE reports whether v is one of the reserved GREASE values of RFC 8701
// (0x0a0a, 0x1a1a, …, 0xfafa), which clients sprinkle into every list to keep
// servers tolerant of unknown values.
func IsGREASE(v uint16) bool {
	return v&0x0f0f == 0x0a0a && v>>8 == v&0xff
}

// LooksLikeTLS reports whether b starts like a TLS handshake record: content
// type 22 and a 3.x record version, with a plausible length when the header
// is complete. It is a cheap first test for protocol detection, not proof.
func LooksLikeTLS(b []byte) bool {
	if len(b) < 3 || b[0] != recordHandshake || b[1] != 3 || b[2] > 4 {
		return false
	}
	if len(b) >= recordHeaderLen {
		n := int(b[3])<<8 | int(b[4])
		if n == 0 || n > maxRecordLen {
			return false
		}
	}
	if len(b) > recordHeaderLen {
		// The first handshake message of either side is a hello.
		t := b[recordHeaderLen]
		return t == typeClientHello || t == typeServerHello
	}
	return true
}

// handshake extracts the first handshake message of type want from the
// record stream b. When the message sits in one record the result aliases b;
// when it spans records the fragments are copied into *scratch, which is
// reused. need is set on ErrShort to the minimum input length that can make
// progress.
func handshake(b []byte, want byte, scratch *[]byte) (msg []byte, need int, err error) {
	var (
		off      int    // start of the current record in b
		total    = -1   // message length including its header, once known
		got      []byte // message bytes gathered so far
		gathered bool   // got lives in *scratch rather than aliasing b
	)
	for {
		if len(b)-off < recordHeaderLen {
			need = off + recordHeaderLen + 1
			if total > len(got) {
				need = off + recordHeaderLen + total - len(got)
			}
			return nil, need, ErrShort
		}
		h := b[off : off+recordHeaderLen]
		if h[0] != recordHandshake || h[1] != 3 {
			return nil, 0, ErrNotTLS
		}
		rlen := int(h[3])<<8 | int(h[4])
		if rlen == 0 || rlen > maxRecordLen {
			return nil, 0, ErrNotTLS
		}
		body := b[off+recordHeaderLen:]
		complete := len(body) >= rlen
		if complete {
			body = body[:rlen]
		}

		// A message may span records (RFC 8446 §5.1); only then copy.
		switch {
		case off == 0:
			got = body
		case !gathered:
			*scratch = append(append((*scratch)[:0], got...), body...)
			got, gathered = *scratch, true
		default:
			*scratch = append(*scratch, body...)
			got = *scratch
		}

		if len(got) >= 1 && got[0] != want {
			if want == typeClientHello {
				return nil, 0, ErrNotClientHello
			}
			return nil, 0, ErrNotServerHello
		}
		if total < 0 && len(got) >= handshakeHeaderLen {
			n := int(got[1])<<16 | int(got[2])<<8 | int(got[3])
			if n > MaxHelloLen {
				return nil, 0, ErrTooLarge
			}
			total = handshakeHeaderLen + n
		}
		if total >= 0 && len(got) >= total {
			return got[:total:total], 0, nil
		}

		if !complete {
			// The rest of this record, plus a record header and the
			// remainder if this record cannot finish the message.
			missing := rlen - len(body)
			need = len(b) + missing
			if total >= 0 && total-len(got)-missing > 0 {
				need += recordHeaderLen + total - len(got) - missing
			}
			return nil, need, ErrShort
		}
		off += recordHeaderLen + rlen
	}
}

// reader is a bounds-checked cursor over a byte slice. Every read past the
// end sets bad and returns zero, so parsing code checks once per structure.
type reader struct {
	b   []byte
	bad bool
}

func (r *reader) u8() byte {
	if len(r.b) < 1 {
		r.bad = true
		return 0
	}
	v := r.b[0]
	r.b = r.b[1:]
	return v
}

func (r *reader) u16() uint16 {
	if len(r.b) < 2 {
		r.bad = true
		return 0
	}
	v := uint16(r.b[0])<<8 | uint16(r.b[1])
	r.b = r.b[2:]
	return v
}

func (r *reader) bytes(n int) []byte {
	if n < 0 || len(r.b) < n {
		r.bad = true
		r.b = nil
		return nil
	}
	v := r.b[:n:n]
	r.b = r.b[n:]
	return v
}

// vec8 and vec16 read a vector with a 1- or 2-byte length prefix.
func (r *reader) vec8() []byte  { return r.bytes(int(r.u8())) }
func (r *reader) vec16() []byte { return r.bytes(int(r.u16())) }

// appendU16s appends the big-endian uint16 list in b to dst; an odd length
// is malformed.
func appendU16s(dst []uint16, b []byte) ([]uint16, bool) {
	if len(b)%2 != 0 {
		return dst, false
	}
	for i := 0; i+1 < len(b); i += 2 {
		dst = append(dst, uint16(b[i])<<8|uint16(b[i+1]))
	}
	return dst, true
}
