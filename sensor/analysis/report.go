package analysis

import (
	"time"

	"github.com/apitap/apitap/sensor/engine"
	"github.com/apitap/apitap/sensor/flow"
)

// Summary is the "summary" section of a report.
type Summary struct {
	Packets     uint64            `json:"packets"`
	Frames      uint64            `json:"frames"`
	Flows       uint64            `json:"flows"`
	Exchanges   uint64            `json:"exchanges"`
	Unanswered  uint64            `json:"unanswered"`
	ParseErrors map[string]uint64 `json:"parse_errors"`
	Decode      map[string]uint64 `json:"decode_skipped"`
	Truncated   uint64            `json:"truncated_packets"`
	Gaps        uint64            `json:"gaps"`
	// Evicted counts flows by how they left the table: closed, idle,
	// evicted_full (the flow limit was hit), flushed (capture ended).
	Evicted map[string]uint64 `json:"flows_ended"`
	// BufferExceeded counts out-of-order segments not held because the
	// worker's reassembly budget was spent.
	BufferExceeded uint64     `json:"reassembly_budget_exceeded"`
	Shed           uint64     `json:"flows_shed"`
	LostBytes      uint64     `json:"lost_bytes"`
	TLSFlows       uint64     `json:"tls_flows"`
	H2C            uint64     `json:"h2c_connections"`
	Upgrades       uint64     `json:"upgrades"`
	DNS            uint64     `json:"dns_messages"`
	First          *time.Time `json:"first"`
	Last           *time.Time `json:"last"`
	Workers        int        `json:"workers"`
	// BodiesSampledOut counts bodies of local services the sensitive-data
	// scan skipped by sampling (data.response_sample_every).
	BodiesSampledOut int64 `json:"response_bodies_sampled_out"`
}

// summarize turns a run's counters into the summary section.
func summarize(s *engine.Summary) Summary {
	out := Summary{
		Packets:     s.Packets,
		Frames:      s.Frames,
		Flows:       s.Stats.Flows,
		Exchanges:   s.Stats.Exchanges,
		Unanswered:  s.Stats.Unanswered,
		ParseErrors: map[string]uint64{},
		Decode:      s.Decode,
		Truncated:   s.Truncated,
		Gaps:        s.Stats.Gaps,
		LostBytes:   s.Stats.LostBytes,
		TLSFlows:    s.Stats.TLSFlows,
		H2C:         s.Stats.H2C,
		Upgrades:    s.Stats.Upgrades,
		DNS:         s.Stats.DNSMessages,
		Workers:     s.WorkersRan,
		Evicted:     map[string]uint64{},

		BufferExceeded: s.Stats.BufferExceeded,
		Shed:           s.Stats.Shed,
	}
	for r, n := range s.Stats.Evicted {
		if n > 0 {
			out.Evicted[flow.Reason(r).String()] = n
		}
	}
	for k, v := range s.Stats.HTTPErrors {
		out.ParseErrors[k] = v
	}
	if s.Stats.Orphans > 0 {
		out.ParseErrors["response_without_request"] = s.Stats.Orphans
	}
	if s.Stats.DNSErrors > 0 {
		out.ParseErrors["dns_malformed"] = s.Stats.DNSErrors
	}
	if !s.First.IsZero() {
		f, l := s.First.UTC(), s.Last.UTC()
		out.First, out.Last = &f, &l
	}
	return out
}
