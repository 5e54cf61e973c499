package dataflow

import (
	"testing"
	"time"

	"github.com/apitap/apitap/sensor/exchange"
)

// TestSampling pins which incoming bodies are scanned: all of the first
// ResponseSampleAfter of a (server, method, side), then one in
// ResponseSampleEvery, or one in ResponseSampleQuietEvery while the last
// ResponseSampleAfter scanned bodies matched nothing; bodies sent out are
// always scanned.
func TestSampling(t *testing.T) {
	const pii, plain = `{"email":"jane.doe@example.com"}`, `{"status":"ok","count":2}`
	repeat := func(n int, body string, opts ...exOpt) []exOpt {
		out := make([]exOpt, n)
		for i := range out {
			out[i] = func(ex *exchange.Exchange) {
				for _, o := range opts {
					o(ex)
				}
				respJSON(body)(ex)
			}
		}
		return out
	}
	cat := func(parts ...[]exOpt) []exOpt {
		var out []exOpt
		for _, p := range parts {
			out = append(out, p...)
		}
		return out
	}
	tests := []struct {
		name    string
		cfg     Config
		bodies  []exOpt // one exchange each
		sampled int64   // bodies left out
		matches int64
	}{
		// 704 bodies: 64 learnt, then 640 of which 1 in 64 (10) are read.
		{"quiet endpoint", Config{}, repeat(704, plain, inbound()), 640 - 10, 0},
		// 1 in 16 of the 640 after the first 64 are read: 40.
		{"endpoint with personal data", Config{}, repeat(704, pii, inbound()), 640 - 40, 64 + 40},
		// Quiet after 64 bodies; the first body read after that matches,
		// and the rate goes back to 1 in 16.
		{"quiet, then personal data", Config{},
			cat(repeat(64, plain, inbound()), repeat(640, pii, inbound())), 640 - 40, 40},
		{"every body", Config{ResponseSampleEvery: 1}, repeat(704, plain, inbound()), 0, 0},
		{"explicit quiet rate", Config{ResponseSampleQuietEvery: 32},
			repeat(704, plain, inbound()), 640 - 20, 0},
		{"request bodies sent out", Config{},
			repeat(704, plain, reqJSON(pii)), 640 - 10, 704},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := New(tt.cfg, testKey, resolver)
			for i, o := range tt.bodies {
				ex := newEx("orders.internal", "/v1/orders", o, at(time.Duration(i)*time.Second))
				a.Exchange(ex)
			}
			st := a.Stats()
			if st.SampledOut != tt.sampled || st.Matches != tt.matches {
				t.Errorf("Stats: got %d sampled out, %d matches; want %d, %d",
					st.SampledOut, st.Matches, tt.sampled, tt.matches)
			}
		})
	}
}
