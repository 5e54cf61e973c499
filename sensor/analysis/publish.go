package analysis

import (
	"context"
	"errors"
	"strconv"

	"github.com/apitap/apitap/pipeline/ocsf"
	"github.com/apitap/apitap/pipeline/sink"
	"github.com/apitap/apitap/sensor/inventory"
	"github.com/apitap/apitap/sensor/vendor"
)

// Publish sends a report's findings and inventory (endpoints and third
// parties) to p as OCSF events. An event the secret guard refuses is
// counted by p and skipped; any other error stops the publishing.
func (r *Report) Publish(ctx context.Context, p *sink.Publisher) error {
	for i := range r.Findings {
		if err := p.Finding(ctx, &r.Findings[i], false); err != nil && !errors.Is(err, ocsf.ErrRawSecret) {
			return err
		}
	}
	for i := range r.Endpoints {
		ep := EndpointEvent(&r.Endpoints[i])
		if err := p.Endpoint(ctx, &ep, false); err != nil && !errors.Is(err, ocsf.ErrRawSecret) {
			return err
		}
	}
	for i := range r.ThirdParties {
		v := VendorEvent(&r.ThirdParties[i])
		if err := p.Vendor(ctx, &v, false); err != nil && !errors.Is(err, ocsf.ErrRawSecret) {
			return err
		}
	}
	return nil
}

// EndpointEvent turns an inventory row into the pipeline's endpoint event.
func EndpointEvent(e *inventory.Endpoint) ocsf.Endpoint {
	ev := ocsf.Endpoint{
		Service:    e.Service,
		Host:       e.Host,
		Method:     e.Method,
		Template:   e.Template,
		SpecStatus: e.SpecStatus,
		Count:      e.Requests,
		FirstSeen:  e.FirstSeen,
		LastSeen:   e.LastSeen,
	}
	if ev.SpecStatus == inventory.StatusUnspecified {
		ev.SpecStatus = ""
	}
	for code, n := range e.Statuses {
		if c, err := strconv.Atoi(code); err == nil && c >= 500 {
			ev.Errors += n
		}
	}
	ev.ID = ocsf.EndpointID(ev.Service, ev.Method, ev.Template)
	return ev
}

// VendorEvent turns a third party into the pipeline's vendor event.
func VendorEvent(t *vendor.ThirdParty) ocsf.Vendor {
	v := ocsf.Vendor{
		ID:        ocsf.VendorID(t.Hostname),
		Hostname:  t.Hostname,
		Category:  t.Category,
		Tier:      t.Tier,
		Declared:  t.Declared,
		Count:     t.Flows,
		FirstSeen: t.FirstSeen,
		LastSeen:  t.LastSeen,
	}
	if t.Vendor != nil {
		v.Vendor = *t.Vendor
	}
	return v
}
