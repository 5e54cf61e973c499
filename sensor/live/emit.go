package live

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"github.com/apitap/apitap/pipeline/ocsf"
	"github.com/apitap/apitap/pipeline/sink"
	"github.com/apitap/apitap/sensor/analysis"
	"github.com/apitap/apitap/sensor/inventory"
	"github.com/apitap/apitap/sensor/metrics"
)

// emitted remembers, per kind, the ids already shipped and the count they
// were shipped with. It is what makes the lifecycle survive a restart:
// an id in here is never sent as Create again.
type emitted struct {
	Findings  map[string]int64 `json:"findings"`
	Endpoints map[string]int64 `json:"endpoints"`
	Vendors   map[string]int64 `json:"vendors"`
}

func newEmitted() *emitted {
	return &emitted{Findings: map[string]int64{}, Endpoints: map[string]int64{},
		Vendors: map[string]int64{}}
}

// loadEmitted reads the emitted ids saved in dir; a missing file is an
// empty set.
func loadEmitted(dir string) (*emitted, error) {
	e := newEmitted()
	data, err := os.ReadFile(filepath.Join(dir, EmittedFile))
	if errors.Is(err, fs.ErrNotExist) {
		return e, nil
	}
	if err != nil {
		return nil, fmt.Errorf("live: load emitted ids: %w", err)
	}
	if err := json.Unmarshal(data, e); err != nil {
		return nil, fmt.Errorf("live: load emitted ids %s: %w", filepath.Join(dir, EmittedFile), err)
	}
	for _, m := range []*map[string]int64{&e.Findings, &e.Endpoints, &e.Vendors} {
		if *m == nil {
			*m = map[string]int64{}
		}
	}
	return e, nil
}

// save writes the set atomically: temp file, fsync, rename.
func (e *emitted) save(dir string) error {
	data, err := json.Marshal(e)
	if err != nil {
		return fmt.Errorf("live: save emitted ids: %w", err)
	}
	return writeAtomic(filepath.Join(dir, EmittedFile), data)
}

func writeAtomic(path string, data []byte) error {
	f, err := os.CreateTemp(filepath.Dir(path), filepath.Base(path)+".tmp*")
	if err != nil {
		return fmt.Errorf("live: save %s: %w", path, err)
	}
	_, werr := f.Write(data)
	if werr == nil {
		werr = f.Sync()
	}
	if cerr := f.Close(); werr == nil {
		werr = cerr
	}
	if werr == nil {
		werr = os.Rename(f.Name(), path)
	}
	if werr != nil {
		os.Remove(f.Name())
		return fmt.Errorf("live: save %s: %w", path, werr)
	}
	return nil
}

// emitter ships what changed between two reports. Its methods are called
// from one goroutine at a time (the runtime's loop, then its shutdown).
type emitter struct {
	q    *sink.Queue
	enc  *ocsf.Encoder
	seen *emitted
	m    *metrics.Metrics
	log  *slog.Logger
	now  func() time.Time

	mu sync.Mutex // guards seen against the state saver
}

// emitStats counts one emission.
type emitStats struct {
	created, updated, deleted, unchanged, refused, dropped int
}

// emit ships every finding, endpoint and vendor of rep that is new or whose
// count changed since it was last shipped, and a Delete for endpoints
// shipped before that the inventory no longer holds (merged into another).
// An event the queue does not take is not marked as shipped, so the next
// emission tries again.
func (e *emitter) emit(ctx context.Context, rep *analysis.Report) emitStats {
	e.mu.Lock()
	defer e.mu.Unlock()
	var st emitStats
	now := e.now()
	send := func(seen map[string]int64, id string, count int64, class int,
		enc func([]byte, ocsf.Activity) ([]byte, error)) bool {
		prev, ok := seen[id]
		if ok && prev == count {
			st.unchanged++
			return false
		}
		act := ocsf.ActivityCreate
		if ok {
			act = ocsf.ActivityUpdate
		}
		buf, err := enc(sink.GetBuf(), act)
		if err != nil {
			sink.PutBuf(buf)
			st.refused++
			return false
		}
		if err := e.q.Send(ctx, sink.Event{Class: class, Key: []byte(id), Value: buf}); err != nil {
			st.dropped++
			return false
		}
		seen[id] = count
		if ok {
			st.updated++
		} else {
			st.created++
		}
		return true
	}

	for i := range rep.Findings {
		f := &rep.Findings[i]
		if send(e.seen.Findings, f.UID, f.Count, ocsf.ClassOf(f.Type),
			func(b []byte, act ocsf.Activity) ([]byte, error) {
				return e.enc.AppendFinding(b, f, act, now)
			}) {
			e.m.Findings.WithLabelValues(f.Type).Inc()
		}
	}

	live := make(map[string]bool, len(rep.Endpoints))
	for i := range rep.Endpoints {
		ep := endpointRow(&rep.Endpoints[i])
		live[ep.ID] = true
		send(e.seen.Endpoints, ep.ID, ep.Count, ocsf.ClassAPIActivity,
			func(b []byte, act ocsf.Activity) ([]byte, error) {
				return e.enc.AppendEndpoint(b, ep, act, now)
			})
	}
	for id := range e.seen.Endpoints {
		if live[id] {
			continue
		}
		ep := &ocsf.Endpoint{ID: id}
		buf, err := e.enc.AppendEndpoint(sink.GetBuf(), ep, ocsf.ActivityClose, now)
		if err != nil {
			sink.PutBuf(buf)
			st.refused++
			continue
		}
		if e.q.Send(ctx, sink.Event{Class: ocsf.ClassAPIActivity, Key: []byte(id), Value: buf}) != nil {
			st.dropped++
			continue
		}
		delete(e.seen.Endpoints, id)
		st.deleted++
	}

	for i := range rep.ThirdParties {
		tp := &rep.ThirdParties[i]
		v := &ocsf.Vendor{Hostname: tp.Hostname, Category: tp.Category, Tier: tp.Tier,
			Declared: tp.Declared, Count: tp.Flows, FirstSeen: tp.FirstSeen, LastSeen: tp.LastSeen}
		if tp.Vendor != nil {
			v.Vendor = *tp.Vendor
		}
		v.ID = ocsf.VendorID(v.Hostname)
		send(e.seen.Vendors, v.ID, v.Count, ocsf.ClassAPIActivity,
			func(b []byte, act ocsf.Activity) ([]byte, error) {
				return e.enc.AppendVendor(b, v, act, now)
			})
	}
	return st
}

// endpointRow maps an inventory endpoint to its OCSF inventory row.
func endpointRow(e *inventory.Endpoint) *ocsf.Endpoint {
	row := &ocsf.Endpoint{ID: e.ID, Service: e.Service, Host: e.Host, Method: e.Method,
		Template: e.Template, Count: e.Requests, FirstSeen: e.FirstSeen, LastSeen: e.LastSeen}
	switch e.SpecStatus {
	case inventory.StatusDocumented, inventory.StatusShadow, inventory.StatusZombie:
		row.SpecStatus = e.SpecStatus
	}
	for code, n := range e.Statuses {
		if c, err := strconv.Atoi(code); err == nil && c >= 500 {
			row.Errors += n
		}
	}
	if row.ID == "" {
		row.ID = ocsf.EndpointID(e.Service, e.Method, e.Template)
	}
	return row
}

// saveSeen writes the emitted ids to dir.
func (e *emitter) saveSeen(dir string) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.seen.save(dir)
}
