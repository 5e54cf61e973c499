package quic

import (
	"bytes"
	"encoding/hex"
	"errors"
	"strings"
	"testing"
	"time"
)

func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// RFC 9001 Appendix A.2: the client's CRYPTO frame (a ClientHello for
// example.com offering ALPN "alpn"), its unprotected header with packet
// number 2, and the values the RFC states for the protected packet.
const (
	rfcDCID        = "8394c8f03e515708"
	rfcHeader      = "c300000001088394c8f03e5157080000449e00000002"
	rfcCryptoFrame = "060040f1010000ed0303ebf8fa56f12939b9584a3896472ec40bb863cfd3e868" +
		"04fe3a47f06a2b69484c00000413011302010000c000000010000e00000b6578" +
		"616d706c652e636f6dff01000100000a00080006001d00170018001000070005" +
		"04616c706e000500050100000000003300260024001d00209370b2c9caa47fba" +
		"baf4559fedba753de171fa71f50f1ce15d43e994ec74d748002b000302030400" +
		"0d0010000e0403050306030203080408050806002d00020101001c0002400100" +
		"3900320408ffffffffffffffff05048000ffff07048000ffff08011001048000" +
		"75300901100f088394c8f03e51570806048000ffff"
	rfcProtectedHeader = "c000000001088394c8f03e5157080000449e7b9aec34"
	rfcSample          = "d1b1c98dd7689fb8ec11d242b123dc9b"
)

// seal protects an Initial packet the way a client does (RFC 9001 §5.3,
// §5.4); header ends with the packet number of pnLen bytes.
func seal(t testing.TB, k *Keys, header []byte, pnLen int, payload []byte) []byte {
	t.Helper()
	var pn uint64
	for _, c := range header[len(header)-pnLen:] {
		pn = pn<<8 | uint64(c)
	}
	nonce := k.IV
	for i := range 8 {
		nonce[11-i] ^= byte(pn >> (8 * i))
	}
	pkt := k.AEAD.Seal(bytes.Clone(header), nonce[:], payload, header)
	pnOff := len(header) - pnLen
	var mask [16]byte
	k.HP.Encrypt(mask[:], pkt[pnOff+4:pnOff+20])
	pkt[0] ^= mask[0] & 0x0f
	for i := range pnLen {
		pkt[pnOff+i] ^= mask[1+i]
	}
	return pkt
}

// rfcPacket rebuilds the RFC 9001 A.2 client Initial from its stated inputs.
func rfcPacket(t testing.TB) []byte {
	k, err := ClientInitialKeys(Version1, unhex(t, rfcDCID))
	if err != nil {
		t.Fatal(err)
	}
	payload := make([]byte, 1162) // the CRYPTO frame, then PADDING
	copy(payload, unhex(t, rfcCryptoFrame))
	return seal(t, k, unhex(t, rfcHeader), 4, payload)
}

func TestClientInitialKeys(t *testing.T) {
	tests := []struct {
		name          string
		version       uint32
		key, iv, hp   string
		sample, mask5 string
	}{
		// RFC 9001 A.1 and A.2.
		{"v1", Version1, "1f369613dd76d5467730efcbe3b1a22d", "fa044b2f42a3fd3b46fb255c",
			"9f50449e04a0e810283a1e9933adedd2", rfcSample, "437b9aec36"},
		// RFC 9369 A.1 and A.2.
		{"v2", Version2, "8b1a0bc121284290a29e0971b5cd045d", "91f73e2351d8fa91660e909f",
			"45b95e15235d6f45a6b19cbcb0294ba9", "ffe67b6abcdb4298b485dd04de806071", "94a0c95e80"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k, err := ClientInitialKeys(tt.version, unhex(t, rfcDCID))
			if err != nil {
				t.Fatal(err)
			}
			if got := hex.EncodeToString(k.IV[:]); got != tt.iv {
				t.Errorf("iv = %s; want %s", got, tt.iv)
			}
			var mask [16]byte
			k.HP.Encrypt(mask[:], unhex(t, tt.sample))
			if got := hex.EncodeToString(mask[:5]); got != tt.mask5 {
				t.Errorf("mask = %s; want %s", got, tt.mask5)
			}
			// The AEAD key: sealing with it must match a GCM built from
			// the RFC's key bytes.
			got := k.AEAD.Seal(nil, k.IV[:], []byte("x"), nil)
			ref := gcmSeal(t, unhex(t, tt.key), k.IV[:], []byte("x"))
			if !bytes.Equal(got, ref) {
				t.Errorf("aead key differs from %s", tt.key)
			}
			hpRef := ecb(t, unhex(t, tt.hp), unhex(t, tt.sample))
			if !bytes.Equal(mask[:], hpRef) {
				t.Errorf("hp key differs from %s", tt.hp)
			}
		})
	}
}

func TestOpenRFC9001(t *testing.T) {
	pkt := rfcPacket(t)
	// The rebuilt packet must carry the bytes the RFC publishes.
	if got := hex.EncodeToString(pkt[:22]); got != rfcProtectedHeader {
		t.Fatalf("protected header = %s; want %s", got, rfcProtectedHeader)
	}
	if got := hex.EncodeToString(pkt[22:38]); got != rfcSample {
		t.Fatalf("sample = %s; want %s", got, rfcSample)
	}
	if len(pkt) != 1200 {
		t.Fatalf("packet is %d bytes; want 1200", len(pkt))
	}

	var (
		o Opener
		p Packet
	)
	orig := bytes.Clone(pkt)
	if err := o.Open(pkt, &p); err != nil {
		t.Fatalf("Open: %v", err)
	}
	if !bytes.Equal(pkt, orig) {
		t.Error("Open modified its input")
	}
	if p.PacketNumber != 2 || p.Len != 1200 || p.Version != Version1 ||
		hex.EncodeToString(p.DCID) != rfcDCID || len(p.SCID) != 0 {
		t.Errorf("got pn %d len %d version %x dcid %x scid %x; want 2 1200 1 %s none",
			p.PacketNumber, p.Len, p.Version, p.DCID, p.SCID, rfcDCID)
	}
	frames, err := AppendCrypto(nil, p.Payload)
	if err != nil || len(frames) != 1 || frames[0].Offset != 0 || len(frames[0].Data) != 241 {
		t.Fatalf("AppendCrypto = %d frames, %v; want one of 241 bytes at 0", len(frames), err)
	}

	a := NewAssembler(Config{})
	var r Result
	done, err := a.Feed(pkt, time.Unix(0, 0), &r)
	if !done || err != nil {
		t.Fatalf("Feed = %v, %v; want true, nil", done, err)
	}
	if string(r.Hello.ServerName) != "example.com" || len(r.Hello.ALPN) != 1 ||
		string(r.Hello.ALPN[0]) != "alpn" {
		t.Errorf("ServerName %q ALPN %q; want example.com [alpn]", r.Hello.ServerName, r.Hello.ALPN)
	}
	// 2 ciphers, 11 extensions, ALPN "alpn".
	if got, want := r.JA4(), "q13d0211an_"; !strings.HasPrefix(got, want) {
		t.Errorf("JA4 = %s; want prefix %s", got, want)
	}
	if a.Len() != 0 {
		t.Errorf("Len = %d after completion; want 0", a.Len())
	}
}

// TestAssemblerSplit spreads the RFC ClientHello over several Initial
// packets, CRYPTO frames out of order, coalesced with junk, and with the
// packets themselves arriving out of order.
func TestAssemblerSplit(t *testing.T) {
	dcid := unhex(t, rfcDCID)
	k, err := ClientInitialKeys(Version1, dcid)
	if err != nil {
		t.Fatal(err)
	}
	hello := unhex(t, rfcCryptoFrame)[4:] // strip frame type, offset, length
	crypto := func(off int, data []byte) []byte {
		f := []byte{0x06}
		f = appendVarint(f, uint64(off))
		f = appendVarint(f, uint64(len(data)))
		return append(f, data...)
	}
	packet := func(pn byte, frames ...[]byte) []byte {
		var payload []byte
		for _, f := range frames {
			payload = append(payload, f...)
		}
		payload = append(payload, 1)                   // PING
		payload = append(payload, make([]byte, 40)...) // PADDING
		hdr := []byte{0xc1, 0, 0, 0, 1, byte(len(dcid))}
		hdr = append(hdr, dcid...)
		hdr = append(hdr, 0, 0) // no SCID, no token
		hdr = appendVarint2(hdr, uint64(len(payload)+2+16))
		hdr = append(hdr, 0, pn)
		return seal(t, k, hdr, 2, payload)
	}
	p1 := packet(1, crypto(150, hello[150:]), crypto(0, hello[:60]))
	p2 := packet(2, []byte{0x02, 0x01, 0x00, 0x00, 0x00}, crypto(60, hello[60:150]))

	a := NewAssembler(Config{})
	var r Result
	now := time.Unix(100, 0)
	if done, err := a.Feed(p2, now, &r); done || err != nil {
		t.Fatalf("Feed(p2) = %v, %v; want false, nil", done, err)
	}
	if a.Len() != 1 {
		t.Fatalf("Len = %d; want 1", a.Len())
	}
	// A short-header packet coalesced after the Initial is ignored.
	datagram := append(bytes.Clone(p1), 0x40, 1, 2, 3)
	done, err := a.Feed(datagram, now, &r)
	if !done || err != nil {
		t.Fatalf("Feed(p1) = %v, %v; want true, nil", done, err)
	}
	if string(r.Hello.ServerName) != "example.com" || hex.EncodeToString(r.DCID) != rfcDCID {
		t.Errorf("ServerName %q DCID %x; want example.com %s", r.Hello.ServerName, r.DCID, rfcDCID)
	}
	if s := a.Stats(); s.Hellos != 1 || s.Packets != 2 {
		t.Errorf("Stats = %+v; want 1 hello from 2 packets", s)
	}
}

func TestAssemblerBounds(t *testing.T) {
	k := func(id byte) []byte {
		dcid := []byte{id, 1, 2, 3, 4, 5, 6, 7}
		keys, err := ClientInitialKeys(Version1, dcid)
		if err != nil {
			t.Fatal(err)
		}
		payload := append([]byte{0x06, 0x00, 0x05}, 1, 0, 0, 100, 3) // hello header only
		payload = append(payload, make([]byte, 30)...)
		hdr := append([]byte{0xc0, 0, 0, 0, 1, 8}, dcid...)
		hdr = append(hdr, 0, 0)
		hdr = appendVarint2(hdr, uint64(len(payload)+1+16))
		hdr = append(hdr, 0)
		return seal(t, keys, hdr, 1, payload)
	}
	a := NewAssembler(Config{MaxConns: 2, IdleTimeout: time.Second})
	var r Result
	t0 := time.Unix(0, 0)
	for i := range 3 {
		if done, err := a.Feed(k(byte(i)), t0.Add(time.Duration(i)*time.Millisecond), &r); done || err != nil {
			t.Fatalf("Feed %d = %v, %v", i, done, err)
		}
	}
	if s := a.Stats(); a.Len() != 2 || s.Evicted != 1 {
		t.Errorf("Len %d Evicted %d; want 2 1", a.Len(), s.Evicted)
	}
	a.Feed(k(9), t0.Add(time.Minute), &r)
	if s := a.Stats(); a.Len() != 1 || s.Expired != 2 {
		t.Errorf("Len %d Expired %d; want 1 2", a.Len(), s.Expired)
	}
}

func TestOpenErrors(t *testing.T) {
	pkt := rfcPacket(t)
	flipped := bytes.Clone(pkt)
	flipped[100] ^= 1
	tests := []struct {
		name string
		in   []byte
		want error
	}{
		{"short header", []byte{0x40, 1, 2, 3, 4, 5, 6, 7}, ErrNotInitial},
		{"handshake type", append([]byte{0xe0}, pkt[1:]...), ErrNotInitial},
		{"gquic", append([]byte{0xc0, 'Q', '0', '5', '0'}, pkt[5:]...), ErrVersion},
		{"long dcid", append([]byte{0xc0, 0, 0, 0, 1, 21}, make([]byte, 40)...), ErrConnID},
		{"truncated", pkt[:600], ErrTruncated},
		{"tampered", flipped, ErrDecrypt},
		{"empty", nil, ErrNotInitial},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var (
				o Opener
				p Packet
			)
			if err := o.Open(tt.in, &p); !errors.Is(err, tt.want) {
				t.Errorf("Open = %v; want %v", err, tt.want)
			}
		})
	}
}

func BenchmarkOpen(b *testing.B) {
	pkt := rfcPacket(b)
	var (
		o Opener
		p Packet
	)
	b.ReportAllocs()
	b.SetBytes(int64(len(pkt)))
	for b.Loop() {
		if err := o.Open(pkt, &p); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkFeed measures a whole first flight: key derivation for a new
// connection, decryption, CRYPTO gathering and ClientHello parsing.
func BenchmarkFeed(b *testing.B) {
	pkt := rfcPacket(b)
	a := NewAssembler(Config{})
	var r Result
	now := time.Unix(0, 0)
	b.ReportAllocs()
	b.SetBytes(int64(len(pkt)))
	for b.Loop() {
		a.open.valid = false // as if every datagram opened a new connection
		if done, err := a.Feed(pkt, now, &r); !done {
			b.Fatal(err)
		}
	}
}

func TestOpenAllocs(t *testing.T) {
	if testing.Short() || raceEnabled {
		t.Skip("allocation counts are only meaningful without -race and -short")
	}
	pkt := rfcPacket(t)
	var (
		o Opener
		p Packet
	)
	o.Open(pkt, &p) // derive the keys and grow the buffer once
	if n := testing.AllocsPerRun(50, func() { o.Open(pkt, &p) }); n != 0 {
		t.Errorf("Open allocs = %v; want 0 once the keys are cached", n)
	}
}
