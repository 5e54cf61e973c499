package kafka

import (
	"context"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"github.com/apitap/apitap/pipeline/ocsf"
	"github.com/apitap/apitap/pipeline/sink"
	"github.com/apitap/apitap/pipeline/spool"
	"github.com/apitap/apitap/sensor/finding"
)

// countingConn counts bytes the client writes to the broker.
type countingConn struct {
	net.Conn
	n *atomic.Int64
}

func (c countingConn) Write(b []byte) (int, error) {
	n, err := c.Conn.Write(b)
	c.n.Add(int64(n))
	return n, err
}

func benchSink(b *testing.B, addr, dir string, wire *atomic.Int64) *Sink {
	b.Helper()
	var d net.Dialer
	s, err := New(context.Background(), Config{Brokers: []string{addr}, Spool: spool.Config{Dir: dir,
		MaxBytes: 4 << 30}, Dial: func(ctx context.Context, nw, a string) (net.Conn, error) {
		c, err := d.DialContext(ctx, nw, a)
		if err != nil {
			return nil, err
		}
		return countingConn{c, wire}, nil
	}})
	if err != nil {
		b.Fatal(err)
	}
	return s
}

// BenchmarkSinkDirect measures finding updates per second from Write into a
// kfake broker over loopback with zstd and acks=all, spool idle.
func BenchmarkSinkDirect(b *testing.B) {
	c := startCluster(b, 0, "")
	defer c.Close()
	var wire atomic.Int64
	s := benchSink(b, c.ListenAddrs()[0], b.TempDir(), &wire)
	defer s.Close(context.Background())

	enc := newEncoder()
	const per = 4096
	evs := make([]sink.Event, per)
	var bytes int64
	for i := range evs {
		evs[i] = enc.finding(i)
		bytes += int64(len(evs[i].Value))
	}
	b.SetBytes(bytes)
	b.ReportAllocs()
	wire.Store(0)
	for b.Loop() {
		if err := s.Write(context.Background(), evs); err != nil {
			b.Fatal(err)
		}
	}
	n := float64(b.N * per)
	b.ReportMetric(n/b.Elapsed().Seconds(), "events/s")
	b.ReportMetric(float64(wire.Load())/n, "wire-B/event")
	if st := s.Stats(); st.Spooled != 0 {
		b.Fatalf("spooled %d events; the direct path was not measured", st.Spooled)
	}
}

// BenchmarkSinkReplay measures how fast a spool backlog drains into Kafka
// while new batches keep arriving behind it.
func BenchmarkSinkReplay(b *testing.B) {
	c := startCluster(b, 0, "")
	defer c.Close()
	var wire atomic.Int64
	s := benchSink(b, c.ListenAddrs()[0], b.TempDir(), &wire)
	defer s.Close(context.Background())

	enc := newEncoder()
	const per = 4096
	evs := make([]sink.Event, per)
	for i := range evs {
		evs[i] = enc.finding(i)
	}
	// Fill a backlog: 8 batches already spooled before each timed round.
	for b.Loop() {
		b.StopTimer()
		s.sendMu.Lock()
		for range 8 {
			if err := s.spoolEvents(evs); err != nil {
				b.Fatal(err)
			}
		}
		s.sendMu.Unlock()
		b.StartTimer()
		// New events arrive while replaying; they queue behind the backlog.
		for range 2 {
			if err := s.Write(context.Background(), evs); err != nil {
				b.Fatal(err)
			}
		}
		for s.Backlog() {
			time.Sleep(time.Millisecond)
		}
	}
	n := float64(b.N * per * 10)
	b.ReportMetric(n/b.Elapsed().Seconds(), "events/s")
}

// BenchmarkPublisherToKafka measures the whole sensor-side path: OCSF
// encoding by a Publisher, the bounded queue (blocking mode) and the sink.
func BenchmarkPublisherToKafka(b *testing.B) {
	c := startCluster(b, 0, "")
	defer c.Close()
	var wire atomic.Int64
	s := benchSink(b, c.ListenAddrs()[0], b.TempDir(), &wire)
	q := sink.NewQueue(s, sink.QueueConfig{Block: true})
	p := sink.NewPublisher(q, ocsf.Identity{Hostname: "bench"})
	fs := make([]finding.Finding, 1024)
	for i := range fs {
		fs[i] = finding.Finding{Type: finding.UndeclaredVendor, UID: uidOf(i),
			Title: "Undeclared vendor", Severity: finding.SevHigh, Risk: 0.7, Source: "svc",
			Destination: "api.example.com", Count: 1, Evidence: map[string]any{"sni": "api.example.com"}}
	}
	ctx := context.Background()
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		f := &fs[i%len(fs)]
		f.Count++
		if err := p.Finding(ctx, f, false); err != nil {
			b.Fatal(err)
		}
		i++
	}
	cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := q.Close(cctx); err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
	b.ReportMetric(float64(wire.Load())/float64(b.N), "wire-B/event")
	if st := s.Stats(); st.Sent != uint64(b.N) && b.N > 1 {
		b.Fatalf("sent %d of %d", st.Sent, b.N)
	}
}
