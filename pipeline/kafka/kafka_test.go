package kafka

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
	"github.com/twmb/franz-go/pkg/kversion"

	"github.com/apitap/apitap/pipeline/ocsf"
	"github.com/apitap/apitap/pipeline/ocsf/ocsftest"
	"github.com/apitap/apitap/pipeline/sink"
	"github.com/apitap/apitap/pipeline/spool"
	"github.com/apitap/apitap/sensor/finding"
)

var topics = []string{DefaultFindingsTopic, DefaultInventoryTopic}

// startCluster starts a kfake cluster on 127.0.0.1:port (0 picks one) with
// the default topics; dataDir, when set, persists its log across restarts.
func startCluster(t testing.TB, port int, dataDir string) *kfake.Cluster {
	t.Helper()
	opts := []kfake.Opt{kfake.NumBrokers(1), kfake.Ports(port), kfake.SeedTopics(3, topics...)}
	if dataDir != "" {
		opts = append(opts, kfake.DataDir(dataDir), kfake.SyncWrites())
	}
	var c *kfake.Cluster
	var err error
	// A just-closed listener's port can take a moment to be reusable.
	for range 50 {
		if c, err = kfake.NewCluster(opts...); err == nil {
			return c
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("start kfake: %v", err)
	return nil
}

// encoder builds OCSF finding events for uid i.
type encoder struct {
	enc *ocsf.Encoder
	now time.Time
}

func newEncoder() *encoder {
	return &encoder{enc: ocsf.NewEncoder(ocsf.Identity{Hostname: "sensor-1", SensorVersion: "test"}),
		now: time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)}
}

func uidOf(i int) string { return finding.UID(finding.ShadowAPI, "svc", fmt.Sprint(i)) }

func (e *encoder) finding(i int) sink.Event {
	f := &finding.Finding{Type: finding.ShadowAPI, UID: uidOf(i), Title: "Shadow API GET /x",
		Severity: finding.SevMedium, Risk: 0.5, Source: "svc", Destination: "svc.local",
		Evidence:  map[string]any{"method": "GET", "template": fmt.Sprintf("/items/%d", i)},
		FirstSeen: e.now, LastSeen: e.now, Count: int64(i + 1)}
	b, err := e.enc.AppendFinding(nil, f, ocsf.ActivityCreate, e.now)
	if err != nil {
		panic(err)
	}
	return sink.Event{Class: ocsf.ClassDetectionFinding, Key: []byte(f.UID), Value: b}
}

func (e *encoder) endpoint(i int) sink.Event {
	ep := &ocsf.Endpoint{Service: "svc", Host: "svc.local", Method: "GET",
		Template: fmt.Sprintf("/items/%d", i), SpecStatus: "shadow", Count: 3}
	ep.ID = ocsf.EndpointID(ep.Service, ep.Method, ep.Template)
	b, err := e.enc.AppendEndpoint(nil, ep, ocsf.ActivityCreate, e.now)
	if err != nil {
		panic(err)
	}
	return sink.Event{Class: ocsf.ClassAPIActivity, Key: []byte(ep.ID), Value: b}
}

// consumeKeys reads every record of topic with franz-go and returns the keys.
func consumeKeys(t testing.TB, addr, topic string) map[string]int {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	end := endOffsets(t, cl, topic)
	var total int64
	for _, o := range end {
		total += o
	}
	keys := make(map[string]int)
	var n int64
	for n < total {
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("consumed %d of %d records before timeout", n, total)
		}
		fs.EachRecord(func(r *kgo.Record) {
			keys[string(r.Key)]++
			n++
		})
	}
	return keys
}

func endOffsets(t testing.TB, cl *kgo.Client, topic string) map[int32]int64 {
	t.Helper()
	req := kmsg.NewPtrListOffsetsRequest()
	rt := kmsg.NewListOffsetsRequestTopic()
	rt.Topic = topic
	for p := range int32(3) {
		rp := kmsg.NewListOffsetsRequestTopicPartition()
		rp.Partition = p
		rp.Timestamp = -1
		rt.Partitions = append(rt.Partitions, rp)
	}
	req.Topics = append(req.Topics, rt)
	resp, err := req.RequestWith(context.Background(), cl)
	if err != nil {
		t.Fatal(err)
	}
	out := make(map[int32]int64)
	for _, rt := range resp.Topics {
		for _, p := range rt.Partitions {
			out[p.Partition] = p.Offset
		}
	}
	return out
}

// batchCodecs fetches the raw record batches of topic and returns the
// compression codec ids (attributes & 7) found.
func batchCodecs(t testing.TB, addr, topic string) map[int16]int {
	t.Helper()
	// Fetch v13 names topics by id; v12 still takes the name.
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.MaxVersions(kversion.V3_0_0()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	req := kmsg.NewPtrFetchRequest()
	req.MaxBytes = 64 << 20
	req.MaxWaitMillis = 100
	ft := kmsg.NewFetchRequestTopic()
	ft.Topic = topic
	for p := range int32(3) {
		fp := kmsg.NewFetchRequestTopicPartition()
		fp.Partition = p
		fp.PartitionMaxBytes = 32 << 20
		ft.Partitions = append(ft.Partitions, fp)
	}
	req.Topics = append(req.Topics, ft)
	resp, err := req.RequestWith(context.Background(), cl)
	if err != nil {
		t.Fatal(err)
	}
	codecs := make(map[int16]int)
	for _, rt := range resp.Topics {
		for _, p := range rt.Partitions {
			if p.ErrorCode != 0 {
				t.Fatalf("fetch %s/%d: error code %d", topic, p.Partition, p.ErrorCode)
			}
			b := p.RecordBatches
			for len(b) >= 61 {
				var rb kmsg.RecordBatch
				if err := rb.ReadFrom(b); err != nil {
					t.Fatalf("parse record batch: %v", err)
				}
				codecs[rb.Attributes&7]++
				b = b[12+int(rb.Length):]
			}
		}
	}
	return codecs
}

func TestSinkToKafkaCheckedByKcat(t *testing.T) {
	kcat, err := exec.LookPath("kcat")
	if err != nil {
		t.Skip("kcat not installed (apt-get install kcat): the independent consumer check needs it")
	}
	tests := []struct {
		codec string
		id    int16
	}{{"zstd", 4}, {"lz4", 3}, {"snappy", 2}, {"gzip", 1}, {"none", 0}}
	for _, tt := range tests {
		t.Run(tt.codec, func(t *testing.T) {
			if testing.Short() && tt.codec != "zstd" {
				t.Skip("other codecs run without -short")
			}
			c := startCluster(t, 0, "")
			defer c.Close()
			addr := c.ListenAddrs()[0]
			s, err := New(context.Background(), Config{Brokers: []string{addr},
				Compression: tt.codec, Spool: spoolCfg(t)})
			if err != nil {
				t.Fatal(err)
			}
			q := sink.NewQueue(s, sink.QueueConfig{Block: true})
			enc := newEncoder()
			const nf, ni = 300, 40
			for i := range nf {
				if err := q.Send(context.Background(), enc.finding(i)); err != nil {
					t.Fatal(err)
				}
			}
			for i := range ni {
				if err := q.Send(context.Background(), enc.endpoint(i)); err != nil {
					t.Fatal(err)
				}
			}
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			if err := q.Close(ctx); err != nil {
				t.Fatal(err)
			}

			for _, topic := range topics {
				want := nf
				if topic == DefaultInventoryTopic {
					want = ni
				}
				out, err := exec.CommandContext(ctx, kcat, "-b", addr, "-C", "-t", topic, "-e",
					"-X", "fetch.wait.max.ms=20", "-X", "topic.metadata.refresh.interval.ms=100",
					"-J", "-q").Output()
				if err != nil {
					t.Fatalf("kcat: %v", err)
				}
				got := checkKcat(t, out, topic)
				if got != want {
					t.Errorf("kcat read %d messages from %s; want %d", got, topic, want)
				}
				codecs := batchCodecs(t, addr, topic)
				if len(codecs) != 1 || codecs[tt.id] == 0 {
					t.Errorf("record batch codecs on %s = %v; want only %d (%s)", topic,
						codecs, tt.id, tt.codec)
				}
			}
		})
	}
}

// checkKcat validates each kcat -J line: schema, and key = the event's id.
func checkKcat(t *testing.T, out []byte, topic string) int {
	t.Helper()
	n := 0
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var m struct {
			Topic   string  `json:"topic"`
			Key     *string `json:"key"`
			Payload string  `json:"payload"`
		}
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("kcat line: %v: %s", err, sc.Bytes())
		}
		if err := ocsftest.Validate([]byte(m.Payload)); err != nil {
			t.Fatalf("schema: %v\n%s", err, m.Payload)
		}
		var ev struct {
			FI struct {
				UID string `json:"uid"`
			} `json:"finding_info"`
			U struct {
				A struct {
					ID string `json:"id"`
				} `json:"apitap"`
			} `json:"unmapped"`
		}
		json.Unmarshal([]byte(m.Payload), &ev)
		want := ev.FI.UID
		if topic == DefaultInventoryTopic {
			want = ev.U.A.ID
		}
		if m.Key == nil || *m.Key != want || want == "" {
			t.Fatalf("message key = %v; want %q", m.Key, want)
		}
		n++
	}
	return n
}

func spoolCfg(t testing.TB) spool.Config { return spoolConfig(t.TempDir()) }

func spoolConfig(dir string) spool.Config { return spool.Config{Dir: dir, MaxBytes: 256 << 20} }

func TestMissingTopicIsAClearError(t *testing.T) {
	c := startCluster(t, 0, "")
	defer c.Close()
	_, err := New(context.Background(), Config{Brokers: c.ListenAddrs(),
		FindingsTopic: "no.such.topic"})
	if !errors.Is(err, ErrTopicMissing) || !strings.Contains(err.Error(), "no.such.topic") {
		t.Fatalf("New with a missing topic: err = %v; want ErrTopicMissing naming it", err)
	}
}

// chaosConfig makes failures surface fast: the broker is gone for seconds,
// not minutes.
func chaosConfig(addr, dir string) Config {
	return Config{Brokers: []string{addr}, WriteTimeout: time.Second, MaxAttempts: 1,
		RetryInterval: 100 * time.Millisecond, MetadataTTL: 500 * time.Millisecond,
		BatchTimeout: 5 * time.Millisecond, Spool: spoolConfig(dir)}
}

func TestChaosBrokerRestartLosesNothing(t *testing.T) {
	if testing.Short() {
		t.Skip("chaos test takes several seconds")
	}
	port := freePort(t)
	data := t.TempDir()
	c := startCluster(t, port, data)
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	s, err := New(context.Background(), chaosConfig(addr, t.TempDir()))
	if err != nil {
		t.Fatal(err)
	}

	const total, per = 20000, 200
	enc := newEncoder()
	var written atomic.Int64
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; i < total; i += per {
			evs := make([]sink.Event, per)
			for j := range evs {
				evs[j] = enc.finding(i + j)
			}
			if err := s.Write(context.Background(), evs); err != nil {
				t.Errorf("Write: %v", err)
				return
			}
			written.Add(per)
			time.Sleep(2 * time.Millisecond) // a stream, not one burst
		}
	}()

	// Stop the broker mid-stream for longer than the batch timeout and the
	// write timeout, then start a new one on the same port and data.
	waitFor(t, func() bool { return written.Load() >= total/4 }, 20*time.Second)
	c.Close()
	stoppedAt := written.Load()
	time.Sleep(2 * time.Second)
	c = startCluster(t, port, data)
	defer c.Close()
	wg.Wait()

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	st := s.Stats()
	if err := s.Close(ctx); err != nil {
		t.Fatalf("Close: %v (stats %+v)", err, st)
	}
	st = s.Stats()
	t.Logf("stopped at %d written; stats %+v", stoppedAt, st)
	if st.Spooled == 0 {
		t.Errorf("nothing was spooled; the outage was not exercised")
	}
	if st.Dropped != 0 {
		t.Errorf("Dropped = %d; want 0", st.Dropped)
	}
	keys := consumeKeys(t, addr, DefaultFindingsTopic)
	missing := 0
	for i := range total {
		if keys[uidOf(i)] == 0 {
			missing++
		}
	}
	if missing > 0 || len(keys) != total {
		t.Fatalf("Kafka holds %d distinct uids, %d of %d missing", len(keys), missing, total)
	}
}

func TestCrashWhileBrokerDownThenRestart(t *testing.T) {
	if testing.Short() {
		t.Skip("crash test takes several seconds")
	}
	port := freePort(t)
	data, spoolDir := t.TempDir(), t.TempDir()
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	c := startCluster(t, port, data)
	s, err := New(context.Background(), chaosConfig(addr, spoolDir))
	if err != nil {
		t.Fatal(err)
	}
	enc := newEncoder()
	write := func(s *Sink, from, n int) {
		t.Helper()
		for i := from; i < from+n; i += 100 {
			evs := make([]sink.Event, 100)
			for j := range evs {
				evs[j] = enc.finding(i + j)
			}
			if err := s.Write(context.Background(), evs); err != nil {
				t.Fatalf("Write: %v", err)
			}
		}
	}
	write(s, 0, 2000) // delivered directly
	c.Close()
	write(s, 2000, 3000) // broker down: spooled
	if st := s.Stats(); st.Spooled == 0 {
		t.Fatalf("stats %+v: nothing spooled while the broker was down", st)
	}
	s.abandon() // crash: no flush, no replay

	// Restart the producer first (broker still down), then the broker.
	s2, err := New(context.Background(), chaosConfig(addr, spoolDir))
	if err != nil {
		t.Fatalf("restart while broker down: %v", err)
	}
	if !s2.Backlog() {
		t.Fatalf("restarted sink sees no backlog in the spool")
	}
	write(s2, 5000, 1000)
	c = startCluster(t, port, data)
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := s2.Close(ctx); err != nil {
		t.Fatalf("Close: %v", err)
	}
	keys := consumeKeys(t, addr, DefaultFindingsTopic)
	for i := range 6000 {
		if keys[uidOf(i)] == 0 {
			t.Fatalf("uid %d missing from Kafka (%d distinct present)", i, len(keys))
		}
	}
}

func waitFor(t testing.TB, cond func() bool, d time.Duration) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not reached in time")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func freePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}
