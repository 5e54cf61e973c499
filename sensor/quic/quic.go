package quic

import "errors"

// Errors returned by the parsers, preallocated for the packet path.
var (
	// ErrNotInitial means the datagram does not start with a long-header
	// Initial packet (a short header, another long type, or not QUIC).
	ErrNotInitial = errors.New("quic: not an initial packet")
	// ErrVersion means a long header with a version this package has no
	// Initial salt for (including Google QUIC and version negotiation).
	ErrVersion = errors.New("quic: unsupported version")
	// ErrTruncated means a length field points past the datagram.
	ErrTruncated = errors.New("quic: packet truncated")
	// ErrConnID means a connection ID longer than 20 bytes (RFC 9000 §17.2).
	ErrConnID = errors.New("quic: connection id too long")
	// ErrDecrypt means AEAD authentication failed: the packet was not
	// protected with the client's Initial keys (a server Initial, or damage).
	ErrDecrypt = errors.New("quic: initial packet authentication failed")
	// ErrFrame means a frame that cannot appear in an Initial packet, or a
	// malformed one (RFC 9000 §12.4).
	ErrFrame = errors.New("quic: bad frame in initial packet")
	// ErrCryptoLimit means the CRYPTO stream exceeds Config.MaxCryptoBytes.
	ErrCryptoLimit = errors.New("quic: crypto stream over limit")
)

// Versions with known Initial salts.
const (
	Version1       uint32 = 0x00000001
	Version2       uint32 = 0x6b3343cf
	VersionDraft29 uint32 = 0xff00001d
)

// MaxConnIDLen is the longest connection ID of QUIC v1 and v2.
const MaxConnIDLen = 20

// varint reads a QUIC variable-length integer (RFC 9000 §16) and returns the
// value and its length, or n == 0 when b is too short.
func varint(b []byte) (v uint64, n int) {
	if len(b) == 0 {
		return 0, 0
	}
	n = 1 << (b[0] >> 6)
	if len(b) < n {
		return 0, 0
	}
	v = uint64(b[0] & 0x3f)
	for i := 1; i < n; i++ {
		v = v<<8 | uint64(b[i])
	}
	return v, n
}
