package inventory

import (
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/apitap/apitap/sensor/capture"
	"github.com/apitap/apitap/sensor/engine"
	"github.com/apitap/apitap/sensor/exchange"
	"github.com/apitap/apitap/sensor/internal/cputime"
	"github.com/apitap/apitap/sensor/internal/synth"
	"github.com/apitap/apitap/sensor/spec"
)

// collector keeps deep copies of the exchanges the engine emits: the
// engine reuses an exchange's slices after the call.
type collector struct{ exs []*exchange.Exchange }

func (c *collector) Exchange(ex *exchange.Exchange) {
	cp := *ex
	cp.QueryKeys = slices.Clone(ex.QueryKeys)
	cp.Request = copyMessage(ex.Request)
	cp.Response = copyMessage(ex.Response)
	c.exs = append(c.exs, &cp)
}
func (c *collector) Flow(*exchange.Flow) {}
func (c *collector) DNS(*exchange.DNS)   {}

func copyMessage(m exchange.Message) exchange.Message {
	m.Headers = slices.Clone(m.Headers)
	m.Body = slices.Clone(m.Body)
	return m
}

var synthOnce struct {
	sync.Once
	exs []*exchange.Exchange
	err error
}

// synthExchanges parses a generated 16 MB capture (the traffic of the
// pipeline benchmarks in sensor/analysis) once per test binary.
func synthExchanges(tb testing.TB) []*exchange.Exchange {
	tb.Helper()
	synthOnce.Do(func() {
		dir, err := os.MkdirTemp("", "apitap-inventory-synth")
		if err != nil {
			synthOnce.err = err
			return
		}
		defer os.RemoveAll(dir)
		p := filepath.Join(dir, "synth.pcap")
		f, err := os.Create(p)
		if err != nil {
			synthOnce.err = err
			return
		}
		_, err = synth.Write(f, synth.Options{TargetBytes: 16 << 20})
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			synthOnce.err = err
			return
		}
		src, err := capture.OpenFile(p)
		if err != nil {
			synthOnce.err = err
			return
		}
		defer src.Close()
		var c collector
		engine.Run(src, &engine.Config{}, 1, &c, nil)
		synthOnce.exs = c.exs
	})
	if synthOnce.err != nil {
		tb.Fatal(synthOnce.err)
	}
	return synthOnce.exs
}

// BenchmarkAddSynth folds the exchanges of a generated capture into a
// fresh inventory per iteration, warm-up included, as the pipeline does.
// ns/exchange is the number to compare with the parsing core's cost.
//
// The cold case starts from an empty inventory each time, so it weighs the
// warm-up (endpoint creation, body sampling) as a short capture does; the
// warm case replays the capture into an inventory that has seen it, which
// is the steady state of a long run.
func BenchmarkAddSynth(b *testing.B) {
	exs := synthExchanges(b)
	b.Run("cold", func(b *testing.B) {
		b.ReportAllocs()
		c0 := cputime.Now()
		for b.Loop() {
			addAll(New(Config{}, spec.NewSet()), exs)
		}
		reportPerExchange(b, cputime.Now()-c0, len(exs))
	})
	b.Run("warm", func(b *testing.B) {
		// Replayed four times, every endpoint has used its body samples.
		inv := New(Config{}, spec.NewSet())
		for range 4 {
			for _, ex := range exs {
				inv.Add(ex)
			}
		}
		inv.Events()
		b.ReportAllocs()
		c0 := cputime.Now()
		for b.Loop() {
			addAll(inv, exs)
			inv.Events()
		}
		reportPerExchange(b, cputime.Now()-c0, len(exs))
	})
}

// addAll is the measured loop, kept out of line so that an instruction
// counter (valgrind --toggle-collect='*addAll') can count it alone.
//
//go:noinline
func addAll(inv *Inventory, exs []*exchange.Exchange) {
	for _, ex := range exs {
		inv.Add(ex)
	}
}

// reportPerExchange reports CPU time (all threads, so the collector's work
// counts) per exchange: steadier than wall time on a shared machine.
func reportPerExchange(b *testing.B, cpu time.Duration, exchanges int) {
	b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N*exchanges), "cpu-ns/exchange")
}

// TestPendingEventsMatchSnapshots checks that a queued event, once built,
// holds what snapshot gives at the same moment, as endpoints gain requests,
// statuses, body fields and merges, and while the flat lists pending
// events share are reused between calls.
func TestPendingEventsMatchSnapshots(t *testing.T) {
	exs := synthExchanges(t)
	if testing.Short() {
		exs = exs[:1000]
	}
	inv := New(Config{}, spec.NewSet())
	for i, ex := range exs {
		inv.Add(ex)
		if i%97 != 0 && i != len(exs)-1 {
			continue
		}
		for _, svc := range inv.services {
			for _, ep := range svc.endpoints {
				p := inv.pending(Event{Kind: EventUpdate}, svc, ep)
				got, want := p.event().Endpoint, inv.snapshot(svc, ep)
				if !reflect.DeepEqual(got, want) {
					t.Fatalf("after %d exchanges, %s %s: event endpoint %+v; want %+v", i+1,
						ep.Method, ep.Template, got, want)
				}
			}
		}
	}
	if len(inv.Events()) == 0 {
		t.Error("no events queued")
	}
}
