package quic

// Crypto is one CRYPTO frame: Data belongs at Offset of the connection's
// Initial-level crypto stream. Data aliases the decrypted payload.
type Crypto struct {
	Offset uint64
	Data   []byte
}

// AppendCrypto walks the frames of a decrypted Initial payload and appends
// its CRYPTO frames to dst. Frames that may appear in an Initial packet
// (RFC 9000 §12.4: PADDING, PING, ACK, CRYPTO, CONNECTION_CLOSE) are
// skipped; any other frame type is ErrFrame.
func AppendCrypto(dst []Crypto, payload []byte) ([]Crypto, error) {
	b := payload
	for len(b) > 0 {
		typ := b[0]
		b = b[1:]
		switch typ {
		case 0x00, 0x01: // PADDING, PING
		case 0x02, 0x03: // ACK (RFC 9000 §19.3)
			var ok bool
			// Largest Acknowledged, ACK Delay, ACK Range Count, First ACK Range.
			var count uint64
			if b, ok = skipVarints(b, 2); !ok {
				return dst, ErrFrame
			}
			if count, b, ok = readVarint(b); !ok {
				return dst, ErrFrame
			}
			if count > uint64(len(b)) { // each range takes at least two bytes
				return dst, ErrFrame
			}
			n := 1 + 2*int(count)
			if typ == 0x03 {
				n += 3 // ECN counts
			}
			if b, ok = skipVarints(b, n); !ok {
				return dst, ErrFrame
			}
		case 0x06: // CRYPTO (RFC 9000 §19.6)
			off, rest, ok := readVarint(b)
			if !ok {
				return dst, ErrFrame
			}
			length, rest, ok := readVarint(rest)
			if !ok || length > uint64(len(rest)) || off+length > 1<<62 {
				return dst, ErrFrame
			}
			dst = append(dst, Crypto{Offset: off, Data: rest[:length:length]})
			b = rest[length:]
		case 0x1c: // CONNECTION_CLOSE (RFC 9000 §19.19)
			var ok bool
			var reason uint64
			if b, ok = skipVarints(b, 2); !ok { // Error Code, Frame Type
				return dst, ErrFrame
			}
			if reason, b, ok = readVarint(b); !ok || reason > uint64(len(b)) {
				return dst, ErrFrame
			}
			b = b[reason:]
		default:
			return dst, ErrFrame
		}
	}
	return dst, nil
}

func readVarint(b []byte) (uint64, []byte, bool) {
	v, n := varint(b)
	if n == 0 {
		return 0, b, false
	}
	return v, b[n:], true
}

func skipVarints(b []byte, count int) ([]byte, bool) {
	for range count {
		_, n := varint(b)
		if n == 0 {
			return b, false
		}
		b = b[n:]
	}
	return b, true
}
