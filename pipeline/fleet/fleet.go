package fleet

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"sync"
	"time"

	kafkago "github.com/segmentio/kafka-go"

	"github.com/apitap/apitap/pipeline/kafka"
	"github.com/apitap/apitap/pipeline/ocsf"
	"github.com/apitap/apitap/sensor/finding"
)

// Default topic and group names.
const (
	DefaultGroupID             = "apitap-fleet"
	DefaultFleetInventoryTopic = "apitap.fleet.inventory"
	DefaultFleetFindingsTopic  = "apitap.fleet.findings"
)

// Config configures Run. Brokers is required; the rest has defaults.
type Config struct {
	// Kafka holds brokers, TLS, SASL and compression (its topics are the
	// sensors' topics this aggregator consumes). Its Spool is not used.
	Kafka kafka.Config
	// GroupID is the consumer group shared by aggregator instances.
	// Default apitap-fleet.
	GroupID string
	// FleetInventoryTopic and FleetFindingsTopic receive the output.
	// Defaults apitap.fleet.inventory and apitap.fleet.findings.
	FleetInventoryTopic string
	FleetFindingsTopic  string
	// Identity names this aggregator in the events it emits.
	Identity ocsf.Identity
	// SessionTimeout is the consumer-group session timeout. Default 10 s;
	// a crashed instance's partitions move after this long.
	SessionTimeout time.Duration
	// MaxBatch is the most input messages merged before one publish and
	// commit. Default 1000.
	MaxBatch int
	Logger   *slog.Logger // nil discards
}

func (c *Config) groupID() string { return orStr(c.GroupID, DefaultGroupID) }
func (c *Config) fleetInventory() string {
	return orStr(c.FleetInventoryTopic, DefaultFleetInventoryTopic)
}
func (c *Config) fleetFindings() string {
	return orStr(c.FleetFindingsTopic, DefaultFleetFindingsTopic)
}
func (c *Config) inputs() []string {
	return []string{orStr(c.Kafka.InventoryTopic, kafka.DefaultInventoryTopic),
		orStr(c.Kafka.FindingsTopic, kafka.DefaultFindingsTopic)}
}

// Run aggregates until ctx is done. It returns nil on cancellation and an
// error if Kafka cannot be set up.
func Run(ctx context.Context, cfg Config) error {
	if len(cfg.Kafka.Brokers) == 0 {
		return kafka.ErrNoBrokers
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	log = log.With("component", "fleet.Aggregator")
	id := cfg.Identity
	id.Fleet = true
	a := &aggregator{cfg: cfg, log: log, enc: ocsf.NewEncoder(id), st: newState()}
	if err := a.setup(); err != nil {
		return err
	}
	defer a.w.Close()

	// Rebuild from the fleet inventory, then keep following it.
	follow, stopFollow := context.WithCancel(ctx)
	caughtUp := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		a.follow(follow, caughtUp)
	}()
	defer func() { stopFollow(); wg.Wait() }()
	select {
	case <-caughtUp:
	case <-ctx.Done():
		return nil
	}
	a.st.mu.Lock()
	a.log.Info("fleet state rebuilt", "endpoints", len(a.st.endpoints), "vendors",
		len(a.st.vendors))
	a.st.mu.Unlock()

	return a.consume(ctx)
}

type aggregator struct {
	cfg    Config
	log    *slog.Logger
	enc    *ocsf.Encoder
	w      *kafkago.Writer
	dialer *kafkago.Dialer
	st     *state
	buf    []byte
}

func (a *aggregator) setup() error {
	k := &a.cfg.Kafka
	tr, err := k.Transport()
	if err != nil {
		return err
	}
	codec, err := kafka.Codec(k.Compression)
	if err != nil {
		return err
	}
	info, errs := kafka.Loggers(a.log)
	a.w = &kafkago.Writer{
		Addr:         kafkago.TCP(k.Brokers...),
		Balancer:     &kafkago.Hash{},
		RequiredAcks: kafkago.RequireAll,
		Compression:  codec,
		BatchSize:    1000,
		BatchBytes:   8 << 20,
		BatchTimeout: 5 * time.Millisecond,
		MaxAttempts:  5,
		Logger:       info,
		ErrorLogger:  errs,
		Transport:    tr,
	}
	tc, _ := k.TLSConfig()
	mech, _ := k.Mechanism()
	a.dialer = &kafkago.Dialer{ClientID: "apitap-fleet", Timeout: 5 * time.Second, DualStack: true,
		TLS: tc, SASLMechanism: mech}
	if k.Dial != nil {
		a.dialer.DialFunc = k.Dial
	}
	return nil
}

// consume is the consumer-group loop: fetch a batch, merge, publish, commit.
func (a *aggregator) consume(ctx context.Context) error {
	session := a.cfg.SessionTimeout
	if session <= 0 {
		session = 10 * time.Second
	}
	info, errs := kafka.Loggers(a.log)
	r := kafkago.NewReader(kafkago.ReaderConfig{
		Brokers:           a.cfg.Kafka.Brokers,
		GroupID:           a.cfg.groupID(),
		GroupTopics:       a.cfg.inputs(),
		Dialer:            a.dialer,
		MaxWait:           100 * time.Millisecond,
		StartOffset:       kafkago.FirstOffset,
		HeartbeatInterval: session / 6,
		SessionTimeout:    session,
		RebalanceTimeout:  session,
		JoinGroupBackoff:  200 * time.Millisecond,
		CommitInterval:    0, // commit synchronously, after publishing
		Logger:            info,
		ErrorLogger:       errs,
	})
	defer r.Close()
	a.log.Info("fleet aggregator consuming", "group", a.cfg.groupID(), "topics", a.cfg.inputs())

	maxBatch := a.cfg.MaxBatch
	if maxBatch <= 0 {
		maxBatch = 1000
	}
	var in []kafkago.Message
	var out []kafkago.Message
	for {
		in, out = in[:0], out[:0]
		m, err := r.FetchMessage(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("fleet: fetch: %w", err)
		}
		in = append(in, m)
		// Gather what is already buffered, briefly.
		for len(in) < maxBatch {
			fctx, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
			m, err := r.FetchMessage(fctx)
			cancel()
			if err != nil {
				break
			}
			in = append(in, m)
		}
		a.buf = a.buf[:0] // the previous batch's WriteMessages returned: bytes are free
		for i := range in {
			out = a.handle(out, &in[i])
		}
		if len(out) > 0 {
			if err := a.w.WriteMessages(ctx, out...); err != nil {
				if ctx.Err() != nil {
					return nil
				}
				// Not committing means the inputs are redelivered.
				return fmt.Errorf("fleet: publish: %w", err)
			}
		}
		if err := r.CommitMessages(ctx, in...); err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("fleet: commit: %w", err)
		}
		a.log.Debug("fleet batch", "in", len(in), "out", len(out))
	}
}

// handle merges one sensor event and appends the fleet events it causes.
func (a *aggregator) handle(out []kafkago.Message, m *kafkago.Message) []kafkago.Message {
	var ev event
	if err := json.Unmarshal(m.Value, &ev); err != nil {
		a.log.Debug("fleet skip undecodable event", "topic", m.Topic, "error", err)
		return out
	}
	now := time.Now()
	switch {
	case ev.ClassUID == ocsf.ClassAPIActivity && ev.Unmapped.Apitap.Kind == "endpoint":
		return a.endpoint(out, &ev, now)
	case ev.ClassUID == ocsf.ClassAPIActivity && ev.Unmapped.Apitap.Kind == "vendor":
		return a.vendor(out, &ev, now)
	case ev.ClassUID == ocsf.ClassDetectionFinding || ev.ClassUID == ocsf.ClassDataSecurityFinding:
		return a.finding(out, &ev, now)
	}
	return out
}

func (a *aggregator) endpoint(out []kafkago.Message, ev *event, now time.Time) []kafkago.Message {
	u := &ev.Unmapped.Apitap
	node := ev.Device.Name
	a.st.mu.Lock()
	ep := a.st.endpoint(u.ID)
	if ep.Service == "" {
		ep.Service, ep.Host = ev.API.Service.Name, ev.DstEndpoint.Hostname
		ep.Method, ep.Template = ev.HTTPRequest.Method, u.Template
	}
	prev := ep.SpecStatus
	if ev.ActivityID == 4 {
		removeNode(ep, node)
	} else {
		mergeNode(ep, ocsf.NodeState{Node: node, SpecStatus: u.SpecStatus, Count: u.Count,
			Errors: u.Errors, LastSeen: ev.EndTime})
	}
	if t := time.UnixMilli(ev.StartTime); ev.StartTime > 0 &&
		(ep.FirstSeen.IsZero() || t.Before(ep.FirstSeen)) {
		ep.FirstSeen = t
	}
	closing := len(ep.Nodes) == 0
	derive(ep)
	snap := *ep
	snap.Nodes = slices.Clone(ep.Nodes)
	wasShadow := a.st.shadow[ep.ID]
	isShadow := ep.SpecStatus == "shadow" && !closing
	a.st.shadow[ep.ID] = isShadow
	a.st.mu.Unlock()

	act := ocsf.ActivityUpdate
	if prev == "" && len(snap.Nodes) == 1 {
		act = ocsf.ActivityCreate
	}
	if closing {
		act = ocsf.ActivityClose
	}
	out = a.emitEndpoint(out, &snap, act, now)

	// The fleet shadow finding follows the merged status.
	if isShadow || wasShadow {
		fa := ocsf.ActivityUpdate
		switch {
		case isShadow && !wasShadow:
			fa = ocsf.ActivityCreate
		case !isShadow:
			fa = ocsf.ActivityClose
		}
		f := &finding.Finding{Type: finding.ShadowAPI,
			UID:      finding.UID(finding.ShadowAPI, "fleet", snap.ID),
			Title:    "Shadow API " + snap.Method + " " + snap.Template + " on " + snap.Service,
			Severity: finding.SevMedium, Risk: 0.5, Source: snap.Service,
			Destination: snap.Host, Count: snap.Count, FirstSeen: snap.FirstSeen,
			LastSeen: snap.LastSeen, Evidence: map[string]any{"endpoint_id": snap.ID,
				"method": snap.Method, "template": snap.Template, "nodes": nodeNames(&snap)}}
		out = a.emitFinding(out, f, fa, now)
	}
	return out
}

func (a *aggregator) vendor(out []kafkago.Message, ev *event, now time.Time) []kafkago.Message {
	u := &ev.Unmapped.Apitap
	status := "undeclared"
	if u.Declared {
		status = "declared"
	}
	a.st.mu.Lock()
	v := a.st.vendor(u.ID)
	v.Hostname, v.Vendor.Vendor, v.Category, v.Tier = ev.DstEndpoint.Hostname, u.Vendor,
		u.Category, u.Tier
	mergeVendorNode(v, ocsf.NodeState{Node: ev.Device.Name, SpecStatus: status, Count: u.Count,
		LastSeen: ev.EndTime})
	snap := v.Vendor
	snap.Nodes = slices.Clone(v.Nodes)
	a.st.mu.Unlock()
	start := len(a.buf)
	b, err := a.enc.AppendVendor(a.buf, &snap, ocsf.ActivityUpdate, now)
	if err != nil {
		return out
	}
	a.buf = b
	return append(out, kafkago.Message{Topic: a.cfg.fleetInventory(), Key: []byte(snap.ID),
		Value: b[start:len(b):len(b)]})
}

func (a *aggregator) finding(out []kafkago.Message, ev *event, now time.Time) []kafkago.Message {
	fi := &ev.FindingInfo
	if len(fi.Types) == 0 || fi.UID == "" {
		return out
	}
	typ := fi.Types[0]
	if typ == finding.ShadowAPI || typ == finding.ZombieAPI {
		return out // derived from the merged inventory instead
	}
	a.st.mu.Lock()
	fs := a.st.findings[fi.UID]
	if fs == nil {
		fs = &findingState{nodes: make(map[string]int64)}
		a.st.findings[fi.UID] = fs
	}
	fresh := len(fs.nodes) == 0
	node := ev.Device.Name
	fs.nodes[node] = max(fs.nodes[node], ev.Count)
	if fs.first == 0 || fi.FirstSeen < fs.first {
		fs.first = fi.FirstSeen
	}
	fs.last = max(fs.last, fi.LastSeen)
	fs.sev = max(fs.sev, ev.SeverityID)
	var total int64
	for _, c := range fs.nodes {
		total += c
	}
	nodes := slices.Sorted(maps.Keys(fs.nodes))
	sev, first, last := fs.sev, fs.first, fs.last
	a.st.mu.Unlock()

	data := map[string]any{}
	if len(ev.Evidences) > 0 && ev.Evidences[0].Data != nil {
		data = ev.Evidences[0].Data
	}
	data["nodes"] = nodes
	f := &finding.Finding{Type: typ, UID: fi.UID, Title: fi.Title, Severity: finding.Severity(sev),
		Risk: float64(ev.RiskScore), Count: total, Evidence: data,
		FirstSeen: time.UnixMilli(first), LastSeen: time.UnixMilli(last)}
	if len(ev.Evidences) > 0 {
		f.Source = ev.Evidences[0].Src.Name
		f.Destination = ev.Evidences[0].Dst.Hostname
	}
	act := ocsf.ActivityUpdate
	switch {
	case ev.ActivityID == int(ocsf.ActivityClose):
		act = ocsf.ActivityClose
	case fresh:
		act = ocsf.ActivityCreate
	}
	return a.emitFinding(out, f, act, now)
}

func (a *aggregator) emitEndpoint(out []kafkago.Message, ep *ocsf.Endpoint, act ocsf.Activity,
	now time.Time) []kafkago.Message {
	start := len(a.buf)
	b, err := a.enc.AppendEndpoint(a.buf, ep, act, now)
	if err != nil {
		return out
	}
	a.buf = b
	return append(out, kafkago.Message{Topic: a.cfg.fleetInventory(), Key: []byte(ep.ID),
		Value: b[start:len(b):len(b)]})
}

func (a *aggregator) emitFinding(out []kafkago.Message, f *finding.Finding, act ocsf.Activity,
	now time.Time) []kafkago.Message {
	start := len(a.buf)
	b, err := a.enc.AppendFinding(a.buf, f, act, now)
	if err != nil {
		a.log.Warn("fleet finding refused", "uid", f.UID, "error", err)
		return out
	}
	a.buf = b
	return append(out, kafkago.Message{Topic: a.cfg.fleetFindings(), Key: []byte(f.UID),
		Value: b[start:len(b):len(b)]})
}

func orStr(v, def string) string {
	if v != "" {
		return v
	}
	return def
}
