//go:build e2e

package lab

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/link"
	"golang.org/x/sys/unix"
)

// TestSocketAttributionE2E checks that flows seen by packet capture carry
// their process: curl in the client namespace calls nginx in the server
// namespace, `apitap run` captures on the client's veth (AF_PACKET, then the
// eBPF classifier), and every exchange it reports must name curl and the
// pid of the curl run that made the call.
func TestSocketAttributionE2E(t *testing.T) {
	l := New(t)
	Require(t, "nginx", "curl", "go")
	srv, cli := l.Namespace("srv"), l.Namespace("cli")
	ln := l.Link(srv, cli)
	ng := srv.Nginx(t, netip.AddrPortFrom(ln.A, 8080), `location / { return 200 "ok\n"; }`)

	for _, mode := range []string{"afpacket", "ebpf"} {
		t.Run(mode, func(t *testing.T) {
			dir := t.TempDir()
			conf := filepath.Join(dir, "apitap.yaml")
			os.WriteFile(conf, []byte(fmt.Sprintf("state_dir: %q\nmetrics:\n  listen: \"off\"\n",
				filepath.Join(dir, "state"))), 0o600)
			exch := filepath.Join(dir, "exchanges.jsonl")
			p := startDaemon(t, cli, "run", "--config", conf, "--capture", mode, "-i", ln.IfB,
				"--exchanges", exch, "--emit-interval", "1s")
			if !strings.Contains(p.Output(), "socket owner map attached") {
				t.Fatalf("apitap did not attach the socket owner map:\n%s", p.Output())
			}

			const n = 5
			pids := map[int]string{} // pid -> path it asked for
			for i := range n {
				path := fmt.Sprintf("/attr/%s/%d", mode, i)
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				cmd := cli.Command(ctx, "curl", "-sS", "-o", "/dev/null",
					"http://"+ng.Addr.String()+path)
				out, err := cmd.CombinedOutput()
				cancel()
				if err != nil {
					t.Fatalf("curl %s: %v\n%s", path, err, out)
				}
				pids[cmd.Process.Pid] = path
			}
			for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); {
				if countLines(t, exch) >= n {
					break
				}
				time.Sleep(200 * time.Millisecond)
			}
			stopDaemon(t, p)

			type record struct {
				Path    string `json:"path"`
				Process *struct {
					PID  int    `json:"pid"`
					Comm string `json:"comm"`
				} `json:"process"`
			}
			seen := map[string]bool{}
			b, _ := os.ReadFile(exch)
			sc := bufio.NewScanner(bytes.NewReader(b))
			sc.Buffer(nil, 1<<20)
			for sc.Scan() {
				var r record
				if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
					t.Fatalf("exchange line %q: %v", sc.Text(), err)
				}
				if !strings.HasPrefix(r.Path, "/attr/") {
					continue
				}
				switch {
				case r.Process == nil:
					t.Errorf("exchange %s has no process; want curl", r.Path)
				case r.Process.Comm != "curl":
					t.Errorf("exchange %s: comm %q; want curl", r.Path, r.Process.Comm)
				case pids[r.Process.PID] != r.Path:
					t.Errorf("exchange %s: pid %d, which asked for %q; want the pid of its curl",
						r.Path, r.Process.PID, pids[r.Process.PID])
				default:
					seen[r.Path] = true
				}
			}
			if len(seen) != n {
				t.Errorf("%d of %d curl calls reported with their process:\n%s", len(seen), n,
					p.Output())
			}
		})
	}
}

// TestCaptureModesCountE2E checks that TCX and AF_PACKET capture count the
// same traffic the same way: a Go client in one namespace makes 100 calls to
// nginx in another over a veth pair (half on one keep-alive connection,
// half on a new connection each), `apitap run --capture ebpf` and then
// `--capture afpacket` watch the server's end, and each must report exactly
// one exchange per call, with the call's path and nginx's status.
func TestCaptureModesCountE2E(t *testing.T) {
	l := New(t)
	Require(t, "nginx", "go")
	srv, cli := l.Namespace("srv"), l.Namespace("cli")
	ln := l.Link(srv, cli)
	ng := srv.Nginx(t, netip.AddrPortFrom(ln.A, 8080),
		`location / { return 200 "{\"ok\":true}"; }`)

	const n = 100
	got := map[string]int{}
	for _, mode := range []string{"ebpf", "afpacket"} {
		dir := t.TempDir()
		conf := filepath.Join(dir, "apitap.yaml")
		os.WriteFile(conf, []byte(fmt.Sprintf("state_dir: %q\nmetrics:\n  listen: \"off\"\n",
			filepath.Join(dir, "state"))), 0o600)
		exch := filepath.Join(dir, "exchanges.jsonl")
		p := startDaemon(t, srv, "run", "--config", conf, "--capture", mode, "-i", ln.IfA,
			"--exchanges", exch, "--emit-interval", "1s")
		want := "mode=" + mode + " "
		if mode == "ebpf" {
			if strings.Contains(p.Output(), "mode=ebpf-tc ") {
				t.Skip("this kernel has no TCX (apitap attached a legacy tc classifier)")
			}
			want = "mode=ebpf-tcx "
		}
		if !strings.Contains(p.Output(), want) {
			t.Fatalf("%s capture: no %q in apitap's output (a fallback?):\n%s", mode, want,
				p.Output())
		}

		keep := &http.Client{Timeout: 5 * time.Second,
			Transport: &http.Transport{DialContext: cli.DialContext}}
		fresh := &http.Client{Timeout: 5 * time.Second,
			Transport: &http.Transport{DialContext: cli.DialContext, DisableKeepAlives: true}}
		answered := 0
		for i := range n {
			hc := keep
			if i%2 == 1 {
				hc = fresh
			}
			resp, err := hc.Get(fmt.Sprintf("http://%s/count/%s/%d", ng.Addr, mode, i))
			if err != nil {
				t.Fatalf("%s: call %d: %v", mode, i, err)
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == 200 {
				answered++
			}
		}
		keep.CloseIdleConnections()
		if answered != n {
			t.Fatalf("%s: nginx answered %d of %d calls with 200", mode, answered, n)
		}
		for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); {
			if countLines(t, exch) >= n {
				break
			}
			time.Sleep(200 * time.Millisecond)
		}
		stopDaemon(t, p)

		type record struct {
			Method string `json:"method"`
			Path   string `json:"path"`
			Status int    `json:"status"`
		}
		seen := map[string]int{}
		lines := 0
		b, _ := os.ReadFile(exch)
		sc := bufio.NewScanner(bytes.NewReader(b))
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			lines++
			var r record
			if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
				t.Fatalf("%s: exchange line %q: %v", mode, sc.Text(), err)
			}
			if r.Method != "GET" || r.Status != 200 {
				t.Errorf("%s: exchange %s %s status %d; want GET with 200", mode, r.Method,
					r.Path, r.Status)
			}
			seen[r.Path]++
		}
		for i := range n {
			path := fmt.Sprintf("/count/%s/%d", mode, i)
			if k := seen[path]; k != 1 {
				t.Errorf("%s: %s reported %d times; want once", mode, path, k)
			}
		}
		if lines != n {
			t.Errorf("%s capture reported %d exchanges; the client made %d calls", mode, lines, n)
		}
		got[mode] = lines
	}
	if got["ebpf"] != got["afpacket"] {
		t.Errorf("TCX reported %d exchanges, AF_PACKET %d, for the same %d calls",
			got["ebpf"], got["afpacket"], n)
	}
	t.Logf("%d calls: TCX %d exchanges, AF_PACKET %d", n, got["ebpf"], got["afpacket"])
}

// benchRun is one measured `apitap run`.
type benchRun struct {
	label     string
	seconds   float64
	requests  int64   // answered by nginx, as the client counts
	bulkMB    float64 // non-HTTP bytes sent
	cpu       float64 // apitap user+system seconds during the load
	bpfCPU    float64 // run time of the classifier programs (eBPF runs)
	exchanges int
	drops     float64 // apitap_kernel_drops_total (AF_PACKET socket or eBPF ring)
}

// TestEBPFBenchE2E compares the CPU apitap needs with the eBPF (TCX)
// classifier against AF_PACKET on the same traffic: nginx answering a paced
// HTTP client on one port, mixed with a paced non-HTTP bulk stream on
// another port that the capture filter includes too, so that the kernel must
// classify it. Then it drives the eBPF mode as fast as this host can, to
// look for ring-buffer drops. It runs only with APITAP_BENCH_EBPF=1; the
// numbers are logged as a table, not checked. APITAP_BENCH_RPS,
// APITAP_BENCH_BULK_MBPS and APITAP_BENCH_SECONDS tune the paced runs
// (defaults 1000 requests/s, 20 MB/s, 10 s).
func TestEBPFBenchE2E(t *testing.T) {
	if os.Getenv("APITAP_BENCH_EBPF") == "" {
		t.Skip("set APITAP_BENCH_EBPF=1 (make bench-ebpf) to run the eBPF vs AF_PACKET benchmark")
	}
	l := New(t)
	Require(t, "nginx", "go")
	rps := envInt("APITAP_BENCH_RPS", 1000)
	bulkMBps := envInt("APITAP_BENCH_BULK_MBPS", 20)
	secs := envInt("APITAP_BENCH_SECONDS", 10)
	srv, cli := l.Namespace("srv"), l.Namespace("cli")
	ln := l.Link(srv, cli)
	ng := srv.Nginx(t, netip.AddrPortFrom(ln.A, 8080),
		`location / { return 200 "{\"ok\":true,\"pad\":\"0123456789abcdef0123456789abcdef\"}"; }`)
	startSink(t, srv, netip.AddrPortFrom(ln.A, 9000))

	// Runtime statistics of BPF programs are off by default; holding this
	// fd keeps them on until the test ends.
	stats, err := ebpf.EnableStats(uint32(unix.BPF_STATS_RUN_TIME))
	if err != nil {
		t.Logf("BPF run-time statistics unavailable (%v): classifier CPU not measured", err)
	} else {
		defer stats.Close()
	}

	dir := t.TempDir()
	var runs []benchRun
	do := func(label, mode string, paced bool) {
		r := benchOnce(t, srv, cli, ln, ng.Addr, dir, label, mode, paced, rps, bulkMBps,
			time.Duration(secs)*time.Second)
		runs = append(runs, r)
	}
	do("afpacket paced", "afpacket", true)
	do("ebpf paced", "ebpf", true)
	do("afpacket top", "afpacket", false)
	do("ebpf top", "ebpf", false)

	t.Logf("%-16s %8s %8s %9s %9s %9s %10s %8s", "run", "req/s", "bulkMB/s", "exchanges",
		"apitapCPU", "bpfCPU", "CPU/1k req", "drops")
	for _, r := range runs {
		t.Logf("%-16s %8.0f %8.1f %9d %8.2fs %8.3fs %9.2fms %8.0f", r.label,
			float64(r.requests)/r.seconds, r.bulkMB/r.seconds, r.exchanges, r.cpu, r.bpfCPU,
			(r.cpu+r.bpfCPU)/float64(max(r.requests, 1))*1e6, r.drops)
	}
	af, eb := runs[0], runs[1]
	if af.cpu > 0 {
		t.Logf("paced at %d req/s + %d MB/s bulk: CPU(TCX)/CPU(AF_PACKET) = %.2f for apitap "+
			"alone, %.2f counting the classifier's own run time", rps, bulkMBps, eb.cpu/af.cpu,
			(eb.cpu+eb.bpfCPU)/af.cpu)
	}
}

// benchOnce starts apitap in srv on the server's veth, drives the load from
// cli for d, and measures.
func benchOnce(t *testing.T, srv, cli *Namespace, ln Link, api netip.AddrPort, dir, label,
	mode string, paced bool, rps, bulkMBps int, d time.Duration) benchRun {
	t.Helper()
	name := strings.ReplaceAll(label, " ", "-")
	metricsAddr := netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), 19090).String()
	conf := filepath.Join(dir, name+".yaml")
	os.WriteFile(conf, []byte(fmt.Sprintf(`state_dir: %q
capture:
  filter:
    ports: [8080, 9000]
metrics:
  listen: %q
output:
  type: file
  file:
    path: %q
`, filepath.Join(dir, "state-"+name), metricsAddr, filepath.Join(dir, "findings-"+name))), 0o600)
	exch := filepath.Join(dir, "exchanges-"+name+".jsonl")
	p := startDaemon(t, srv, "run", "--config", conf, "--capture", mode, "-i", ln.IfA,
		"--exchanges", exch, "--emit-interval", "2s")
	if mode == "ebpf" && !strings.Contains(p.Output(), "mode=ebpf-") {
		t.Fatalf("apitap fell back from ebpf capture:\n%s", p.Output())
	}
	time.Sleep(300 * time.Millisecond) // let start-up work (BTF, verifier) settle
	pid := p.Cmd.Process.Pid
	cpu0 := procCPUSeconds(t, pid)
	bpf0 := classifierRunTime(t, srv, ln.IfA)

	r := benchRun{label: label}
	start := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	var wg sync.WaitGroup
	var sent atomic.Int64
	wg.Add(2)
	go func() { defer wg.Done(); r.requests = httpLoad(ctx, cli, api, paced, rps) }()
	go func() {
		defer wg.Done()
		sent.Store(bulkLoad(ctx, cli, netip.AddrPortFrom(api.Addr(), 9000), paced, bulkMBps))
	}()
	wg.Wait()
	cancel()
	r.seconds = time.Since(start).Seconds()
	r.bulkMB = float64(sent.Load()) / 1e6
	time.Sleep(500 * time.Millisecond) // let apitap drain its ring
	r.cpu = procCPUSeconds(t, pid) - cpu0
	r.bpfCPU = (classifierRunTime(t, srv, ln.IfA) - bpf0).Seconds()
	m := scrapeMetrics(t, srv, metricsAddr)
	for k, v := range m {
		if strings.HasPrefix(k, "apitap_kernel_drops_total") {
			r.drops += v
		}
	}
	stopDaemon(t, p)
	r.exchanges = countLines(t, exch)
	return r
}

// httpLoad calls GET api until ctx ends, over 8 keep-alive connections,
// paced to rps in total or (paced false) as fast as they can. It returns the
// answered calls.
func httpLoad(ctx context.Context, ns *Namespace, api netip.AddrPort, paced bool,
	rps int) int64 {
	const conns = 8
	hc := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{
		DialContext: ns.DialContext, MaxIdleConnsPerHost: conns}}
	defer hc.CloseIdleConnections()
	tokens := make(chan struct{}, conns)
	if paced {
		// A token every 1/rps, delivered per 5 ms tick so the ticker
		// itself costs little; tokens not taken in time are dropped, so a
		// slow run shows a lower rate instead of a burst.
		go func() {
			tick := time.NewTicker(5 * time.Millisecond)
			defer tick.Stop()
			start, given := time.Now(), 0
			for {
				select {
				case <-ctx.Done():
					return
				case now := <-tick.C:
					due := int(now.Sub(start).Seconds() * float64(rps))
					for ; given < due; given++ {
						select {
						case tokens <- struct{}{}:
						default:
						}
					}
				}
			}
		}()
	}
	var ok atomic.Int64
	var wg sync.WaitGroup
	for i := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := 0; ctx.Err() == nil; n++ {
				if paced {
					select {
					case <-ctx.Done():
						return
					case <-tokens:
					}
				}
				req, _ := http.NewRequestWithContext(ctx, "GET",
					fmt.Sprintf("http://%s/api/v1/items/%d?c=%d", api, n%500, i), nil)
				req.Host = "bench.lab.test"
				resp, err := hc.Do(req)
				if err != nil {
					continue
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode == 200 {
					ok.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	return ok.Load()
}

// bulkLoad streams random bytes to addr over 4 connections until ctx ends,
// paced to mbps MB/s in total or as fast as possible. It returns the bytes
// written.
func bulkLoad(ctx context.Context, ns *Namespace, addr netip.AddrPort, paced bool,
	mbps int) int64 {
	const conns = 4
	buf := make([]byte, 64<<10)
	rand.Read(buf)
	buf[0] = 0x00 // neither an HTTP method nor a TLS record: the classifier skips the flow
	var total atomic.Int64
	var wg sync.WaitGroup
	for range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := ns.DialContext(ctx, "tcp", addr.String())
			if err != nil {
				return
			}
			defer c.Close()
			perConn := float64(mbps) * 1e6 / conns
			start, sent := time.Now(), int64(0)
			for ctx.Err() == nil {
				if paced {
					due := int64(time.Since(start).Seconds() * perConn)
					if sent >= due {
						time.Sleep(2 * time.Millisecond)
						continue
					}
				}
				c.SetWriteDeadline(time.Now().Add(time.Second))
				n, err := c.Write(buf)
				sent += int64(n)
				total.Add(int64(n))
				if err != nil && !isTimeout(err) {
					return
				}
			}
		}()
	}
	wg.Wait()
	return total.Load()
}

func isTimeout(err error) bool {
	ne, ok := err.(net.Error)
	return ok && ne.Timeout()
}

// startSink accepts connections on addr inside ns and discards what they
// send, until the test ends.
func startSink(t *testing.T, ns *Namespace, addr netip.AddrPort) {
	t.Helper()
	var lis net.Listener
	if err := ns.Do(func() error {
		var err error
		lis, err = net.Listen("tcp", addr.String())
		return err
	}); err != nil {
		t.Fatalf("listen %s in %s: %v", addr, ns.Name, err)
	}
	t.Cleanup(func() { lis.Close() })
	go func() {
		for {
			c, err := lis.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				io.Copy(io.Discard, c)
			}()
		}
	}()
}

// classifierRunTime sums the run time of the TCX programs attached to iface
// in ns (zero when none are, or when statistics are off).
func classifierRunTime(t *testing.T, ns *Namespace, iface string) time.Duration {
	t.Helper()
	var total time.Duration
	ns.Do(func() error {
		ifc, err := net.InterfaceByName(iface)
		if err != nil {
			return err
		}
		for _, at := range []ebpf.AttachType{ebpf.AttachTCXIngress, ebpf.AttachTCXEgress} {
			res, err := link.QueryPrograms(link.QueryOptions{Target: ifc.Index, Attach: at})
			if err != nil {
				continue
			}
			for _, ap := range res.Programs {
				prog, err := ebpf.NewProgramFromID(ap.ID)
				if err != nil {
					continue
				}
				if st, err := prog.Stats(); err == nil {
					total += st.Runtime
				}
				prog.Close()
			}
		}
		return nil
	})
	return total
}

// scrapeMetrics reads apitap's /metrics inside ns into "name{labels}" ->
// value.
func scrapeMetrics(t *testing.T, ns *Namespace, addr string) map[string]float64 {
	t.Helper()
	hc := &http.Client{Timeout: 5 * time.Second,
		Transport: &http.Transport{DialContext: ns.DialContext}}
	defer hc.CloseIdleConnections()
	resp, err := hc.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Errorf("scrape %s: %v", addr, err)
		return nil
	}
	defer resp.Body.Close()
	out := map[string]float64{}
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		if i < 0 {
			continue
		}
		if v, err := strconv.ParseFloat(line[i+1:], 64); err == nil {
			out[line[:i]] = v
		}
	}
	return out
}

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}
