package metrics

import (
	"net/http"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

const namespace = "apitap"

// Metrics holds every collector of one sensor and the registry that serves
// them. All fields are set by New and never nil; the collectors are safe for
// concurrent use.
type Metrics struct {
	// Packets and Bytes count what the capture handed to the sensor, per
	// interface (label "iface").
	Packets *prometheus.CounterVec
	Bytes   *prometheus.CounterVec
	// KernelDrops counts packets the kernel dropped because the capture ring
	// was full, per interface, as read from the socket statistics.
	KernelDrops *prometheus.CounterVec

	// FlowsActive is the number of flows the flow tables hold right now.
	FlowsActive prometheus.Gauge
	// FlowsEvicted counts flows removed before they closed, by reason
	// (idle, max_flows, memory...).
	FlowsEvicted *prometheus.CounterVec
	// MemoryShedFlows counts flows dropped because the reassembly memory
	// budget was exhausted.
	MemoryShedFlows prometheus.Counter
	// ReassemblyBytes is the memory held by TCP reassembly buffers, in bytes.
	ReassemblyBytes prometheus.Gauge

	// Exchanges counts request/response pairs by outcome (complete,
	// no_response, truncated...).
	Exchanges *prometheus.CounterVec
	// ParseErrors counts rejected protocol input by reason token.
	ParseErrors *prometheus.CounterVec
	// Findings counts emitted findings by finding type.
	Findings *prometheus.CounterVec

	// KafkaBatches counts batches written to Kafka; KafkaErrors counts
	// failed writes by reason.
	KafkaBatches prometheus.Counter
	KafkaErrors  *prometheus.CounterVec
	// SpoolBytes is the size of the on-disk spool, in bytes.
	SpoolBytes prometheus.Gauge

	reg   *prometheus.Registry
	ready atomic.Bool
}

// New returns a Metrics with every collector registered in a fresh private
// registry, together with the Go runtime and process collectors.
func New() *Metrics {
	m := &Metrics{
		Packets: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Name: "packets_total",
			Help: "Packets received from the capture, per interface.",
		}, []string{"iface"}),
		Bytes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Name: "bytes_total",
			Help: "Bytes on the wire of the packets received from the capture, per interface.",
		}, []string{"iface"}),
		KernelDrops: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Name: "kernel_drops_total",
			Help: "Packets the kernel dropped because the capture ring was full, per interface.",
		}, []string{"iface"}),
		FlowsActive: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: namespace, Name: "flows_active",
			Help: "Flows currently tracked by the flow tables.",
		}),
		FlowsEvicted: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Name: "flows_evicted_total",
			Help: "Flows removed from the flow tables before they closed, by reason.",
		}, []string{"reason"}),
		MemoryShedFlows: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: namespace, Name: "memory_shed_flows_total",
			Help: "Flows dropped because the reassembly memory budget was exhausted.",
		}),
		ReassemblyBytes: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: namespace, Name: "reassembly_memory_bytes",
			Help: "Bytes held in TCP reassembly buffers.",
		}),
		Exchanges: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Name: "exchanges_total",
			Help: "HTTP request/response exchanges assembled, by outcome.",
		}, []string{"outcome"}),
		ParseErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Name: "parse_errors_total",
			Help: "Protocol input rejected by the parsers, by reason.",
		}, []string{"reason"}),
		Findings: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Name: "findings_total",
			Help: "Findings emitted, by finding type.",
		}, []string{"type"}),
		KafkaBatches: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: namespace, Name: "kafka_batches_total",
			Help: "Batches of records written to Kafka.",
		}),
		KafkaErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Name: "kafka_errors_total",
			Help: "Failed Kafka writes, by reason.",
		}, []string{"reason"}),
		SpoolBytes: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: namespace, Name: "spool_bytes",
			Help: "Bytes held in the on-disk spool while Kafka is unreachable.",
		}),
		reg: prometheus.NewRegistry(),
	}
	m.reg.MustRegister(
		m.Packets, m.Bytes, m.KernelDrops,
		m.FlowsActive, m.FlowsEvicted, m.MemoryShedFlows, m.ReassemblyBytes,
		m.Exchanges, m.ParseErrors, m.Findings,
		m.KafkaBatches, m.KafkaErrors, m.SpoolBytes,
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{Namespace: namespace}),
	)
	return m
}

// Registry returns the private registry, for a component that brings its
// own collectors. Registering a name twice panics, as with any registry.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// SetReady marks the sensor ready (capture attached and pipeline running) or
// not ready. It is safe for concurrent use.
func (m *Metrics) SetReady(ready bool) { m.ready.Store(ready) }

// Ready reports what SetReady last set; a new Metrics is not ready.
func (m *Metrics) Ready() bool { return m.ready.Load() }

// Handler returns the HTTP handler serving /metrics, /healthz and /readyz.
//
// /healthz answers 200 whenever the process can serve HTTP at all; /readyz
// answers 200 only after SetReady(true), and 503 otherwise, so that an
// orchestrator holds traffic-dependent checks until capture is attached.
func (m *Metrics) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{
		// A failing collector should not hide all the others.
		ErrorHandling: promhttp.ContinueOnError,
	}))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = w.Write([]byte("ok\n"))
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		if !m.ready.Load() {
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = w.Write([]byte("not ready\n"))
			return
		}
		_, _ = w.Write([]byte("ready\n"))
	})
	return mux
}
