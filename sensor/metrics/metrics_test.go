package metrics

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

func scrape(t *testing.T, srv *httptest.Server) map[string]*dto.MetricFamily {
	t.Helper()
	resp, err := http.Get(srv.URL + "/metrics")
	if err != nil {
		t.Fatalf("GET /metrics: %v", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /metrics: status %d; want 200", resp.StatusCode)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("parse /metrics: %v", err)
	}
	return fams
}

// value finds the sample of family name whose labels include want.
func value(t *testing.T, fams map[string]*dto.MetricFamily, name string, want map[string]string) float64 {
	t.Helper()
	fam, ok := fams[name]
	if !ok {
		t.Fatalf("scrape has no family %q", name)
	}
next:
	for _, m := range fam.GetMetric() {
		got := map[string]string{}
		for _, lp := range m.GetLabel() {
			got[lp.GetName()] = lp.GetValue()
		}
		for k, v := range want {
			if got[k] != v {
				continue next
			}
		}
		switch {
		case m.Counter != nil:
			return m.GetCounter().GetValue()
		case m.Gauge != nil:
			return m.GetGauge().GetValue()
		}
	}
	t.Fatalf("family %q has no sample with labels %v", name, want)
	return 0
}

func TestScrape(t *testing.T) {
	m := New()
	srv := httptest.NewServer(m.Handler())
	defer srv.Close()

	m.Packets.WithLabelValues("eth0").Add(3)
	m.Bytes.WithLabelValues("eth0").Add(1500)
	m.KernelDrops.WithLabelValues("veth1").Add(2)
	m.FlowsActive.Set(7)
	m.FlowsEvicted.WithLabelValues("idle").Inc()
	m.MemoryShedFlows.Add(4)
	m.ReassemblyBytes.Set(65536)
	m.Exchanges.WithLabelValues("complete").Add(5)
	m.ParseErrors.WithLabelValues("header_too_long").Inc()
	m.Findings.WithLabelValues("shadow_api").Add(2)
	m.KafkaBatches.Add(9)
	m.KafkaErrors.WithLabelValues("timeout").Inc()
	m.SpoolBytes.Set(1024)

	fams := scrape(t, srv)
	tests := []struct {
		name   string
		labels map[string]string
		want   float64
	}{
		{"apitap_packets_total", map[string]string{"iface": "eth0"}, 3},
		{"apitap_bytes_total", map[string]string{"iface": "eth0"}, 1500},
		{"apitap_kernel_drops_total", map[string]string{"iface": "veth1"}, 2},
		{"apitap_flows_active", nil, 7},
		{"apitap_flows_evicted_total", map[string]string{"reason": "idle"}, 1},
		{"apitap_memory_shed_flows_total", nil, 4},
		{"apitap_reassembly_memory_bytes", nil, 65536},
		{"apitap_exchanges_total", map[string]string{"outcome": "complete"}, 5},
		{"apitap_parse_errors_total", map[string]string{"reason": "header_too_long"}, 1},
		{"apitap_findings_total", map[string]string{"type": "shadow_api"}, 2},
		{"apitap_kafka_batches_total", nil, 9},
		{"apitap_kafka_errors_total", map[string]string{"reason": "timeout"}, 1},
		{"apitap_spool_bytes", nil, 1024},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := value(t, fams, tt.name, tt.labels); got != tt.want {
				t.Errorf("%s%v = %v; want %v", tt.name, tt.labels, got, tt.want)
			}
			if fams[tt.name].GetHelp() == "" {
				t.Errorf("%s has no help string", tt.name)
			}
		})
	}

	// The runtime and process collectors are registered too.
	for _, name := range []string{"go_goroutines", "apitap_process_resident_memory_bytes"} {
		if _, ok := fams[name]; !ok {
			t.Errorf("scrape has no family %q", name)
		}
	}
}

func TestHealthAndReadiness(t *testing.T) {
	m := New()
	srv := httptest.NewServer(m.Handler())
	defer srv.Close()

	get := func(path string) (int, string) {
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, strings.TrimSpace(string(b))
	}

	steps := []struct {
		name  string
		ready bool
		path  string
		code  int
		body  string
	}{
		{"healthz before ready", false, "/healthz", 200, "ok"},
		{"readyz before ready", false, "/readyz", 503, "not ready"},
		{"readyz after ready", true, "/readyz", 200, "ready"},
		{"healthz after ready", true, "/healthz", 200, "ok"},
		{"readyz after unready", false, "/readyz", 503, "not ready"},
	}
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			m.SetReady(s.ready)
			code, body := get(s.path)
			if code != s.code || body != s.body {
				t.Errorf("GET %s = %d %q; want %d %q", s.path, code, body, s.code, s.body)
			}
		})
	}

	resp, err := http.Post(srv.URL+"/metrics", "text/plain", nil)
	if err != nil {
		t.Fatalf("POST /metrics: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("POST /metrics = %d; want 405", resp.StatusCode)
	}
}
