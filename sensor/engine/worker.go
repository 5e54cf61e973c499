package engine

import (
	"time"

	"github.com/apitap/apitap/sensor/decode"
	"github.com/apitap/apitap/sensor/exchange"
	"github.com/apitap/apitap/sensor/flow"
	"github.com/apitap/apitap/sensor/httpparse"
	"github.com/apitap/apitap/sensor/reasm"
	"github.com/apitap/apitap/sensor/tlsparse"
)

// Stats counts what a worker saw. Read it only when the worker is idle (after
// Finish), or from the worker's own goroutine.
type Stats struct {
	Packets   uint64 // TCP and UDP packets handled
	Bytes     uint64 // transport payload bytes
	Flows     uint64 // flows created
	Evicted   [4]uint64
	Exchanges uint64
	// Unanswered counts exchanges whose request saw no response.
	Unanswered uint64
	// Orphans counts responses whose request was never seen.
	Orphans uint64
	// HTTPErrors counts HTTP parse errors by httpparse.Reason.
	HTTPErrors map[string]uint64
	Gaps       uint64 // reassembly gaps
	LostBytes  uint64 // bytes declared lost in gaps
	// BufferExceeded counts segments not held for lack of buffer budget.
	BufferExceeded uint64
	Upgrades       uint64 // 101 and CONNECT tunnels
	H2C            uint64 // connections that switched to HTTP/2 cleartext
	TLSFlows       uint64
	DNSMessages    uint64
	DNSErrors      uint64
	QUICInitials   uint64
	NotHTTP        uint64 // TCP flows given up as not HTTP
	// Shed counts packets and chunks dropped because Config.AdmitFlow
	// refused the flow they would have created.
	Shed uint64
}

// Add folds o into s.
func (s *Stats) Add(o *Stats) {
	s.Packets += o.Packets
	s.Bytes += o.Bytes
	s.Flows += o.Flows
	for i := range s.Evicted {
		s.Evicted[i] += o.Evicted[i]
	}
	s.Exchanges += o.Exchanges
	s.Unanswered += o.Unanswered
	s.Orphans += o.Orphans
	for k, v := range o.HTTPErrors {
		if s.HTTPErrors == nil {
			s.HTTPErrors = make(map[string]uint64)
		}
		s.HTTPErrors[k] += v
	}
	s.Gaps += o.Gaps
	s.LostBytes += o.LostBytes
	s.BufferExceeded += o.BufferExceeded
	s.Upgrades += o.Upgrades
	s.H2C += o.H2C
	s.TLSFlows += o.TLSFlows
	s.DNSMessages += o.DNSMessages
	s.DNSErrors += o.DNSErrors
	s.QUICInitials += o.QUICInitials
	s.NotHTTP += o.NotHTTP
	s.Shed += o.Shed
}

// Worker runs the flow table and parsers for its share of the flows.
type Worker struct {
	cfg    *Config
	emit   Emitter
	flows  *flow.Table[conn]
	budget reasm.Budget
	stats  Stats
	http   httpparse.Config

	httpErrors [32]uint64 // by httpparse.Reason, folded into stats at Finish

	// Scratch reused across flows so parsing TLS and DNS allocates nothing.
	hello  tlsparse.ClientHello
	shello tlsparse.ServerHello
	udp    udpState
	ex     exchange.Exchange
	fl     exchange.Flow

	// Reused while building exchanges (see httpConn.emit).
	arena       strArena
	reqSpans    []hdrSpan
	respSpans   []hdrSpan
	reqHeaders  []exchange.Header
	respHeaders []exchange.Header
	queryKeys   []string
	httpFree    []*httpConn
	// scratch lends every HTTP parser of the worker its in-flight buffers,
	// so they stay warm in the cache however many connections there are.
	scratch *httpparse.Scratch
	now     time.Time
	evictF  func(*flow.Entry[conn], flow.Reason)
}

// NewWorker returns a worker that reports to emit.
func NewWorker(cfg *Config, emit Emitter) *Worker {
	w := &Worker{cfg: cfg, emit: emit, flows: flow.NewTable[conn](cfg.Flows),
		scratch: httpparse.NewScratch()}
	w.budget.Limit = cfg.MaxBuffered
	w.http = cfg.HTTP
	w.http.DecodeBodies = !cfg.NoBodyDecode
	w.evictF = w.evict
	return w
}

// Packet handles one decoded packet. p.Payload may be the capture buffer;
// the worker copies only what it must keep.
func (w *Worker) Packet(p *decode.Packet) {
	w.now = p.Time
	w.stats.Packets++
	w.stats.Bytes += uint64(len(p.Payload))
	w.flows.Expire(p.Time, w.evictF)
	switch p.Proto {
	case decode.ProtoTCP:
		w.tcp(p)
	case decode.ProtoUDP:
		w.udpPacket(p)
	}
}

// Tick expires flows idle since before now less the idle timeout, for a
// live source that saw no packet for a while: without it a quiet network
// would keep its last flows, and their exchanges, forever. now must be on
// the packets' clock (live capture: wall time).
func (w *Worker) Tick(now time.Time) {
	if now.After(w.now) {
		w.now = now
	}
	w.flows.Expire(w.now, w.evictF)
}

// Finish ends every flow still open, as at the end of a capture, and
// returns the worker's counters.
func (w *Worker) Finish() *Stats {
	w.flows.Flush(w.evictF)
	return w.Stats()
}

// Stats returns the worker's counters.
func (w *Worker) Stats() *Stats {
	w.stats.Flows = w.flows.Created
	w.stats.Evicted = w.flows.Evicted
	w.stats.BufferExceeded = w.budget.Exceeded
	if w.stats.HTTPErrors == nil {
		w.stats.HTTPErrors = make(map[string]uint64)
	}
	for r, n := range w.httpErrors {
		if n > 0 && r != 0 {
			w.stats.HTTPErrors[httpparse.Reason(r).String()] = n
		}
	}
	return &w.stats
}

// FlowCount returns the flows held now.
func (w *Worker) FlowCount() int { return w.flows.Len() }

// BufferedBytes returns the out-of-order bytes held now.
func (w *Worker) BufferedBytes() int { return w.budget.Held() }

// evict ends a flow the table is removing.
func (w *Worker) evict(e *flow.Entry[conn], _ flow.Reason) {
	w.endConn(&e.Value)
}
