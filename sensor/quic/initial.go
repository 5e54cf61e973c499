package quic

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/sha256"
)

// Initial salts: RFC 9001 §5.2, RFC 9369 §3.3.1, draft-ietf-quic-tls-29 §5.2.
var (
	saltV1 = []byte{
		0x38, 0x76, 0x2c, 0xf7, 0xf5, 0x59, 0x34, 0xb3, 0x4d, 0x17,
		0x9a, 0xe6, 0xa4, 0xc8, 0x0c, 0xad, 0xcc, 0xbb, 0x7f, 0x0a,
	}
	saltV2 = []byte{
		0x0d, 0xed, 0xe3, 0xde, 0xf7, 0x00, 0xa6, 0xdb, 0x81, 0x93,
		0x81, 0xbe, 0x6e, 0x26, 0x9d, 0xcb, 0xf9, 0xbd, 0x2e, 0xd9,
	}
	saltDraft29 = []byte{
		0xaf, 0xbf, 0xec, 0x28, 0x99, 0x93, 0xd2, 0x4c, 0x9e, 0x97,
		0x86, 0xf1, 0x9c, 0x61, 0x11, 0xe0, 0x43, 0x90, 0xa8, 0x99,
	}
)

// versionParams returns the salt, the key labels and the long-header type
// bits that mean Initial for a version; ok is false for unknown versions.
func versionParams(v uint32) (salt []byte, key, iv, hp string, initialType byte, ok bool) {
	switch v {
	case Version1, VersionDraft29:
		salt = saltV1
		if v == VersionDraft29 {
			salt = saltDraft29
		}
		return salt, "quic key", "quic iv", "quic hp", 0, true
	case Version2:
		// RFC 9369 §3.2 renumbers the long header types: Initial is 0b01.
		return saltV2, "quicv2 key", "quicv2 iv", "quicv2 hp", 1, true
	}
	return nil, "", "", "", 0, false
}

// expandLabel is HKDF-Expand-Label of TLS 1.3 (RFC 8446 §7.1) with an empty
// context, as QUIC uses it.
func expandLabel(secret []byte, label string, n int) ([]byte, error) {
	var info [2 + 1 + 64 + 1]byte
	info[0], info[1] = byte(n>>8), byte(n)
	full := "tls13 " + label
	info[2] = byte(len(full))
	m := copy(info[3:], full)
	info[3+m] = 0
	return hkdf.Expand(sha256.New, secret, string(info[:4+m]), n)
}

// Keys are the client Initial packet protection keys of one connection.
type Keys struct {
	AEAD cipher.AEAD
	HP   cipher.Block
	IV   [12]byte
}

// ClientInitialKeys derives the client's Initial keys from the Destination
// Connection ID of the client's first Initial packet (RFC 9001 §5.2).
func ClientInitialKeys(version uint32, dcid []byte) (*Keys, error) {
	var k Keys
	if err := k.derive(version, dcid); err != nil {
		return nil, err
	}
	return &k, nil
}

func (k *Keys) derive(version uint32, dcid []byte) error {
	salt, keyLabel, ivLabel, hpLabel, _, ok := versionParams(version)
	if !ok {
		return ErrVersion
	}
	initial, err := hkdf.Extract(sha256.New, dcid, salt)
	if err != nil {
		return err
	}
	client, err := expandLabel(initial, "client in", 32)
	if err != nil {
		return err
	}
	key, err := expandLabel(client, keyLabel, 16)
	if err != nil {
		return err
	}
	iv, err := expandLabel(client, ivLabel, 12)
	if err != nil {
		return err
	}
	hp, err := expandLabel(client, hpLabel, 16)
	if err != nil {
		return err
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return err
	}
	if k.AEAD, err = cipher.NewGCM(block); err != nil {
		return err
	}
	if k.HP, err = aes.NewCipher(hp); err != nil {
		return err
	}
	copy(k.IV[:], iv)
	return nil
}

// Packet is one decrypted client Initial packet.
type Packet struct {
	Version uint32
	// DCID, SCID and Token alias the input datagram.
	DCID, SCID, Token []byte
	PacketNumber      uint64
	// Payload is the decrypted frames; it lives in the Opener's buffer and
	// is overwritten by its next Open.
	Payload []byte
	// Len is the length of the packet within the datagram; a datagram may
	// carry further coalesced packets after it (RFC 9000 §12.2).
	Len int
}

// Opener removes Initial packet protection. It keeps the keys of the last
// connection ID it saw, so the packets of one connection derive them once.
// An Opener is not safe for concurrent use; give each worker its own.
type Opener struct {
	keys    Keys
	version uint32
	dcid    [MaxConnIDLen]byte
	dcidLen int
	valid   bool
	buf     []byte
	// mask and nonce live here because passing stack arrays to the
	// cipher interfaces would move them to the heap on every packet.
	mask  [16]byte
	nonce [12]byte
}

// Open decrypts the client Initial packet at the start of b into p. b is
// not modified. The keys are derived from the packet's own Destination
// Connection ID, which is right for the client's first flight: after the
// server answers, the client switches DCID but keeps the first keys, and
// those later packets fail with ErrDecrypt here.
func (o *Opener) Open(b []byte, p *Packet) error {
	*p = Packet{}
	if len(b) < 7 || b[0]&0x80 == 0 {
		return ErrNotInitial
	}
	p.Version = uint32(b[1])<<24 | uint32(b[2])<<16 | uint32(b[3])<<8 | uint32(b[4])
	_, _, _, _, initialType, ok := versionParams(p.Version)
	if !ok {
		return ErrVersion
	}
	if b[0]&0x40 == 0 || b[0]>>4&3 != initialType {
		return ErrNotInitial
	}

	// Long header (RFC 9000 §17.2.2): connection IDs, token, length.
	off := 5
	dlen := int(b[off])
	if dlen > MaxConnIDLen {
		return ErrConnID
	}
	if len(b) < off+1+dlen+1 {
		return ErrTruncated
	}
	p.DCID = b[off+1 : off+1+dlen]
	off += 1 + dlen
	slen := int(b[off])
	if slen > MaxConnIDLen {
		return ErrConnID
	}
	if len(b) < off+1+slen {
		return ErrTruncated
	}
	p.SCID = b[off+1 : off+1+slen]
	off += 1 + slen
	tlen, n := varint(b[off:])
	if n == 0 || tlen > uint64(len(b)-off-n) {
		return ErrTruncated
	}
	p.Token = b[off+n : off+n+int(tlen)]
	off += n + int(tlen)
	length, n := varint(b[off:])
	if n == 0 || length > uint64(len(b)-off-n) {
		return ErrTruncated
	}
	pnOff := off + n
	end := pnOff + int(length)
	// Header protection samples 16 bytes starting 4 past the packet number
	// (RFC 9001 §5.4.2); the AEAD tag alone is 16 bytes.
	if pnOff+4+16 > end {
		return ErrTruncated
	}

	if !o.valid || o.version != p.Version || !bytes.Equal(o.dcid[:o.dcidLen], p.DCID) {
		o.valid = false
		if err := o.keys.derive(p.Version, p.DCID); err != nil {
			return err
		}
		o.version, o.dcidLen, o.valid = p.Version, copy(o.dcid[:], p.DCID), true
	}

	// Work on a copy: the caller's datagram stays untouched.
	o.buf = append(o.buf[:0], b[:end]...)
	pkt := o.buf
	mask := &o.mask
	o.keys.HP.Encrypt(mask[:], pkt[pnOff+4:pnOff+20])
	pkt[0] ^= mask[0] & 0x0f // long header: low 4 bits are protected
	pnLen := int(pkt[0]&3) + 1
	var pn uint64
	for i := range pnLen {
		pkt[pnOff+i] ^= mask[1+i]
		pn = pn<<8 | uint64(pkt[pnOff+i])
	}
	p.PacketNumber = pn

	// Nonce: the IV XORed with the packet number, right-aligned (RFC 9001
	// §5.3). The client's first packets carry small numbers, so the
	// truncated number is the full one.
	nonce := &o.nonce
	*nonce = o.keys.IV
	for i := range 8 {
		nonce[11-i] ^= byte(pn >> (8 * i))
	}
	hdr := pnOff + pnLen
	plain, err := o.keys.AEAD.Open(pkt[hdr:hdr], nonce[:], pkt[hdr:], pkt[:hdr])
	if err != nil {
		return ErrDecrypt
	}
	p.Payload = plain
	p.Len = end
	return nil
}
