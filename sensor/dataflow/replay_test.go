package dataflow_test

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/apitap/apitap/sensor/analysis"
	"github.com/apitap/apitap/sensor/capture"
	"github.com/apitap/apitap/sensor/dataflow"
	"github.com/apitap/apitap/sensor/engine"
	"github.com/apitap/apitap/sensor/exchange"
	"github.com/apitap/apitap/sensor/internal/cputime"
	"github.com/apitap/apitap/sensor/internal/synth"
	"github.com/apitap/apitap/sensor/secret"
	"github.com/apitap/apitap/sensor/vendor"
)

// collector keeps a deep copy of every exchange the engine emits: the
// engine reuses the memory behind bodies and headers.
type collector struct{ exs []*exchange.Exchange }

func (c *collector) Exchange(ex *exchange.Exchange) {
	cp := *ex
	cp.QueryKeys = slices.Clone(ex.QueryKeys)
	for _, m := range []*exchange.Message{&cp.Request, &cp.Response} {
		m.Headers = slices.Clone(m.Headers)
		m.Body = bytes.Clone(m.Body)
	}
	c.exs = append(c.exs, &cp)
}
func (c *collector) Flow(*exchange.Flow) {}
func (c *collector) DNS(*exchange.DNS)   {}

// synthExchanges parses a generated capture of about 16 MiB (the same
// generator the pipeline benchmarks use) into exchanges.
func synthExchanges(b *testing.B) []*exchange.Exchange {
	p := filepath.Join(b.TempDir(), "synth.pcap")
	f, err := os.Create(p)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := synth.Write(f, synth.Options{TargetBytes: 16 << 20}); err != nil {
		b.Fatal(err)
	}
	if err := f.Close(); err != nil {
		b.Fatal(err)
	}
	src, err := capture.OpenFile(p)
	if err != nil {
		b.Fatal(err)
	}
	defer src.Close()
	var c collector
	engine.Run(src, &engine.Config{}, 1, &c, nil)
	return c.exs
}

// BenchmarkReplay runs an Analyzer, with the vendor resolver and the default
// policy, over every exchange of a generated capture: the classification
// share of the pipeline benchmark without the parsing core around it. In
// "fresh" each pass starts a new Analyzer, so the first bodies of each
// endpoint are all scanned, as at the start of a capture; in "warm" one
// Analyzer sees the capture again and again, as in a long run. Both report
// the CPU time (user+sys, steadier than wall time on a shared machine) per
// exchange.
func BenchmarkReplay(b *testing.B) {
	exs := synthExchanges(b)
	key, _ := secret.NewKey(make([]byte, secret.KeySize))
	newAnalyzer := func() *dataflow.Analyzer {
		va := vendor.NewAnalyzer(vendor.Config{})
		return dataflow.New(dataflow.Config{Policy: dataflow.DefaultPolicy()}, key,
			analysis.Destinations(va))
	}
	run := func(b *testing.B, fresh bool) {
		a := newAnalyzer()
		for _, ex := range exs {
			a.Exchange(ex)
		}
		b.ReportAllocs()
		var cpu time.Duration
		for b.Loop() {
			if fresh {
				a = newAnalyzer()
			}
			_, d := cputime.Measure(func() {
				for _, ex := range exs {
					a.Exchange(ex)
				}
			})
			cpu += d
		}
		b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N*len(exs)), "cpu-ns/exchange")
	}
	b.Run("fresh", func(b *testing.B) { run(b, true) })
	b.Run("warm", func(b *testing.B) { run(b, false) })
}
