//go:build e2e

package lab

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/apitap/apitap/sensor/inventory"
	"github.com/apitap/apitap/sensor/live"
)

var (
	daemonOnce sync.Once
	daemonBin  string
	daemonErr  error
)

// buildDaemon builds ./cmd/apitap once per test binary.
func buildDaemon(t *testing.T) string {
	t.Helper()
	daemonOnce.Do(func() {
		root, err := filepath.Abs("../..")
		if err != nil {
			daemonErr = err
			return
		}
		dir, err := os.MkdirTemp("", "apitap-e2e-")
		if err != nil {
			daemonErr = err
			return
		}
		bin := filepath.Join(dir, "apitap")
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		defer cancel()
		build := exec.CommandContext(ctx, "go", "build", "-o", bin, "./cmd/apitap")
		build.Dir = root
		// No cgo: privilege.Drop needs it off to reach every thread.
		build.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := build.CombinedOutput(); err != nil {
			daemonErr = fmt.Errorf("build apitap: %v\n%s", err, out)
			return
		}
		daemonBin = bin
	})
	if daemonErr != nil {
		t.Fatal(daemonErr)
	}
	return daemonBin
}

// startKfake runs an in-process Kafka cluster whose listener lives inside
// ns, on its loopback: reachable by apitap and kcat running in ns.
func startKfake(t *testing.T, ns *Namespace) string {
	t.Helper()
	listen := func(network, addr string) (net.Listener, error) {
		var ln net.Listener
		err := ns.Do(func() error {
			var err error
			ln, err = net.Listen(network, addr)
			return err
		})
		return ln, err
	}
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.ListenFn(listen),
		kfake.SeedTopics(1, "apitap.findings", "apitap.inventory"))
	if err != nil {
		t.Fatalf("start kfake in %s: %v", ns.Name, err)
	}
	t.Cleanup(c.Close)
	return c.ListenAddrs()[0]
}

// startDaemon starts `apitap args…` in ns and waits for its capture to be
// attached.
func startDaemon(t *testing.T, ns *Namespace, args ...string) *Process {
	t.Helper()
	p := ns.Start(t, buildDaemon(t), args...)
	waitOutput(t, p, `msg="capture attached"`, 20*time.Second)
	return p
}

// waitOutput waits until p's output contains s.
func waitOutput(t *testing.T, p *Process, s string, limit time.Duration) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) {
		if strings.Contains(p.Output(), s) {
			return
		}
		if p.Exited() {
			t.Fatalf("apitap exited before %q:\n%s", s, p.Output())
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("no %q in apitap's output after %s:\n%s", s, limit, p.Output())
}

// stopDaemon sends SIGTERM and checks apitap exited cleanly.
func stopDaemon(t *testing.T, p *Process) {
	t.Helper()
	if err := p.Stop(syscall.SIGTERM); err != nil {
		t.Fatalf("apitap exit: %v\n%s", err, p.Output())
	}
	if !strings.Contains(p.Output(), "stopped") {
		t.Errorf("apitap did not log its orderly stop:\n%s", p.Output())
	}
}

// labClient calls the lab API from ns over keep-alive connections.
type labClient struct {
	hc   *http.Client
	addr string
}

func newLabClient(ns *Namespace, addr netip.AddrPort) *labClient {
	return &labClient{addr: addr.String(), hc: &http.Client{Timeout: 5 * time.Second,
		Transport: &http.Transport{DialContext: ns.DialContext, MaxIdleConnsPerHost: 4}}}
}

// call sends one request and reports whether a response came back.
func (c *labClient) call(method, path, body string) error {
	req, err := http.NewRequest(method, "http://"+c.addr+path, strings.NewReader(body))
	if err != nil {
		return err
	}
	req.Host = "api.lab.test:8080"
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	return nil
}

// calls returns n requests of the lab API's mix (seeded: the same every run).
func calls(n int, seed uint64) []struct{ method, path, body string } {
	var out []struct{ method, path, body string }
	for s := seed; len(out) < n; s++ {
		out = append(out, requests(rand.New(rand.NewPCG(s, 1)))...)
	}
	return out[:n]
}

// kcatEvents reads every event of topic with kcat (librdkafka: a client
// independent of the sensor's kafka-go) from inside ns.
func kcatEvents(t *testing.T, ns *Namespace, broker, topic string) []map[string]any {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := ns.Command(ctx, "kcat", "-b", broker, "-C", "-t", topic, "-o", "beginning", "-e",
		"-q", "-f", "%s\n", "-X", "fetch.wait.max.ms=20")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("kcat %s: %v\n%s", topic, err, stderr.String())
	}
	var evs []map[string]any
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(nil, 4<<20)
	for sc.Scan() {
		if len(bytes.TrimSpace(sc.Bytes())) == 0 {
			continue
		}
		var ev map[string]any
		if err := json.Unmarshal(sc.Bytes(), &ev); err != nil {
			t.Fatalf("kcat %s: line %q: %v", topic, sc.Text(), err)
		}
		evs = append(evs, ev)
	}
	return evs
}

func countLines(t *testing.T, path string) int {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return bytes.Count(b, []byte("\n"))
}

// TestLiveE2E runs `apitap run` on a veth in the server namespace of a lab
// while a client in another namespace calls nginx 300 times. The
// exchanges it reports must match the client's count within 0.1% (with 300
// that is all of them), its findings must reach Kafka (read back by kcat),
// and a SIGTERM mid-traffic followed by a restart on the same state
// directory must keep the inventory and never ship a finding as Create
// twice.
func TestLiveE2E(t *testing.T) {
	l := New(t)
	Require(t, "nginx", "kcat", "go")
	srv, cli := l.Namespace("srv"), l.Namespace("cli")
	link := l.Link(srv, cli)
	ng := srv.Nginx(t, netip.AddrPortFrom(link.A, 8080), discoveryNginx)
	broker := startKfake(t, srv)

	dir := t.TempDir()
	specPath, err := filepath.Abs("testdata/discovery-spec.yaml")
	if err != nil {
		t.Fatal(err)
	}
	state := filepath.Join(dir, "state")
	conf := filepath.Join(dir, "apitap.yaml")
	if err := os.WriteFile(conf, []byte(fmt.Sprintf(`
capture:
  workers: 2
discovery:
  specs: [%q]
state_dir: %q
metrics:
  listen: "off"
`, specPath, state)), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(buildDaemon(t), "config", "check", conf).CombinedOutput(); err != nil {
		t.Fatalf("apitap config check %s: %v\n%s", conf, err, out)
	}
	args := func(exchanges string) []string {
		return []string{"run", "--config", conf, "-i", link.IfA, "--exchanges", exchanges,
			"--kafka", broker, "--emit-interval", "1s"}
	}

	// Run 1: 300 calls, every one counted.
	exch1 := filepath.Join(dir, "exchanges-1.jsonl")
	p := startDaemon(t, srv, args(exch1)...)
	c := newLabClient(cli, ng.Addr)
	const n = 300
	answered := 0
	for _, r := range calls(n, 203) {
		if err := c.call(r.method, r.path, r.body); err != nil {
			t.Errorf("%s %s: %v", r.method, r.path, err)
			continue
		}
		answered++
	}
	c.hc.CloseIdleConnections()
	// The exchange log is flushed at every emission (1 s).
	var got int
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); {
		time.Sleep(500 * time.Millisecond)
		if got = countLines(t, exch1); got >= answered {
			break
		}
	}
	if diff := got - answered; diff*1000 > answered || -diff*1000 > answered {
		t.Errorf("apitap reported %d exchanges; the client got %d answers (want within 0.1%%)",
			got, answered)
	}
	t.Logf("run 1: client %d answers, apitap %d exchanges", answered, got)

	// SIGTERM while a client is still calling.
	busy := make(chan int)
	go func() {
		c2 := newLabClient(cli, ng.Addr)
		done := 0
		for _, r := range calls(200, 900) {
			if c2.call(r.method, r.path, r.body) == nil {
				done++
			}
			time.Sleep(5 * time.Millisecond)
		}
		c2.hc.CloseIdleConnections()
		busy <- done
	}()
	time.Sleep(400 * time.Millisecond)
	stopDaemon(t, p)
	saved := time.Now()

	// Run 2 on the same state directory, while the client goes on.
	exch2 := filepath.Join(dir, "exchanges-2.jsonl")
	p2 := startDaemon(t, srv, args(exch2)...)
	if !strings.Contains(p2.Output(), "state restored") {
		t.Errorf("run 2 did not restore the state:\n%s", p2.Output())
	}
	// SIGHUP swaps the analysis configuration without stopping capture.
	if err := p2.Cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	waitOutput(t, p2, "configuration reloaded", 10*time.Second)
	t.Logf("background client: %d answers across the restart", <-busy)
	for _, r := range calls(50, 77) {
		if err := c.call(r.method, r.path, r.body); err != nil {
			t.Errorf("%s %s: %v", r.method, r.path, err)
		}
	}
	c.hc.CloseIdleConnections()
	time.Sleep(1500 * time.Millisecond)
	stopDaemon(t, p2)

	// Kafka holds the findings of both runs; kcat reads them back.
	findings := kcatEvents(t, srv, broker, "apitap.findings")
	creates := map[string]int{}
	types := map[string]bool{}
	for _, ev := range findings {
		info, _ := ev["finding_info"].(map[string]any)
		uid, _ := info["uid"].(string)
		if uid == "" {
			t.Fatalf("finding event without finding_info.uid: %v", ev)
		}
		if tt, ok := info["types"].([]any); ok && len(tt) > 0 {
			types[fmt.Sprint(tt[0])] = true
		}
		if ev["activity_id"] == float64(1) {
			creates[uid]++
		}
	}
	if len(findings) == 0 {
		t.Fatal("no findings on apitap.findings; want the lab's shadow and zombie endpoints")
	}
	for uid, k := range creates {
		if k > 1 {
			t.Errorf("finding %s shipped as Create %d times across a restart; want once", uid, k)
		}
	}
	if !types["zombie_api"] {
		t.Errorf("finding types %v; want zombie_api (the deprecated legacy reports)", types)
	}
	inv := kcatEvents(t, srv, broker, "apitap.inventory")
	t.Logf("kafka: %d finding events (%d uids, types %v), %d inventory events",
		len(findings), len(creates), types, len(inv))
	if len(inv) == 0 {
		t.Error("no inventory events on apitap.inventory")
	}

	// The inventory survived the restart: an endpoint from run 1 is still
	// there with run 1's first sighting.
	st := inventory.New(inventory.Config{}, nil)
	if err := st.Load(filepath.Join(state, live.InventoryFile)); err != nil {
		t.Fatal(err)
	}
	var health *inventory.Endpoint
	eps := st.Endpoints()
	for i := range eps {
		if eps[i].Method == "GET" && eps[i].Template == "/api/v1/health" {
			health = &eps[i]
		}
	}
	switch {
	case health == nil:
		t.Errorf("saved inventory has no GET /api/v1/health (%d endpoints)", len(eps))
	case !health.FirstSeen.Before(saved):
		t.Errorf("GET /api/v1/health first seen %v, after run 1 ended (%v): the inventory "+
			"did not survive the restart", health.FirstSeen, saved)
	}
	if n2 := countLines(t, exch2); n2 < 50 {
		t.Errorf("run 2 reported %d exchanges; want at least the 50 calls made after it started", n2)
	}
}

// TestExampleConfigsE2E checks that every example configuration in the
// repository, and the one `apitap config example` prints, passes
// `apitap config check`.
func TestExampleConfigsE2E(t *testing.T) {
	bin := buildDaemon(t)
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	files := []string{filepath.Join(root, "sensor/config/example.yaml")}
	more, _ := filepath.Glob(filepath.Join(root, "scripts/*/apitap*.yaml"))
	files = append(files, more...)
	printed, err := exec.Command(bin, "config", "example").Output()
	if err != nil {
		t.Fatalf("apitap config example: %v", err)
	}
	tmp := filepath.Join(t.TempDir(), "printed.yaml")
	if err := os.WriteFile(tmp, printed, 0o600); err != nil {
		t.Fatal(err)
	}
	files = append(files, tmp)
	for _, f := range files {
		out, err := exec.Command(bin, "config", "check", f).CombinedOutput()
		if err != nil || strings.TrimSpace(string(out)) != "ok" {
			t.Errorf("apitap config check %s: %v\n%s", f, err, out)
		}
	}
	// And a broken one is refused with its line.
	bad := filepath.Join(t.TempDir(), "bad.yaml")
	os.WriteFile(bad, []byte("capture:\n  mode: ebpff\n"), 0o600)
	out, err := exec.Command(bin, "config", "check", bad).CombinedOutput()
	if err == nil || !strings.Contains(string(out), "bad.yaml:2: capture.mode") {
		t.Errorf("apitap config check of a bad file: err %v, output %q; want a failure naming line 2",
			err, out)
	}
}

// TestLiveBenchE2E replays a synthetic capture (sensor/internal/synth) onto
// a veth with tcpreplay at increasing rates and, at each rate, measures one
// after the other two tools capturing on the other end in the same
// namespace: `apitap run`, then tshark as a peer that does the same job
// (dissect HTTP requests and responses off the wire). It logs a table per
// tool and rate: CPU seconds per million exchanges, exchanges reported,
// kernel drops and peak RSS. CPU is counted from the moment the tool is
// ready until it has exited (rusage, which includes tshark's dumpcap child),
// so work left over when the replay ends is charged and start-up (heavy
// for tshark's dissector tables) is not. It runs
// only with APITAP_BENCH_LIVE=1 (make bench-live): it takes minutes and its
// numbers are measurements, not pass/fail checks.
func TestLiveBenchE2E(t *testing.T) {
	if os.Getenv("APITAP_BENCH_LIVE") == "" {
		t.Skip("set APITAP_BENCH_LIVE=1 (make bench-live) to run the live capture benchmark")
	}
	l := New(t)
	Require(t, "tcpreplay", "tshark", "go")
	srv, cli := l.Namespace("srv"), l.Namespace("cli")
	link := l.Link(srv, cli)
	dir := t.TempDir()
	// The engine's pipeline benchmark writes the synthetic capture once
	// and keeps it in the temp dir (make bench-core); scripts/lab cannot
	// import sensor/internal/synth itself. The smallest plaintext one is
	// preferred: TLS flows carry no exchanges either tool could count.
	caps, _ := filepath.Glob(filepath.Join(os.TempDir(), "apitap-synth-v2-*.pcap"))
	if len(caps) == 0 {
		t.Skip("no synthetic capture in the temp dir: run make bench-core first")
	}
	pcap, best := "", int64(-1)
	for _, c := range caps {
		fi, err := os.Stat(c)
		if err != nil {
			continue
		}
		plain, bestPlain := !strings.Contains(c, "-tls"), !strings.Contains(pcap, "-tls")
		if best < 0 || (plain && !bestPlain) || (plain == bestPlain && fi.Size() < best) {
			pcap, best = c, fi.Size()
		}
	}
	t.Logf("replaying %s (%d MB), which holds %d HTTP requests (tshark -r)", pcap, best>>20,
		pcapHTTPRequests(t, pcap))
	replay := func(mbps string) {
		rate := []string{"--mbps", mbps}
		if mbps == "topspeed" {
			rate = []string{"--topspeed"}
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		args := append([]string{"-q", "-i", link.IfB}, append(rate, pcap)...)
		if out, err := cli.Command(ctx, "tcpreplay", args...).CombinedOutput(); err != nil {
			t.Fatalf("tcpreplay %s: %v\n%s", mbps, err, out)
		}
	}
	var rows []liveRow
	for _, mbps := range []string{"50", "200", "800", "topspeed"} {
		state := filepath.Join(dir, "state-"+mbps)
		conf := filepath.Join(dir, "bench-"+mbps+".yaml")
		findings := filepath.Join(dir, "findings-"+mbps)
		os.WriteFile(conf, []byte(fmt.Sprintf("state_dir: %q\nmetrics:\n  listen: \"off\"\n"+
			"output:\n  type: file\n  file:\n    path: %q\n", state, findings)), 0o600)
		exch := filepath.Join(dir, "exchanges-"+mbps+".jsonl")
		p := startDaemon(t, srv, "run", "--config", conf, "-i", link.IfA, "--exchanges", exch,
			"--emit-interval", "5s")
		pid := p.Cmd.Process.Pid
		cpu0 := treeCPUSeconds(pid)
		replay(mbps)
		stopDaemon(t, p)
		cpu, rss := exitCPUSeconds(t, p)
		cpu -= cpu0
		drops, shed := 0, 0
		if i := strings.Index(p.Output(), "kernel_drops="); i >= 0 {
			fmt.Sscanf(p.Output()[i+len("kernel_drops="):], "%d", &drops)
		}
		if i := strings.Index(p.Output(), "shed="); i >= 0 {
			fmt.Sscanf(p.Output()[i+len("shed="):], "%d", &shed)
		}
		n := countLines(t, exch)
		rows = append(rows, liveRow{rate: mbps, tool: "apitap", cpu: cpu, exchanges: n,
			detail: fmt.Sprintf("log lines, %d shed", shed), drops: drops, peakKB: rss})

		ts := startTshark(t, srv, link.IfA)
		pid = ts.proc.Cmd.Process.Pid
		cpu0 = treeCPUSeconds(pid)
		replay(mbps)
		live := treeCPUSeconds(pid) - cpu0
		rss = treePeakKB(pid)
		req, resp, tdrops := ts.stop(t)
		cpu, peak := exitCPUSeconds(t, ts.proc)
		cpu -= cpu0
		rss = max(rss, peak)
		t.Logf("tshark at %s: %.2f CPU s while the replay ran, %.2f s in all", mbps, live, cpu)
		rows = append(rows, liveRow{rate: mbps, tool: "tshark", cpu: cpu, exchanges: min(req, resp),
			detail: fmt.Sprintf("%d req / %d resp", req, resp), drops: tdrops, peakKB: rss})
		t.Logf("rate %s Mbit/s: apitap %d exchanges, tshark %d requests / %d responses", mbps,
			n, req, resp)
	}
	logLiveTable(t, rows)
}

// procCPUSeconds returns the user+system CPU time of pid.
func procCPUSeconds(t *testing.T, pid int) float64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		t.Fatal(err)
	}
	// Fields after the parenthesised comm: state is field 3, utime 14, stime 15.
	f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+2:]))
	ut, _ := strconv.ParseFloat(f[11], 64)
	st, _ := strconv.ParseFloat(f[12], 64)
	return (ut + st) / 100 // USER_HZ
}
