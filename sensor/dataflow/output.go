package dataflow

import (
	"cmp"
	"maps"
	"slices"
	"time"

	"github.com/apitap/apitap/sensor/finding"
)

// Flow is one row of the data-flow map: a data class seen going to (request)
// or coming from (response) a destination at one position.
type Flow struct {
	Destination string    `json:"destination"`
	Vendor      string    `json:"vendor"`
	DataClass   string    `json:"data_class"`
	Position    string    `json:"position"`
	Direction   string    `json:"direction"`
	Count       int64     `json:"count"`
	Risk        float64   `json:"risk"` // the highest score seen
	Plaintext   bool      `json:"plaintext"`
	FirstSeen   time.Time `json:"first_seen"`
	LastSeen    time.Time `json:"last_seen"`
}

// Credential is one credential, known by its fingerprint only.
type Credential struct {
	Fingerprint string `json:"fingerprint"`
	Type        string `json:"type"`
	// Issuer is the JWT iss claim, or the vendor a key type belongs to,
	// or "" when unknown.
	Issuer       string   `json:"issuer"`
	Destinations []string `json:"destinations"`
	// Clients is how many distinct clients sent it.
	Clients   int       `json:"clients"`
	FirstSeen time.Time `json:"first_seen"`
	LastSeen  time.Time `json:"last_seen"`
}

// DataFlows returns a snapshot of the data-flow map, highest risk first. The
// caller owns the slice.
func (a *Analyzer) DataFlows() []Flow {
	out := make([]Flow, 0, len(a.flows))
	for k, f := range a.flows {
		out = append(out, Flow{
			Destination: k.dest, Vendor: f.vendor, DataClass: k.class,
			Position: k.pos.String(), Direction: k.dir.String(), Count: f.count,
			Risk: f.risk, Plaintext: f.plaintext, FirstSeen: f.first, LastSeen: f.last,
		})
	}
	slices.SortFunc(out, func(x, y Flow) int {
		return cmp.Or(cmp.Compare(y.Risk, x.Risk), cmp.Compare(x.Destination, y.Destination),
			cmp.Compare(x.DataClass, y.DataClass), cmp.Compare(x.Position, y.Position),
			cmp.Compare(x.Direction, y.Direction))
	})
	return out
}

// Credentials returns a snapshot of the credential table, oldest first. The
// caller owns the slice.
func (a *Analyzer) Credentials() []Credential {
	out := make([]Credential, 0, len(a.creds))
	for fp, c := range a.creds {
		out = append(out, Credential{
			Fingerprint: fp, Type: c.typ, Issuer: c.issuer,
			Destinations: slices.Clone(c.dests), Clients: len(c.clients) + c.overflow,
			FirstSeen: c.first, LastSeen: c.last,
		})
	}
	slices.SortFunc(out, func(x, y Credential) int {
		return cmp.Or(x.FirstSeen.Compare(y.FirstSeen), cmp.Compare(x.Fingerprint, y.Fingerprint))
	})
	return out
}

// Findings returns a snapshot of the findings, highest risk first. The
// findings are copies, but their Evidence maps are shared with the analyzer
// and must be treated as read-only.
func (a *Analyzer) Findings() []finding.Finding {
	out := make([]finding.Finding, 0, len(a.findings))
	for _, uid := range slices.Sorted(maps.Keys(a.findings)) {
		out = append(out, *a.findings[uid])
	}
	slices.SortStableFunc(out, func(x, y finding.Finding) int {
		return cmp.Or(cmp.Compare(y.Risk, x.Risk), cmp.Compare(x.Type, y.Type))
	})
	return out
}
