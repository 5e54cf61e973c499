package quic

import (
	"testing"
	"time"
)

// FuzzQUICInitial feeds arbitrary datagrams to the Opener, the frame walker
// and the Assembler. Decryption rarely succeeds on mutated input, so the
// frame walker is also fuzzed directly on the raw bytes.
func FuzzQUICInitial(f *testing.F) {
	f.Add(rfcPacket(f))
	f.Add([]byte{0x06, 0x00, 0x04, 1, 0, 0, 0, 0x02, 0x00, 0x00, 0x00, 0x00, 0x1c, 0, 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		var (
			o Opener
			p Packet
		)
		if err := o.Open(b, &p); err == nil {
			if p.Len > len(b) || len(p.Payload) > p.Len || len(p.DCID) > MaxConnIDLen {
				t.Fatalf("Len %d Payload %d DCID %d for %d bytes", p.Len, len(p.Payload), len(p.DCID), len(b))
			}
		}
		frames, _ := AppendCrypto(nil, b)
		total := 0
		for _, c := range frames {
			total += len(c.Data)
		}
		if total > len(b) {
			t.Fatalf("CRYPTO frames hold %d bytes of a %d-byte payload", total, len(b))
		}
		a := NewAssembler(Config{MaxConns: 4})
		var r Result
		a.Feed(b, time.Unix(0, 0), &r)
		a.Feed(b, time.Unix(1, 0), &r)
	})
}
