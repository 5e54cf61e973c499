package engine

import (
	"net/netip"
	"runtime"
	"testing"
	"time"

	"github.com/apitap/apitap/sensor/decode"
)

// TestHalfOpenFlood sends a million SYNs from distinct clients, as a scan
// or a SYN flood would, through a worker whose table holds 100 000 flows:
// the table must stay at its limit, count every eviction, and keep the
// heap bounded.
func TestHalfOpenFlood(t *testing.T) {
	if testing.Short() {
		t.Skip("a million packets")
	}
	const maxFlows, syns = 100_000, 1_000_000
	cfg := &Config{}
	cfg.Flows.MaxFlows = maxFlows
	var c counter
	w := NewWorker(cfg, &c)
	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	server := netip.MustParseAddr("10.0.0.1")
	now := time.Unix(1_700_000_000, 0)
	var p decode.Packet
	for i := 0; i < syns; i++ {
		p = decode.Packet{
			Time:    now.Add(time.Duration(i) * time.Microsecond),
			Src:     netip.AddrFrom4([4]byte{172, 16, byte(i >> 16), byte(i >> 8)}),
			Dst:     server,
			SrcPort: uint16(1024 + i%60000),
			DstPort: 443,
			Proto:   decode.ProtoTCP,
			Flags:   decode.FlagSYN,
			Seq:     uint32(i * 7919),
		}
		w.Packet(&p)
	}
	runtime.GC()
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	grown := int64(after.HeapInuse) - int64(before.HeapInuse)
	st := w.Stats()
	t.Logf("flows held %d, created %d, evicted when full %d, heap grown %.1f MiB (%.0f B/flow)",
		w.FlowCount(), st.Flows, st.Evicted[2], float64(grown)/(1<<20), float64(grown)/maxFlows)
	if w.FlowCount() > maxFlows {
		t.Errorf("table holds %d flows; want ≤ %d", w.FlowCount(), maxFlows)
	}
	if st.Evicted[2] < syns-maxFlows {
		t.Errorf("evicted %d flows when full; want ≥ %d", st.Evicted[2], syns-maxFlows)
	}
	const limit = 128 << 20
	if grown > limit {
		t.Errorf("heap grew by %d MiB; want ≤ %d MiB for %d flows", grown>>20, limit>>20, maxFlows)
	}
}
