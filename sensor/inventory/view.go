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
