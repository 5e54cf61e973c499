package inventory

import (
	"fmt"
	"maps"
	"sort"
	"strconv"

	"github.com/apitap/apitap/sensor/finding"
)

// status decides an endpoint's spec status; see the package doc.
func (inv *Inventory) status(svc *service, ep *endpoint) string {
	switch {
	case ep.deprecHdr || (ep.op != nil && ep.op.Deprecated):
		return StatusZombie
	case svc.doc == nil:
		return StatusUnspecified
	case ep.op != nil:
		return StatusDocumented
	case ep.nonClient || ep.Requests >= inv.cfg.shadowMinRequests():
		return StatusShadow
	}
	return StatusUnconfirmed
}

// snapshot returns the exported view of ep; it shares nothing with ep.
func (inv *Inventory) snapshot(svc *service, ep *endpoint) Endpoint {
	e := ep.Endpoint
	e.SpecStatus = inv.status(svc, ep)
	e.Params = copyMap(ep.Params)
	e.Statuses = make(map[string]int64, ep.statuses.len())
	ep.statuses.each(func(code int, n int64) { e.Statuses[statusText(code)] = n })
	e.Clients = ep.clients.len()
	e.ContentTypes = ContentTypes{Request: nonNil(ep.ContentTypes.Request),
		Response: nonNil(ep.ContentTypes.Response)}
	e.QueryParams = nonNil(ep.QueryParams)
	e.Auth = nonNil(ep.Auth)
	e.RequestFields = copyMap(ep.RequestFields)
	e.ResponseFields = copyMap(ep.ResponseFields)
	e.Drift = make([]string, 0, len(ep.drift))
	for d := range ep.drift {
		e.Drift = append(e.Drift, d)
	}
	sort.Strings(e.Drift)
	return e
}

// copyMap returns a copy of m, never nil: an empty map marshals as {}.
// pendingEvent is a queued Event whose snapshot keeps its maps as flat
// lists until Events builds them. Many events are never read (a run that
// only prints the final report drops them), and a map per field set per
// event made every change cost several allocations. The lists of an
// endpoint's path parameters and body fields change rarely, so pending
// events share them until they change; they are never modified.
type pendingEvent struct {
	ev        Event // Endpoint without its maps
	params    []kv
	statuses  []statusN
	reqFields []kv
	rspFields []kv
}

type kv struct{ k, v string }

type statusN struct {
	code int
	n    int64
}

// snapLists are an endpoint's parameters and body fields as flat lists,
// for pendingEvent; samples say which body samples they reflect, since the
// field maps only change when a body is sampled or samples are absorbed.
type snapLists struct {
	params               []kv
	reqFields, rspFields []kv
	reqSamples           int
	rspSamples           int
}

// pending makes the queued form of e with a snapshot of ep: the same
// values snapshot gives, with the maps still flat.
func (inv *Inventory) pending(e Event, svc *service, ep *endpoint) pendingEvent {
	e.Endpoint = ep.Endpoint
	en := &e.Endpoint
	en.SpecStatus = inv.status(svc, ep)
	en.Clients = ep.clients.len()
	en.Params, en.Statuses, en.RequestFields, en.ResponseFields = nil, nil, nil, nil

	// The string lists share one allocation; each keeps its own capacity,
	// so that appending to one never writes into the next.
	ct := &ep.ContentTypes
	buf := make([]string, 0, len(ct.Request)+len(ct.Response)+len(ep.QueryParams)+
		len(ep.Auth)+len(ep.drift))
	next := func(list []string) []string {
		start := len(buf)
		buf = append(buf, list...)
		return buf[start:len(buf):len(buf)]
	}
	en.ContentTypes = ContentTypes{Request: next(ct.Request), Response: next(ct.Response)}
	en.QueryParams = next(ep.QueryParams)
	en.Auth = next(ep.Auth)
	start := len(buf)
	for d := range ep.drift {
		buf = append(buf, d)
	}
	en.Drift = buf[start:len(buf):len(buf)]
	sort.Strings(en.Drift)

	p := pendingEvent{ev: e}
	ep.statuses.each(func(code int, n int64) { p.statuses = append(p.statuses, statusN{code, n}) })
	sl := &ep.snap
	if sl.params == nil {
		sl.params = flatten(ep.Params)
	}
	if sl.reqFields == nil || sl.reqSamples != ep.reqSamples {
		sl.reqFields, sl.reqSamples = flatten(ep.RequestFields), ep.reqSamples
	}
	if sl.rspFields == nil || sl.rspSamples != ep.rspSamples {
		sl.rspFields, sl.rspSamples = flatten(ep.ResponseFields), ep.rspSamples
	}
	p.params, p.reqFields, p.rspFields = sl.params, sl.reqFields, sl.rspFields
	return p
}

// flatten lists m; never nil, so that a cached empty list reads as cached.
func flatten(m map[string]string) []kv {
	out := make([]kv, 0, len(m))
	for k, v := range m {
		out = append(out, kv{k, v})
	}
	return out
}

// event builds the Event: the maps from the lists.
func (p *pendingEvent) event() Event {
	e := p.ev
	e.Endpoint.Params = unflatten(p.params)
	e.Endpoint.Statuses = make(map[string]int64, len(p.statuses))
	for _, s := range p.statuses {
		e.Endpoint.Statuses[statusText(s.code)] = s.n
	}
	e.Endpoint.RequestFields = unflatten(p.reqFields)
	e.Endpoint.ResponseFields = unflatten(p.rspFields)
	return e
}

func unflatten(l []kv) map[string]string {
	m := make(map[string]string, len(l))
	for _, e := range l {
		m[e.k] = e.v
	}
	return m
}

func copyMap(m map[string]string) map[string]string {
	if len(m) == 0 {
		return map[string]string{}
	}
	// maps.Clone copies the table as a whole, faster than inserting
	// each entry again.
	return maps.Clone(m)
}

// statusTexts are the decimal forms of the status codes 0 and 100-599,
// so that snapshots, taken for every event, do not format them anew.
var statusTexts = func() (t [600]string) {
	t[0] = "0"
	for c := 100; c < len(t); c++ {
		t[c] = strconv.Itoa(c)
	}
	return t
}()

func statusText(code int) string {
	if code >= 0 && code < len(statusTexts) && statusTexts[code] != "" {
		return statusTexts[code]
	}
	return strconv.Itoa(code)
}

func nonNil(s []string) []string {
	return append(make([]string, 0, len(s)), s...)
}

// Endpoints returns every endpoint, orphans included, ordered by service,
// host, template and method. The caller owns the result.
func (inv *Inventory) Endpoints() []Endpoint {
	var out []Endpoint
	for _, svc := range inv.services {
		seen := map[epKey]bool{}
		for k, ep := range svc.endpoints {
			out = append(out, inv.snapshot(svc, ep))
			if ep.op != nil {
				seen[k] = true
			}
		}
		for _, op := range svc.doc.Operations() {
			k := epKey{op.Method, op.Template}
			if seen[k] {
				continue
			}
			params := map[string]string{}
			for n, t := range op.PathParams {
				params[n] = t
			}
			out = append(out, Endpoint{
				ID:      endpointID(svc.name, svc.key.host, op.Method, op.Template),
				Service: svc.name, Host: svc.key.host, Method: op.Method,
				Template: op.Template, Params: params, SpecStatus: StatusOrphan,
				Statuses: map[string]int64{}, QueryParams: []string{}, Auth: []string{},
				ContentTypes:  ContentTypes{Request: []string{}, Response: []string{}},
				RequestFields: map[string]string{}, ResponseFields: map[string]string{},
				Drift: []string{},
			})
		}
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := &out[i], &out[j]
		if a.Service != b.Service {
			return a.Service < b.Service
		}
		if a.Host != b.Host {
			return a.Host < b.Host
		}
		if a.Template != b.Template {
			return a.Template < b.Template
		}
		return a.Method < b.Method
	})
	return out
}

// Findings returns one shadow_api finding per shadow endpoint and one
// zombie_api finding per zombie endpoint, ordered like Endpoints.
func (inv *Inventory) Findings() []finding.Finding {
	var out []finding.Finding
	for _, e := range inv.Endpoints() {
		var typ, title string
		sev := finding.SevMedium
		switch e.SpecStatus {
		case StatusShadow:
			typ = finding.ShadowAPI
			title = fmt.Sprintf("Undocumented API endpoint %s %s on %s", e.Method, e.Template, e.Host)
		case StatusZombie:
			typ = finding.ZombieAPI
			title = fmt.Sprintf("Deprecated API endpoint %s %s on %s is still called",
				e.Method, e.Template, e.Host)
		default:
			continue
		}
		risk := 0.5
		if len(e.Auth) == 1 && e.Auth[0] == "none" {
			// Unauthenticated and unmanaged is the worse case.
			risk, sev = 0.7, finding.SevHigh
		}
		out = append(out, finding.Finding{
			Type:        typ,
			UID:         finding.UID(typ, e.Service, e.Method, e.Template),
			Title:       title,
			Severity:    sev,
			Risk:        risk,
			Destination: e.Service,
			Evidence: map[string]any{
				"endpoint_id": e.ID, "host": e.Host, "method": e.Method,
				"template": e.Template, "path": e.Path, "statuses": e.Statuses,
				"auth": e.Auth, "clients": e.Clients, "direction": e.Direction,
			},
			FirstSeen: e.FirstSeen,
			LastSeen:  e.LastSeen,
			Count:     e.Requests,
		})
	}
	return out
}
