package fleet

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/apitap/apitap/pipeline/kafka"
	"github.com/apitap/apitap/pipeline/ocsf"
	"github.com/apitap/apitap/pipeline/ocsf/ocsftest"
	"github.com/apitap/apitap/pipeline/sink"
	"github.com/apitap/apitap/pipeline/spool"
	"github.com/apitap/apitap/sensor/finding"
)

// sensor is one node's real output path: Publisher, Queue, Kafka sink.
type sensor struct {
	q   *sink.Queue
	pub *sink.Publisher
}

func newSensor(t *testing.T, addr, node string) *sensor {
	t.Helper()
	s, err := kafka.New(context.Background(), kafka.Config{Brokers: []string{addr},
		Spool: spool.Config{Dir: t.TempDir()}})
	if err != nil {
		t.Fatal(err)
	}
	q := sink.NewQueue(s, sink.QueueConfig{Block: true, Linger: time.Millisecond})
	return &sensor{q: q, pub: sink.NewPublisher(q, ocsf.Identity{Hostname: node, Node: node})}
}

var t0 = time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)

func (s *sensor) endpoint(t *testing.T, svc, method, tmpl, status string, count int64, at int) {
	t.Helper()
	ep := &ocsf.Endpoint{Service: svc, Host: svc + ".local", Method: method, Template: tmpl,
		SpecStatus: status, Count: count, FirstSeen: t0,
		LastSeen: t0.Add(time.Duration(at) * time.Minute)}
	if err := s.pub.Endpoint(context.Background(), ep, false); err != nil {
		t.Fatal(err)
	}
}

func (s *sensor) close(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := s.q.Close(ctx); err != nil {
		t.Fatal(err)
	}
}

// fleetView is the latest fleet inventory row per key and the open fleet
// findings, read back with an independent client.
type fleetView struct {
	endpoints map[string]string // "svc METHOD tmpl" -> "status/count"
	vendors   map[string]string // hostname -> "declared=bool/count"
	open      map[string]int64  // open fleet finding title -> count
}

func readFleet(t *testing.T, addr string) fleetView {
	t.Helper()
	v := fleetView{endpoints: map[string]string{}, vendors: map[string]string{},
		open: map[string]int64{}}
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr),
		kgo.ConsumeTopics(DefaultFleetInventoryTopic, DefaultFleetFindingsTopic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	for ctx.Err() == nil {
		cl.PollFetches(ctx).EachRecord(func(r *kgo.Record) {
			if err := ocsftest.Validate(r.Value); err != nil {
				t.Errorf("fleet event fails schema: %v\n%s", err, r.Value)
			}
			var ev event
			json.Unmarshal(r.Value, &ev)
			u := ev.Unmapped.Apitap
			switch {
			case u.Kind == "endpoint":
				k := ev.API.Service.Name + " " + ev.HTTPRequest.Method + " " + u.Template
				v.endpoints[k] = fmt.Sprintf("%s/%d", u.SpecStatus, u.Count)
			case u.Kind == "vendor":
				v.vendors[ev.DstEndpoint.Hostname] = fmt.Sprintf("declared=%v/%d", u.Declared,
					u.Count)
			case ev.FindingInfo.UID != "":
				if ev.ActivityID == int(ocsf.ActivityClose) {
					delete(v.open, ev.FindingInfo.Title)
				} else {
					v.open[ev.FindingInfo.Title] = ev.Count
				}
			}
		})
	}
	return v
}

func (v fleetView) String() string {
	var lines []string
	for k, s := range v.endpoints {
		lines = append(lines, k+" = "+s)
	}
	for k, c := range v.open {
		lines = append(lines, fmt.Sprintf("open %q x%d", k, c))
	}
	sort.Strings(lines)
	return strings.Join(lines, "\n")
}

// waitFleet polls the fleet topics until check passes or time runs out.
func waitFleet(t *testing.T, addr string, check func(fleetView) string) fleetView {
	t.Helper()
	deadline := time.Now().Add(40 * time.Second)
	for {
		v := readFleet(t, addr)
		msg := check(v)
		if msg == "" {
			return v
		}
		if time.Now().After(deadline) {
			t.Fatalf("fleet view never converged: %s\nview:\n%s", msg, v)
		}
	}
}

func expect(want map[string]string, open map[string]int64) func(fleetView) string {
	return func(v fleetView) string {
		for k, w := range want {
			if got := v.endpoints[k]; got != w {
				return fmt.Sprintf("endpoint %s = %q; want %q", k, got, w)
			}
		}
		if len(v.endpoints) != len(want) {
			return fmt.Sprintf("%d fleet endpoints; want %d", len(v.endpoints), len(want))
		}
		for k, c := range open {
			if v.open[k] != c {
				return fmt.Sprintf("open finding %q count = %d; want %d", k, v.open[k], c)
			}
		}
		if len(v.open) != len(open) {
			return fmt.Sprintf("%d open fleet findings; want %d", len(v.open), len(open))
		}
		return ""
	}
}

func TestFleetMergeAcrossSensorsAndInstances(t *testing.T) {
	if testing.Short() {
		t.Skip("consumer-group rebalancing takes several seconds")
	}
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.Ports(0),
		kfake.SeedTopics(4, kafka.DefaultFindingsTopic, kafka.DefaultInventoryTopic,
			DefaultFleetFindingsTopic))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.CreateTopic(DefaultFleetInventoryTopic, 4,
		map[string]string{"cleanup.policy": "compact"}); err != nil {
		t.Fatal(err)
	}
	addr := c.ListenAddrs()[0]

	// Two aggregator instances in one group; count the batches each merges.
	var batches [3]atomic.Int64
	run := func(i int) (context.CancelFunc, chan error) {
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		log := slog.New(&countHandler{n: &batches[i]})
		go func() {
			done <- Run(ctx, Config{Kafka: kafka.Config{Brokers: []string{addr}},
				Identity:       ocsf.Identity{Hostname: fmt.Sprint("agg-", i)},
				SessionTimeout: 6 * time.Second, Logger: log})
		}()
		return cancel, done
	}
	stop1, done1 := run(0)
	stop2, done2 := run(1)
	defer func() { stop2(); <-done2 }()
	waitGroupMembers(t, addr, DefaultGroupID, 2)

	a, b, cc := newSensor(t, addr, "node-a"), newSensor(t, addr, "node-b"), newSensor(t, addr, "node-c")
	a.endpoint(t, "orders", "GET", "/orders/{id}", "documented", 10, 1)
	b.endpoint(t, "orders", "GET", "/orders/{id}", "shadow", 5, 1)
	cc.endpoint(t, "orders", "GET", "/orders/{id}", "shadow", 1, 1)
	a.endpoint(t, "orders", "POST", "/orders", "shadow", 2, 1)
	b.endpoint(t, "orders", "POST", "/orders", "shadow", 3, 1)
	cc.endpoint(t, "orders", "POST", "/orders", "shadow", 4, 1)
	a.endpoint(t, "billing", "GET", "/invoices", "zombie", 7, 1)
	b.endpoint(t, "billing", "GET", "/invoices", "shadow", 1, 1)
	cc.endpoint(t, "billing", "GET", "/debug", "shadow", 1, 1)
	ctx := context.Background()
	for i, s := range []*sensor{a, b} {
		f := &finding.Finding{Type: finding.CredentialInURL, Title: "Credential in URL",
			UID: finding.UID(finding.CredentialInURL, "orders", "token"), Count: int64(2 + i),
			Severity: finding.SevHigh, FirstSeen: t0, LastSeen: t0}
		if err := s.pub.Finding(ctx, f, false); err != nil {
			t.Fatal(err)
		}
		if err := s.pub.Vendor(ctx, &ocsf.Vendor{Hostname: "api.stripe.com", Vendor: "Stripe",
			Declared: i == 1, Count: 1}, false); err != nil {
			t.Fatal(err)
		}
	}

	shadowPost := "Shadow API POST /orders on orders"
	shadowDebug := "Shadow API GET /debug on billing"
	waitFleet(t, addr, expect(map[string]string{
		"orders GET /orders/{id}": "documented/16", // one node's spec documents it
		"orders POST /orders":     "shadow/9",      // no node documents it
		"billing GET /invoices":   "zombie/8",
		"billing GET /debug":      "shadow/1",
	}, map[string]int64{shadowPost: 9, shadowDebug: 1, "Credential in URL": 5}))
	waitFleet(t, addr, func(v fleetView) string {
		if got := v.vendors["api.stripe.com"]; got != "declared=true/2" {
			return fmt.Sprintf("vendor api.stripe.com = %q; want declared=true/2", got)
		}
		return ""
	})

	// One instance stops; the other takes its partitions and keeps the
	// merge right, including for endpoints the stopped one had merged.
	if batches[0].Load() == 0 || batches[1].Load() == 0 {
		t.Errorf("batches merged per instance = %d, %d; want both to share the work",
			batches[0].Load(), batches[1].Load())
	}
	stop1()
	if err := <-done1; err != nil {
		t.Fatalf("instance 1: %v", err)
	}
	cc.endpoint(t, "orders", "POST", "/orders", "documented", 5, 2)
	a.endpoint(t, "billing", "GET", "/debug", "shadow", 2, 2)
	b.endpoint(t, "billing", "GET", "/metrics", "shadow", 1, 2)
	a.endpoint(t, "orders", "GET", "/orders/{id}", "documented", 12, 2)
	if err := cc.pub.Vendor(ctx, &ocsf.Vendor{Hostname: "api.stripe.com", Vendor: "Stripe",
		Count: 4, LastSeen: t0.Add(time.Hour)}, false); err != nil {
		t.Fatal(err)
	}
	waitFleet(t, addr, expect(map[string]string{
		"orders GET /orders/{id}": "documented/18",
		"orders POST /orders":     "documented/10",
		"billing GET /invoices":   "zombie/8",
		"billing GET /debug":      "shadow/3",
		"billing GET /metrics":    "shadow/1",
	}, map[string]int64{shadowDebug: 3, "Shadow API GET /metrics on billing": 1,
		"Credential in URL": 5}))
	waitFleet(t, addr, func(v fleetView) string {
		if got := v.vendors["api.stripe.com"]; got != "declared=true/6" {
			return fmt.Sprintf("vendor api.stripe.com after takeover = %q; want declared=true/6",
				got)
		}
		return ""
	})

	// A fresh instance rebuilds the state from the fleet inventory topic;
	// once it is alone in the group it must merge on top of that state.
	stop3, done3 := run(2)
	waitGroupMembers(t, addr, DefaultGroupID, 2)
	stop2()
	if err := <-done2; err != nil {
		t.Fatalf("instance 2: %v", err)
	}
	done2 = make(chan error, 1)
	done2 <- nil
	defer func() { stop3(); <-done3 }()
	b.endpoint(t, "billing", "GET", "/debug", "shadow", 5, 3)
	waitFleet(t, addr, func(v fleetView) string {
		if got := v.endpoints["billing GET /debug"]; got != "shadow/8" {
			return fmt.Sprintf("after restart, billing GET /debug = %q; want shadow/8", got)
		}
		return ""
	})
	if batches[2].Load() == 0 {
		t.Errorf("the restarted instance merged nothing")
	}

	for _, s := range []*sensor{a, b, cc} {
		s.close(t)
	}
}

func TestMergeIsOrderIndependent(t *testing.T) {
	rows := []ocsf.NodeState{
		{Node: "a", SpecStatus: "shadow", Count: 1, LastSeen: 1},
		{Node: "a", SpecStatus: "documented", Count: 4, LastSeen: 3},
		{Node: "b", SpecStatus: "shadow", Count: 2, LastSeen: 2},
		{Node: "a", SpecStatus: "shadow", Count: 3, LastSeen: 2}, // older than the 2nd row
	}
	perms := [][]int{{0, 1, 2, 3}, {3, 2, 1, 0}, {1, 3, 0, 2}, {2, 0, 3, 1, 1, 3}}
	for _, p := range perms {
		t.Run(fmt.Sprint(p), func(t *testing.T) {
			var ep ocsf.Endpoint
			for _, i := range p {
				mergeNode(&ep, rows[i])
			}
			derive(&ep)
			if ep.SpecStatus != "documented" || ep.Count != 6 || len(ep.Nodes) != 2 {
				t.Errorf("merged = %s/%d over %d nodes; want documented/6 over 2",
					ep.SpecStatus, ep.Count, len(ep.Nodes))
			}
		})
	}
}

// countHandler counts the aggregator's per-batch debug lines.
type countHandler struct{ n *atomic.Int64 }

func (h *countHandler) Enabled(context.Context, slog.Level) bool { return true }
func (h *countHandler) Handle(_ context.Context, r slog.Record) error {
	if r.Message == "fleet batch" {
		h.n.Add(1)
	}
	return nil
}
func (h *countHandler) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h *countHandler) WithGroup(string) slog.Handler      { return h }

// waitGroupMembers waits until the consumer group is stable with n members,
// so both instances own partitions before the sensors produce.
func waitGroupMembers(t *testing.T, addr, group string, n int) {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		req := kmsg.NewPtrDescribeGroupsRequest()
		req.Groups = []string{group}
		resp, err := req.RequestWith(context.Background(), cl)
		if err == nil && len(resp.Groups) == 1 && resp.Groups[0].State == "Stable" &&
			len(resp.Groups[0].Members) == n {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("consumer group %s never became stable with %d members", group, n)
}
