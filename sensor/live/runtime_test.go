package live

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/apitap/apitap/sensor/capture"
	"github.com/apitap/apitap/sensor/config"
	"github.com/apitap/apitap/sensor/engine"
	"github.com/apitap/apitap/sensor/exchange"
	"github.com/apitap/apitap/sensor/internal/synth"
)

// syncBuffer is a bytes.Buffer safe for the sink goroutine and the test.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) Bytes() []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	return bytes.Clone(s.b.Bytes())
}

// event is the part of an OCSF event the tests look at.
type event struct {
	ClassUID    int `json:"class_uid"`
	ActivityID  int `json:"activity_id"`
	Count       int `json:"count"`
	FindingInfo struct {
		UID   string   `json:"uid"`
		Types []string `json:"types"`
	} `json:"finding_info"`
	Metadata struct {
		UID string `json:"uid"`
	} `json:"metadata"`
}

func parseEvents(t *testing.T, out []byte) []event {
	t.Helper()
	var evs []event
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var ev event
		if err := json.Unmarshal(sc.Bytes(), &ev); err != nil {
			t.Fatalf("output line %q: %v", sc.Text(), err)
		}
		evs = append(evs, ev)
	}
	return evs
}

// writeCapture writes a small synthetic capture and returns its path and
// the number of exchanges the offline engine finds in it (synth's own count
// includes the TLS connections' opaque requests, which no parser can see).
func writeCapture(t *testing.T) (string, int) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "synth.pcap")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	st, err := synth.Write(f, synth.Options{Connections: 20, TargetBytes: 2 << 20, Seed: 7,
		TLSPercent: 20})
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	src, err := capture.OpenFile(path)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	var n exchangeCounter
	engine.Run(src, &engine.Config{}, 1, &n, nil)
	if n.exchanges == 0 || n.exchanges > st.Exchanges {
		t.Fatalf("offline engine: %d exchanges in a capture of %d; want 1..%d", n.exchanges,
			st.Exchanges, st.Exchanges)
	}
	return path, n.exchanges
}

// exchangeCounter is an engine.Emitter that counts exchanges.
type exchangeCounter struct{ exchanges int }

func (c *exchangeCounter) Exchange(*exchange.Exchange) { c.exchanges++ }
func (c *exchangeCounter) Flow(*exchange.Flow)         {}
func (c *exchangeCounter) DNS(*exchange.DNS)           {}

// runOnce drives the daemon path over the capture with stateDir and
// returns its stdout (OCSF events) and the exchange log.
func runOnce(t *testing.T, pcap, stateDir string) ([]byte, []byte) {
	t.Helper()
	sc := &config.Config{StateDir: stateDir}
	sc.Defaults()
	src, err := capture.OpenFile(pcap)
	if err != nil {
		t.Fatal(err)
	}
	var out, exch syncBuffer
	rt, err := New(Config{Sensor: sc, Sources: []capture.Source{src}, Stdout: &out,
		Exchanges: &exch, Hostname: "test-node", EmitInterval: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := rt.Run(ctx); err != nil {
		t.Fatalf("Run: %v", err)
	}
	if ctx.Err() != nil {
		t.Fatal("Run did not return when its source ended")
	}
	return out.Bytes(), exch.Bytes()
}

// TestRunRestart runs the daemon path over a synthetic capture twice with
// one state directory. The first run must report every exchange and ship
// each finding and endpoint once as Create; the second, which sees the
// same traffic again, must ship them as Update (their counts doubled) and
// never as Create.
func TestRunRestart(t *testing.T) {
	pcap, want := writeCapture(t)
	dir := filepath.Join(t.TempDir(), "state")

	out1, exch := runOnce(t, pcap, dir)
	if got := bytes.Count(exch, []byte("\n")); got != want {
		t.Errorf("run 1: %d exchanges logged; want %d (the offline engine's count)", got, want)
	}
	first := parseEvents(t, out1)
	creates := map[string]int{}
	findings := 0
	for _, ev := range first {
		if ev.ActivityID != 1 {
			t.Errorf("run 1: activity %d for %+v; want 1 (Create) on a first emission",
				ev.ActivityID, ev)
		}
		if ev.ClassUID == 2004 || ev.ClassUID == 2006 {
			findings++
			creates[ev.FindingInfo.UID]++
		}
	}
	if findings == 0 {
		t.Fatalf("run 1: no findings among %d events; the capture's TLS vendor traffic "+
			"should raise some", len(first))
	}
	for uid, n := range creates {
		if n != 1 {
			t.Errorf("run 1: finding %s created %d times; want 1", uid, n)
		}
	}
	for _, f := range []string{InventoryFile, EmittedFile} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Errorf("state file %s: %v", f, err)
		}
	}

	out2, _ := runOnce(t, pcap, dir)
	second := parseEvents(t, out2)
	updates := 0
	for _, ev := range second {
		if ev.ActivityID == 1 {
			t.Errorf("run 2: %+v sent as Create after a restart; want Update", ev)
		}
		// The inventory is restored, so every endpoint's count doubled.
		if ev.ClassUID == 6003 && ev.ActivityID == 3 {
			updates++
		}
	}
	if updates == 0 {
		t.Errorf("run 2: no endpoint updates among %d events; counts doubled, so want some",
			len(second))
	}
}

// TestEmitUnchanged checks that an emission with nothing new ships nothing.
func TestEmitUnchanged(t *testing.T) {
	pcap, _ := writeCapture(t)
	dir := filepath.Join(t.TempDir(), "state")
	runOnce(t, pcap, dir)

	// A run over no traffic restores the state and must ship nothing: no
	// count changed.
	empty := filepath.Join(t.TempDir(), "empty.pcap")
	f, err := os.Create(empty)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := synth.Write(f, synth.Options{Connections: 1, TargetBytes: 1, Seed: 9}); err != nil {
		t.Fatal(err)
	}
	f.Close()
	out, _ := runOnce(t, empty, dir)
	for _, ev := range parseEvents(t, out) {
		if ev.ClassUID == 2004 || ev.ClassUID == 2006 {
			t.Errorf("unchanged finding %s re-sent (activity %d)", ev.FindingInfo.UID, ev.ActivityID)
		}
	}
}

// TestMemoryGuard checks that the guard closes admission above its limit
// and reopens it once the heap is back under 90% of it.
func TestMemoryGuard(t *testing.T) {
	g := memoryGuard{log: discard()}
	runtime.GC()
	base := g.heap()
	g.limit = base + 64<<20
	g.check()
	if !g.admit() {
		t.Fatalf("admit() = false at heap %d under limit %d; want true", base, g.limit)
	}
	ballast := make([]byte, 128<<20)
	for i := range ballast {
		ballast[i] = 1
	}
	g.check()
	if g.admit() {
		t.Errorf("admit() = true at heap %d over limit %d; want false", g.heap(), g.limit)
	}
	runtime.KeepAlive(ballast)
	ballast = nil
	runtime.GC()
	g.check()
	if !g.admit() {
		t.Errorf("admit() = false after GC at heap %d (limit %d); want true", g.heap(), g.limit)
	}
}

// TestDamagedStateSetAside: a state directory whose files cannot be read
// back does not stop the sensor: the files are kept under another name and
// the run starts afresh, its findings sent as new.
func TestDamagedStateSetAside(t *testing.T) {
	pcap, want := writeCapture(t)
	dir := filepath.Join(t.TempDir(), "state")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{InventoryFile, EmittedFile} {
		if err := os.WriteFile(filepath.Join(dir, f), []byte("not a state file"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	out, exch := runOnce(t, pcap, dir)
	if got := bytes.Count(exch, []byte("\n")); got != want {
		t.Errorf("%d exchanges logged; want %d", got, want)
	}
	if len(parseEvents(t, out)) == 0 {
		t.Error("no events after starting afresh")
	}
	for _, f := range []string{InventoryFile, EmittedFile} {
		kept, _ := filepath.Glob(filepath.Join(dir, f+".bad-*"))
		if len(kept) != 1 {
			t.Errorf("%s: %d files set aside; want 1", f, len(kept))
			continue
		}
		if b, _ := os.ReadFile(kept[0]); string(b) != "not a state file" {
			t.Errorf("%s: set-aside copy holds %q", f, b)
		}
	}
}
