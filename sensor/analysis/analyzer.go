package analysis

import (
	"bufio"
	"io"
	"sort"
	"sync"

	"github.com/apitap/apitap/sensor/dataflow"
	"github.com/apitap/apitap/sensor/engine"
	"github.com/apitap/apitap/sensor/exchange"
	"github.com/apitap/apitap/sensor/finding"
	"github.com/apitap/apitap/sensor/inventory"
	"github.com/apitap/apitap/sensor/template"
	"github.com/apitap/apitap/sensor/vendor"
)

// Config wires the analyses. Nil fields switch the matching analysis off.
type Config struct {
	// Inventory builds the API inventory.
	Inventory *inventory.Inventory
	// Vendors builds the third-party map.
	Vendors *vendor.Analyzer
	// Data maps sensitive data and credentials to destinations. It asks
	// the vendor analysis where each exchange went, so the vendor
	// analysis sees each exchange first.
	Data *dataflow.Analyzer
	// Exchanges, when set, receives one JSON line per exchange.
	Exchanges io.Writer
}

// Analyzer is the engine's Emitter for a run: it feeds every analysis and
// keeps the optional exchange log. It is safe for concurrent use.
type Analyzer struct {
	mu  sync.Mutex
	cfg Config
	out *bufio.Writer
	tp  *template.Templater // types the logged paths, for Redact
	buf []byte
	err error
}

// New returns an Analyzer.
func New(cfg Config) *Analyzer {
	a := &Analyzer{cfg: cfg}
	if cfg.Exchanges != nil {
		a.out = bufio.NewWriterSize(cfg.Exchanges, 256<<10)
	}
	return a
}

// Exchange implements engine.Emitter.
func (a *Analyzer) Exchange(ex *exchange.Exchange) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.out != nil && a.err == nil {
		a.buf = a.record(ex)
		_, a.err = a.out.Write(a.buf)
	}
	if a.cfg.Inventory != nil {
		a.cfg.Inventory.Add(ex)
	}
	if a.cfg.Vendors != nil {
		a.cfg.Vendors.Exchange(ex)
	}
	if a.cfg.Data != nil {
		a.cfg.Data.Exchange(ex)
	}
}

// record is ex's line in the exchange log, with its path redacted
// (template.Redact): the log leaves the sensor like any report, and a path
// may carry a token or an email that no query value or header would.
func (a *Analyzer) record(ex *exchange.Exchange) []byte {
	if a.tp == nil {
		a.tp = template.NewTemplater()
	}
	if p := template.Redact(ex.Path, a.tp.Template(ex.Path, nil)); p != ex.Path {
		e := *ex // the record's fields only; the slices stay shared
		e.Path = p
		ex = &e
	}
	return append(ex.AppendJSON(a.buf[:0]), '\n')
}

// Flow implements engine.Emitter.
func (a *Analyzer) Flow(f *exchange.Flow) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.cfg.Vendors != nil {
		a.cfg.Vendors.Flow(f)
	}
}

// DNS implements engine.Emitter.
func (a *Analyzer) DNS(d *exchange.DNS) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.cfg.Vendors != nil {
		a.cfg.Vendors.DNS(d)
	}
}

var _ engine.Emitter = (*Analyzer)(nil)

// Report is what `apitap read` prints: the output contract of
// `--format json`. Sections are only ever added, never renamed.
type Report struct {
	Summary      Summary               `json:"summary"`
	Endpoints    []inventory.Endpoint  `json:"endpoints"`
	ThirdParties []vendor.ThirdParty   `json:"third_parties"`
	DataFlows    []dataflow.Flow       `json:"data_flows"`
	Credentials  []dataflow.Credential `json:"credentials"`
	Findings     []finding.Finding     `json:"findings"`
}

// Finish flushes the exchange log and builds the report.
func (a *Analyzer) Finish(sum *engine.Summary) (*Report, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.out != nil && a.err == nil {
		a.err = a.out.Flush()
	}
	r := &Report{Summary: summarize(sum), Endpoints: []inventory.Endpoint{},
		ThirdParties: []vendor.ThirdParty{}, Findings: []finding.Finding{},
		DataFlows: []dataflow.Flow{}, Credentials: []dataflow.Credential{}}
	if inv := a.cfg.Inventory; inv != nil {
		r.Endpoints = append(r.Endpoints, inv.Endpoints()...)
		r.Findings = append(r.Findings, inv.Findings()...)
	}
	if v := a.cfg.Vendors; v != nil {
		r.ThirdParties = append(r.ThirdParties, v.ThirdParties()...)
		r.Findings = append(r.Findings, v.Findings()...)
	}
	if d := a.cfg.Data; d != nil {
		r.DataFlows = append(r.DataFlows, d.DataFlows()...)
		r.Credentials = append(r.Credentials, d.Credentials()...)
		r.Findings = append(r.Findings, d.Findings()...)
		r.Summary.BodiesSampledOut = d.Stats().SampledOut
	}
	sortFindings(r.Findings)
	return r, a.err
}

// sortFindings orders findings most severe first, then by risk, type and
// destination, so reports read top-down and compare between runs.
func sortFindings(fs []finding.Finding) {
	sort.SliceStable(fs, func(i, j int) bool {
		a, b := &fs[i], &fs[j]
		if a.Severity != b.Severity {
			return a.Severity > b.Severity
		}
		if a.Risk != b.Risk {
			return a.Risk > b.Risk
		}
		if a.Type != b.Type {
			return a.Type < b.Type
		}
		return a.Destination < b.Destination
	})
}
