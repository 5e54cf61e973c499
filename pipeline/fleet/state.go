package fleet

import (
	"context"
	"encoding/json"
	"slices"
	"sync"
	"time"

	kafkago "github.com/segmentio/kafka-go"

	"github.com/apitap/apitap/pipeline/ocsf"
)

// state is the merged fleet view. It is written by the consumer-group loop
// and by the goroutines following the fleet inventory topic.
type state struct {
	mu        sync.Mutex
	endpoints map[string]*ocsf.Endpoint
	vendors   map[string]*vendorState
	shadow    map[string]bool // endpoint id -> a fleet shadow finding is open
	findings  map[string]*findingState
}

type vendorState struct {
	ocsf.Vendor // Nodes holds per-node "declared"/"undeclared" and count
}

// mergeVendorNode folds one node's view of a vendor in and recomputes the
// fleet totals: declared if any node declares it.
func mergeVendorNode(v *vendorState, n ocsf.NodeState) {
	ep := ocsf.Endpoint{Nodes: v.Nodes}
	mergeNode(&ep, n)
	v.Nodes = ep.Nodes
	v.Count, v.Declared = 0, false
	var last int64
	for _, n := range v.Nodes {
		v.Count += n.Count
		v.Declared = v.Declared || n.SpecStatus == "declared"
		last = max(last, n.LastSeen)
	}
	if last > 0 {
		v.LastSeen = time.UnixMilli(last)
	}
}

type findingState struct {
	nodes       map[string]int64 // node -> latest cumulative count
	first, last int64            // ms
	sev         int
}

func newState() *state {
	return &state{endpoints: make(map[string]*ocsf.Endpoint), vendors: make(map[string]*vendorState),
		shadow: make(map[string]bool), findings: make(map[string]*findingState)}
}

func (s *state) endpoint(id string) *ocsf.Endpoint {
	ep := s.endpoints[id]
	if ep == nil {
		ep = &ocsf.Endpoint{ID: id}
		s.endpoints[id] = ep
	}
	return ep
}

func (s *state) vendor(id string) *vendorState {
	v := s.vendors[id]
	if v == nil {
		v = &vendorState{Vendor: ocsf.Vendor{ID: id}}
		s.vendors[id] = v
	}
	return v
}

// mergeNode folds one node's state in: the newer of the two (by last seen,
// then count) wins, so merging is order-independent and idempotent.
func mergeNode(ep *ocsf.Endpoint, n ocsf.NodeState) {
	for i := range ep.Nodes {
		o := &ep.Nodes[i]
		if o.Node != n.Node {
			continue
		}
		if n.LastSeen > o.LastSeen || n.LastSeen == o.LastSeen && n.Count >= o.Count {
			*o = n
		}
		return
	}
	ep.Nodes = append(ep.Nodes, n)
	slices.SortFunc(ep.Nodes, func(a, b ocsf.NodeState) int {
		if a.Node < b.Node {
			return -1
		}
		if a.Node > b.Node {
			return 1
		}
		return 0
	})
}

func removeNode(ep *ocsf.Endpoint, node string) {
	ep.Nodes = slices.DeleteFunc(ep.Nodes, func(n ocsf.NodeState) bool { return n.Node == node })
}

// rank orders spec statuses: documented beats zombie beats shadow.
func rank(s string) int {
	switch s {
	case "documented":
		return 3
	case "zombie":
		return 2
	case "shadow":
		return 1
	}
	return 0
}

// derive recomputes the fleet row from its nodes.
func derive(ep *ocsf.Endpoint) {
	ep.Count, ep.Errors, ep.SpecStatus = 0, 0, ""
	var last int64
	for _, n := range ep.Nodes {
		ep.Count += n.Count
		ep.Errors += n.Errors
		last = max(last, n.LastSeen)
		if rank(n.SpecStatus) > rank(ep.SpecStatus) {
			ep.SpecStatus = n.SpecStatus
		}
	}
	if last > 0 {
		ep.LastSeen = time.UnixMilli(last)
	}
}

func nodeNames(ep *ocsf.Endpoint) []string {
	out := make([]string, len(ep.Nodes))
	for i, n := range ep.Nodes {
		out[i] = n.Node
	}
	return out
}

// event is the part of an OCSF event the aggregator reads.
type event struct {
	ClassUID   int   `json:"class_uid"`
	ActivityID int   `json:"activity_id"`
	SeverityID int   `json:"severity_id"`
	Count      int64 `json:"count"`
	RiskScore  int   `json:"risk_score"`
	StartTime  int64 `json:"start_time"`
	EndTime    int64 `json:"end_time"`
	Device     struct {
		Name string `json:"name"`
	} `json:"device"`
	API struct {
		Service struct {
			Name string `json:"name"`
		} `json:"service"`
	} `json:"api"`
	DstEndpoint struct {
		Hostname string `json:"hostname"`
	} `json:"dst_endpoint"`
	HTTPRequest struct {
		Method string `json:"http_method"`
	} `json:"http_request"`
	Unmapped struct {
		Apitap struct {
			Kind       string           `json:"kind"`
			ID         string           `json:"id"`
			SpecStatus string           `json:"spec_status"`
			Template   string           `json:"template"`
			Count      int64            `json:"count"`
			Errors     int64            `json:"errors"`
			Vendor     string           `json:"vendor"`
			Category   string           `json:"category"`
			Tier       string           `json:"tier"`
			Declared   bool             `json:"declared"`
			Nodes      []ocsf.NodeState `json:"nodes"`
		} `json:"apitap"`
	} `json:"unmapped"`
	FindingInfo struct {
		UID       string   `json:"uid"`
		Title     string   `json:"title"`
		Types     []string `json:"types"`
		FirstSeen int64    `json:"first_seen_time"`
		LastSeen  int64    `json:"last_seen_time"`
	} `json:"finding_info"`
	Evidences []struct {
		Data map[string]any `json:"data"`
		Src  struct {
			Name string `json:"name"`
		} `json:"src_endpoint"`
		Dst struct {
			Hostname string `json:"hostname"`
		} `json:"dst_endpoint"`
	} `json:"evidences"`
}

// applyFleetRow folds a record of the fleet inventory topic into the state.
func (s *state) applyFleetRow(b []byte) {
	var ev event
	if json.Unmarshal(b, &ev) != nil || ev.ClassUID != ocsf.ClassAPIActivity {
		return
	}
	u := &ev.Unmapped.Apitap
	s.mu.Lock()
	defer s.mu.Unlock()
	switch u.Kind {
	case "endpoint":
		ep := s.endpoint(u.ID)
		if ep.Service == "" {
			ep.Service, ep.Host = ev.API.Service.Name, ev.DstEndpoint.Hostname
			ep.Method, ep.Template = ev.HTTPRequest.Method, u.Template
		}
		if t := time.UnixMilli(ev.StartTime); ev.StartTime > 0 &&
			(ep.FirstSeen.IsZero() || t.Before(ep.FirstSeen)) {
			ep.FirstSeen = t
		}
		for _, n := range u.Nodes {
			mergeNode(ep, n)
		}
		derive(ep)
		s.shadow[ep.ID] = ep.SpecStatus == "shadow" && ev.ActivityID != 4
	case "vendor":
		v := s.vendor(u.ID)
		v.Hostname, v.Vendor.Vendor, v.Category, v.Tier = ev.DstEndpoint.Hostname, u.Vendor,
			u.Category, u.Tier
		for _, n := range u.Nodes {
			mergeVendorNode(v, n)
		}
	}
}

// follow reads every partition of the fleet inventory topic from the start
// and keeps applying it until ctx is done. caughtUp is closed once each
// partition has been read up to the end offset it had when follow began.
func (a *aggregator) follow(ctx context.Context, caughtUp chan<- struct{}) {
	topic := a.cfg.fleetInventory()
	broker := a.cfg.Kafka.Brokers[0]
	var parts []kafkago.Partition
	var err error
	for ctx.Err() == nil {
		var conn *kafkago.Conn
		if conn, err = a.dialer.DialContext(ctx, "tcp", broker); err == nil {
			parts, err = conn.ReadPartitions(topic)
			conn.Close()
			if err == nil {
				break
			}
		}
		a.log.Warn("fleet state topic unavailable, retrying", "topic", topic, "error", err)
		select {
		case <-ctx.Done():
		case <-time.After(time.Second):
		}
	}
	var wg, ready sync.WaitGroup
	for _, p := range parts {
		end := int64(0)
		if conn, err := a.dialer.DialLeader(ctx, "tcp", broker, topic, p.ID); err == nil {
			end, _ = conn.ReadLastOffset()
			conn.Close()
		}
		ready.Add(1)
		wg.Add(1)
		go func(part int, end int64) {
			defer wg.Done()
			done := false
			signal := func() {
				if !done {
					done = true
					ready.Done()
				}
			}
			defer signal()
			if end == 0 {
				signal()
			}
			r := kafkago.NewReader(kafkago.ReaderConfig{Brokers: a.cfg.Kafka.Brokers, Topic: topic,
				Partition: part, Dialer: a.dialer, MaxWait: 200 * time.Millisecond,
				StartOffset: kafkago.FirstOffset})
			defer r.Close()
			for {
				m, err := r.ReadMessage(ctx)
				if err != nil {
					return
				}
				a.st.applyFleetRow(m.Value)
				if m.Offset >= end-1 {
					signal()
				}
			}
		}(p.ID, end)
	}
	ready.Wait()
	close(caughtUp)
	wg.Wait()
}
