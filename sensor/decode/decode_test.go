package decode

import (
	"errors"
	"io"
	"path/filepath"
	"testing"
	"time"

	"github.com/apitap/apitap/sensor/capture"
	"github.com/apitap/apitap/sensor/internal/corpus"
)

// TestCorpusDecodes decodes every corpus capture: nothing may panic, and
// every file that tshark found TCP or UDP traffic in must yield packets.
func TestCorpusDecodes(t *testing.T) {
	for _, f := range corpus.Files(t) {
		src, err := capture.OpenFile(f)
		if err != nil {
			t.Fatalf("OpenFile(%s): %v", f, err)
		}
		d := New(0)
		var p Packet
		for {
			data, ci, err := src.ReadPacket()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Errorf("%s: %v", filepath.Base(f), err)
				break
			}
			d.Decode(ci.LinkType, data, ci.Timestamp, &p)
		}
		src.Close()
		rejected := map[string]uint64{}
		d.Stats.Reasons(func(n string, c uint64) { rejected[n] = c })
		t.Logf("%-70s frames=%6d packets=%6d truncated=%d rejected=%v", filepath.Base(f),
			d.Stats.Frames, d.Stats.Packets, d.Stats.Truncated, rejected)
		if d.Stats.Packets == 0 {
			t.Errorf("%s: no TCP or UDP packet decoded", filepath.Base(f))
		}
	}
}

// FuzzDecode decodes arbitrary frames under every link type: no panic,
// and a payload always inside the frame or the fragment buffer.
func FuzzDecode(f *testing.F) {
	f.Add(uint16(1), []byte("\x00\x01\x02\x03\x04\x05\x00\x01\x02\x03\x04\x05\x08\x00E\x00\x00\x28"+
		"\x00\x00\x40\x00\x40\x06\x00\x00\x0a\x00\x00\x01\x0a\x00\x00\x02\x00\x50\x01\xbb\x00\x00"+
		"\x00\x01\x00\x00\x00\x00\x50\x02\xff\xff\x00\x00\x00\x00"))
	f.Add(uint16(276), make([]byte, 64))
	f.Add(uint16(0), []byte("\x02\x00\x00\x00E\x00\x00\x14\x00\x01\x20\x00\x40\x11"))
	f.Add(uint16(101), []byte("`\x00\x00\x00\x00\x08\x2c\x40"))
	d := New(1 << 16)
	f.Fuzz(func(t *testing.T, link uint16, frame []byte) {
		var p Packet
		if d.Decode(capture.LinkType(link), frame, time.Unix(0, 0), &p) == OK {
			if len(p.Payload) > 65535 {
				t.Fatalf("payload of %d bytes", len(p.Payload))
			}
		}
	})
}
