package decode

import (
	"errors"
	"io"
	"path/filepath"
	"testing"

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
