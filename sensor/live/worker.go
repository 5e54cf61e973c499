package live

import (
	"errors"
	"io"
	"log/slog"
	"maps"
	"sync"
	"time"

	"github.com/apitap/apitap/sensor/capture"
	"github.com/apitap/apitap/sensor/decode"
	"github.com/apitap/apitap/sensor/engine"
)

// publishEvery is how often, in packets, a worker checks whether its
// counters are due for publication; publishPeriod is how stale they may be.
// Reading the clock every packet would cost more than the publication.
const (
	publishEvery  = 256
	publishPeriod = 500 * time.Millisecond
	// maxIfIndex bounds the per-interface counters a worker keeps; packets
	// of interfaces past it are counted under index 0.
	maxIfIndex = 1 << 16
)

// snapshot is a copy of one worker's counters, made on the worker's own
// goroutine (engine.Worker is not safe to read from another).
type snapshot struct {
	stats    engine.Stats
	flows    int
	buffered int
	decode   map[string]uint64
	// ifPackets and ifBytes count frames and their wire length by
	// capture.Info.Interface.
	ifPackets, ifBytes []uint64
	done               bool
}

// worker owns one source, its decoder and its engine worker.
type worker struct {
	src capture.Source
	dec *decode.Decoder
	w   *engine.Worker
	log *slog.Logger

	ifPackets, ifBytes []uint64

	mu   sync.Mutex
	snap snapshot
}

func newWorker(src capture.Source, cfg *engine.Config, emit engine.Emitter, log *slog.Logger) *worker {
	return &worker{src: src, dec: decode.New(0), w: engine.NewWorker(cfg, emit), log: log}
}

// run reads the source until it ends, then finishes every flow.
func (wk *worker) run() {
	var p decode.Packet
	last := time.Now()
	for n := uint64(1); ; n++ {
		data, ci, err := wk.src.ReadPacket()
		if errors.Is(err, capture.ErrIdle) {
			// A quiet network: end idle flows and refresh the counters.
			wk.w.Tick(time.Now())
			wk.publish(false)
			last = time.Now()
			continue
		}
		if err != nil {
			if !errors.Is(err, io.EOF) {
				wk.log.Warn("capture read", "error", err)
			}
			break
		}
		i := ci.Interface
		if i < 0 || i >= maxIfIndex {
			i = 0
		}
		if i >= len(wk.ifPackets) {
			wk.ifPackets = append(wk.ifPackets, make([]uint64, i+1-len(wk.ifPackets))...)
			wk.ifBytes = append(wk.ifBytes, make([]uint64, i+1-len(wk.ifBytes))...)
		}
		wk.ifPackets[i]++
		wk.ifBytes[i] += uint64(ci.Length)
		if wk.dec.Decode(ci.LinkType, data, ci.Timestamp, &p) == decode.OK {
			wk.w.Packet(&p)
		}
		if n%publishEvery == 0 {
			if now := time.Now(); now.Sub(last) >= publishPeriod {
				last = now
				wk.publish(false)
			}
		}
	}
	wk.w.Finish()
	wk.publish(true)
}

// publish copies the counters where the metrics loop can read them.
func (wk *worker) publish(done bool) {
	st := wk.w.Stats()
	dec := map[string]uint64{}
	wk.dec.Stats.Reasons(func(n string, c uint64) { dec[n] = c })
	s := snapshot{stats: *st, flows: wk.w.FlowCount(), buffered: wk.w.BufferedBytes(),
		decode: dec, ifPackets: append([]uint64(nil), wk.ifPackets...),
		ifBytes: append([]uint64(nil), wk.ifBytes...), done: done}
	s.stats.HTTPErrors = maps.Clone(st.HTTPErrors)
	wk.mu.Lock()
	wk.snap = s
	wk.mu.Unlock()
}

// snapshot returns the last published counters.
func (wk *worker) snapshot() snapshot {
	wk.mu.Lock()
	defer wk.mu.Unlock()
	return wk.snap
}
