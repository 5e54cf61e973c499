package sink

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/apitap/apitap/pipeline/ocsf"
	"github.com/apitap/apitap/sensor/finding"
)

// Publisher encodes findings and inventory rows as OCSF and queues them. It
// is safe for concurrent use; encoding is serialised by a mutex (about a
// microsecond per event).
type Publisher struct {
	q   *Queue
	now func() time.Time

	mu   sync.Mutex
	enc  *ocsf.Encoder
	life *ocsf.Lifecycle

	refused atomic.Uint64
}

// NewPublisher returns a publisher for one sensor identity feeding q.
func NewPublisher(q *Queue, id ocsf.Identity) *Publisher {
	return &Publisher{q: q, now: time.Now, enc: ocsf.NewEncoder(id), life: ocsf.NewLifecycle(0)}
}

// Refused counts events the secret guard refused (never shipped).
func (p *Publisher) Refused() uint64 { return p.refused.Load() }

// Finding queues f as Create the first time its uid is seen, Update after.
// resolved sends it as Close instead.
func (p *Publisher) Finding(ctx context.Context, f *finding.Finding, resolved bool) error {
	buf := GetBuf()
	p.mu.Lock()
	act := ocsf.ActivityUpdate
	if resolved {
		act = p.life.Close(f.UID)
	} else {
		act = p.life.Next(f.UID)
	}
	buf, err := p.enc.AppendFinding(buf, f, act, p.now())
	p.mu.Unlock()
	if err != nil {
		PutBuf(buf)
		p.refused.Add(1)
		return err
	}
	return p.q.Send(ctx, Event{Class: ocsf.ClassOf(f.Type), Key: []byte(f.UID), Value: buf})
}

// Endpoint queues an inventory row for ep (removed: the endpoint is gone).
func (p *Publisher) Endpoint(ctx context.Context, ep *ocsf.Endpoint, removed bool) error {
	if ep.ID == "" {
		ep.ID = ocsf.EndpointID(ep.Service, ep.Method, ep.Template)
	}
	buf := GetBuf()
	p.mu.Lock()
	act := p.activity(ep.ID, removed)
	buf, err := p.enc.AppendEndpoint(buf, ep, act, p.now())
	p.mu.Unlock()
	if err != nil {
		PutBuf(buf)
		return err
	}
	return p.q.Send(ctx, Event{Class: ocsf.ClassAPIActivity, Key: []byte(ep.ID), Value: buf})
}

// Vendor queues an inventory row for v (removed: no longer seen).
func (p *Publisher) Vendor(ctx context.Context, v *ocsf.Vendor, removed bool) error {
	if v.ID == "" {
		v.ID = ocsf.VendorID(v.Hostname)
	}
	buf := GetBuf()
	p.mu.Lock()
	act := p.activity(v.ID, removed)
	buf, err := p.enc.AppendVendor(buf, v, act, p.now())
	p.mu.Unlock()
	if err != nil {
		PutBuf(buf)
		return err
	}
	return p.q.Send(ctx, Event{Class: ocsf.ClassAPIActivity, Key: []byte(v.ID), Value: buf})
}

func (p *Publisher) activity(id string, removed bool) ocsf.Activity {
	if removed {
		return p.life.Close(id)
	}
	return p.life.Next(id)
}
