//go:build e2e

package lab

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// tlsNginx is the server block of the TLS lab: HTTPS on 8443 with a
// self-signed certificate (CERT, KEY), and the same API in plaintext on 8080.
const tlsNginx = `
	server {
		listen ADDR:8443 ssl;
		listen ADDR:8080;
		ssl_certificate CERT;
		ssl_certificate_key KEY;
		location = /api/v1/orders { return 201 '{"id":"o-1"}'; }
		location / { return 404 '{"error":"not found"}'; }
	}`

// writeCert writes a self-signed ECDSA certificate for ip and its key into
// dir and returns their paths.
func writeCert(t *testing.T, dir string, ip netip.Addr) (cert, key string) {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1),
		Subject: pkix.Name{CommonName: "api.lab.test"}, DNSNames: []string{"api.lab.test"},
		IPAddresses: []net.IP{ip.AsSlice()},
		NotBefore:   time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	cert, key = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(cert, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(key, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}), 0o600); err != nil {
		t.Fatal(err)
	}
	return cert, key
}

// tlsLab is nginx with HTTPS in srv, a client namespace, and a config.
type tlsLab struct {
	srv, cli *Namespace
	link     Link
	nginx    *Nginx
	dir      string
	conf     string
}

func newTLSLab(t *testing.T) *tlsLab {
	l := New(t)
	Require(t, "nginx", "curl", "go")
	srv, cli := l.Namespace("srv"), l.Namespace("cli")
	link := l.Link(srv, cli)
	dir := t.TempDir()
	cert, key := writeCert(t, dir, link.A)
	conf := NginxHTTP(strings.NewReplacer("ADDR", link.A.String(), "CERT", cert, "KEY", key).
		Replace(tlsNginx))
	ng := srv.NginxConfig(t, netip.AddrPortFrom(link.A, 8443), conf)
	cfg := filepath.Join(dir, "apitap.yaml")
	if err := os.WriteFile(cfg, []byte(fmt.Sprintf("state_dir: %q\nmetrics:\n  listen: \"off\"\n",
		filepath.Join(dir, "state"))), 0o600); err != nil {
		t.Fatal(err)
	}
	return &tlsLab{srv: srv, cli: cli, link: link, nginx: ng, dir: dir, conf: cfg}
}

// curl runs curl (OpenSSL) from the client namespace and returns its pid.
func (l *tlsLab) curl(t *testing.T, url string) int {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cmd := l.cli.Command(ctx, "curl", "-sk", "--http1.1", "-o", "/dev/null", "-w", "%{http_code}",
		"-H", "Authorization: Bearer lab-fake-token-0000000000000000",
		"-H", "Content-Type: application/json",
		"-d", `{"sku":"a-1","qty":2,"email":"lab@example.invalid"}`, url)
	var out bytes.Buffer
	cmd.Stdout = &out
	if err := cmd.Run(); err != nil {
		t.Fatalf("curl %s: %v", url, err)
	}
	if out.String() != "201" {
		t.Fatalf("curl %s: status %s; want 201", url, out.String())
	}
	return cmd.Process.Pid
}

// nginxWorker returns the pid of the nginx worker (the master's child).
func (l *tlsLab) nginxWorker(t *testing.T) int {
	t.Helper()
	master := l.nginx.Proc.Cmd.Process.Pid
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%d/children", master, master))
	if err != nil {
		t.Fatal(err)
	}
	f := strings.Fields(string(b))
	if len(f) != 1 {
		t.Fatalf("nginx master %d has children %q; want one worker", master, f)
	}
	pid, _ := strconv.Atoi(f[0])
	return pid
}

// exchangeLine is the part of an exchange JSON line the TLS tests check.
type exchangeLine struct {
	Client    *string `json:"client"` // nil when unknown
	Server    *string `json:"server"`
	Direction string  `json:"direction"`
	Method    string  `json:"method"`
	Path      string  `json:"path"`
	Status    int     `json:"status"`
	Protocol  string  `json:"protocol"`
	Process   *struct {
		PID  int    `json:"pid"`
		Comm string `json:"comm"`
	} `json:"process"`
}

func readExchanges(t *testing.T, path string) ([]exchangeLine, []byte) {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out []exchangeLine
	sc := bufio.NewScanner(bytes.NewReader(raw))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var ex exchangeLine
		if err := json.Unmarshal(sc.Bytes(), &ex); err != nil {
			t.Fatalf("exchange line %q: %v", sc.Text(), err)
		}
		out = append(out, ex)
	}
	return out, raw
}

// TestTLSE2E runs `apitap run --capture ebpf --tls` while curl posts JSON
// with a fake bearer token to nginx over HTTPS: the exchanges must come out
// in plaintext (method, path, status) as http/1.1+tls, attributed to curl
// and to the nginx worker with their pids, and the token must not appear.
func TestTLSE2E(t *testing.T) {
	l := newTLSLab(t)
	exch := filepath.Join(l.dir, "exchanges.jsonl")
	p := startDaemon(t, l.srv, "run", "--config", l.conf, "-i", l.link.IfA, "--capture", "ebpf",
		"--tls", "--exchanges", exch, "--emit-interval", "1s")
	out := p.Output()
	if !strings.Contains(out, "mode=ebpf-") {
		t.Skipf("eBPF capture is not available on this kernel; the fallback test covers "+
			"AF_PACKET. apitap said:\n%s", out)
	}
	if strings.Contains(out, "tls uprobes unavailable") {
		t.Fatalf("tls uprobes did not attach:\n%s", out)
	}

	worker := l.nginxWorker(t)
	curls := map[int]bool{}
	url := "https://" + netip.AddrPortFrom(l.link.A, 8443).String() + "/api/v1/orders"
	for range 5 {
		curls[l.curl(t, url)] = true
	}
	time.Sleep(1500 * time.Millisecond)
	stopDaemon(t, p)

	exs, raw := readExchanges(t, exch)
	if bytes.Contains(raw, []byte("lab-fake-token")) {
		t.Error("the exchange log holds the raw bearer token")
	}
	var fromCurl, fromNginx int
	lab := netip.AddrPortFrom(l.link.A, 8443).String()
	for _, ex := range exs {
		// The uprobes see every process on the machine, other tests' too:
		// only the lab server's exchanges are this test's.
		if ex.Protocol != "http/1.1+tls" || ex.Server == nil || *ex.Server != lab {
			continue
		}
		if ex.Method != "POST" || ex.Path != "/api/v1/orders" || ex.Status != 201 {
			t.Errorf("tls exchange %s %s %d; want POST /api/v1/orders 201", ex.Method, ex.Path,
				ex.Status)
		}
		switch {
		case ex.Process == nil:
			t.Errorf("tls exchange without a process: %+v", ex)
		case ex.Process.Comm == "curl" && curls[ex.Process.PID]:
			fromCurl++
		case ex.Process.Comm == "nginx" && ex.Process.PID == worker:
			fromNginx++
		default:
			t.Errorf("tls exchange attributed to %s pid %d; want curl %v or nginx %d",
				ex.Process.Comm, ex.Process.PID, curls, worker)
		}
	}
	t.Logf("%d exchanges: %d from curl, %d from nginx", len(exs), fromCurl, fromNginx)
	if fromCurl != 5 || fromNginx != 5 {
		t.Errorf("http/1.1+tls exchanges: %d from curl, %d from nginx; want 5 and 5",
			fromCurl, fromNginx)
	}
}

// TestTLSFallbackE2E runs the same command with eBPF taken away (setpriv
// drops CAP_BPF, CAP_PERFMON and CAP_SYS_ADMIN from the bounding set, so
// the kernel refuses to load programs): apitap must say once that it falls
// back to AF_PACKET, and still report the plaintext exchanges.
func TestTLSFallbackE2E(t *testing.T) {
	Require(t, "setpriv")
	l := newTLSLab(t)
	exch := filepath.Join(l.dir, "exchanges.jsonl")
	p := l.srv.Start(t, "setpriv", "--bounding-set", "-bpf,-perfmon,-sys_admin", "--",
		buildDaemon(t), "run", "--config", l.conf, "-i", l.link.IfA, "--capture", "ebpf", "--tls",
		"--exchanges", exch, "--emit-interval", "1s")
	waitOutput(t, p, `msg="capture attached"`, 20*time.Second)
	out := p.Output()
	if n := strings.Count(out, "ebpf capture unavailable, capturing with afpacket instead"); n != 1 {
		t.Errorf("fallback announced %d times; want once:\n%s", n, out)
	}
	if !strings.Contains(out, "mode=afpacket") {
		t.Errorf("capture mode not afpacket after the fallback:\n%s", out)
	}
	url := "http://" + netip.AddrPortFrom(l.link.A, 8080).String() + "/api/v1/orders"
	for range 3 {
		l.curl(t, url)
	}
	time.Sleep(1500 * time.Millisecond)
	stopDaemon(t, p)
	exs, _ := readExchanges(t, exch)
	plain := 0
	for _, ex := range exs {
		if ex.Method == "POST" && ex.Path == "/api/v1/orders" && ex.Status == 201 &&
			ex.Protocol == "http/1.1" {
			plain++
		}
	}
	if plain != 3 {
		t.Errorf("afpacket fallback reported %d plaintext POSTs; want 3 (%d exchanges)", plain, len(exs))
	}
}

// TestGoTLSE2E runs `apitap run --capture ebpf --tls` while a Go program,
// started after it, serves HTTPS and calls itself with a fake bearer
// token, over HTTP/1.1 and then, in a second process, over HTTP/2: the
// daemon probes the program when it first starts, and the exchanges of
// both its sides come out in plaintext, attributed to its pid, without the
// token.
func TestGoTLSE2E(t *testing.T) {
	l := newTLSLab(t)
	bin := filepath.Join(l.dir, "gotls")
	build := exec.Command("go", "build", "-o", bin, "./sensor/ebpf/testdata/gotls")
	build.Dir = "../.."
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build the Go TLS program: %v\n%s", err, out)
	}
	exch := filepath.Join(l.dir, "exchanges.jsonl")
	p := startDaemon(t, l.srv, "run", "--config", l.conf, "-i", l.link.IfA, "--capture", "ebpf",
		"--tls", "--exchanges", exch, "--emit-interval", "1s")
	if out := p.Output(); !strings.Contains(out, "mode=ebpf-") {
		t.Skipf("eBPF capture is not available on this kernel:\n%s", out)
	}

	const calls = 5
	protocol := map[int]string{} // pid → the protocol its exchanges must carry
	for i, v := range []struct{ arg, protocol string }{
		{"", "http/1.1+tls"},
		{"h2", "h2+tls"},
	} {
		args := []string{strconv.Itoa(calls), "lab-fake-token-1111111111111111"}
		if v.arg != "" {
			args = append(args, v.arg)
		}
		pid := runTLSProgram(t, l, bin, args, func(pid int) {
			if i == 0 {
				// The exec notice has the daemon probe the new program.
				waitOutput(t, p, "path=/proc/"+strconv.Itoa(pid)+"/root", 10*time.Second)
			} else {
				// Probed already (uprobes hold for the file); give the
				// daemon a moment to learn the new process's layout.
				time.Sleep(500 * time.Millisecond)
			}
		})
		protocol[pid] = v.protocol
	}
	time.Sleep(1500 * time.Millisecond)
	stopDaemon(t, p)
	if strings.Contains(p.Output(), buildDaemon(t)+" probes=") {
		t.Error("apitap probed its own executable")
	}

	exs, raw := readExchanges(t, exch)
	if bytes.Contains(raw, []byte("lab-fake-token")) {
		t.Error("the exchange log holds the raw bearer token")
	}
	seen := map[int]int{}
	for _, ex := range exs {
		// The uprobes see every process on the machine, other tests' too
		// (the program talks over loopback, like theirs): only its own
		// exchanges are this test's.
		if !strings.HasSuffix(ex.Protocol, "+tls") || ex.Process == nil ||
			protocol[ex.Process.PID] == "" {
			continue
		}
		if want := protocol[ex.Process.PID]; ex.Method != "POST" ||
			!strings.HasPrefix(ex.Path, "/api/items/") || ex.Status != 200 || ex.Protocol != want {
			t.Errorf("exchange %s %s %d %s; want POST /api/items/N 200 %s", ex.Method, ex.Path,
				ex.Status, ex.Protocol, want)
		}
		seen[ex.Process.PID]++
	}
	// Each program is client and server: each call is seen from both ends.
	for pid, proto := range protocol {
		if seen[pid] != 2*calls {
			t.Errorf("%s: %d exchanges from the Go program; want %d (%d exchanges in all)",
				proto, seen[pid], 2*calls, len(exs))
		}
	}
}

// runTLSProgram runs a test program of sensor/ebpf/testdata in the client
// namespace: once it has printed its address, ready(pid) runs, and then its
// calls. It returns the program's pid after the calls are done.
func runTLSProgram(t *testing.T, l *tlsLab, name string, args []string, ready func(int)) int {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := l.cli.Command(ctx, name, args...)
	stdin, _ := cmd.StdinPipe()
	stdout, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		stdin.Close()
		cmd.Wait()
	}()
	lines := bufio.NewScanner(stdout)
	if !lines.Scan() {
		t.Fatalf("%s printed no address", name)
	}
	ready(cmd.Process.Pid)
	stdin.Write([]byte("go\n"))
	if !lines.Scan() || lines.Text() != "done" {
		t.Fatalf("%s did not finish: %q", name, lines.Text())
	}
	return cmd.Process.Pid
}

// TestNodeTLSE2E runs `apitap run --capture ebpf --tls` while Node.js, whose
// OpenSSL is linked into its own executable, serves HTTPS and calls itself:
// its exchanges come out in plaintext, attributed to it. Node reads and
// writes its sockets outside the TLS calls, so they carry no addresses, and
// the side that wrote each request says which way it went.
func TestNodeTLSE2E(t *testing.T) {
	Require(t, "node")
	l := newTLSLab(t)
	cert, key := writeCert(t, t.TempDir(), netip.MustParseAddr("127.0.0.1"))
	exch := filepath.Join(l.dir, "exchanges.jsonl")
	p := startDaemon(t, l.srv, "run", "--config", l.conf, "-i", l.link.IfA, "--capture", "ebpf",
		"--tls", "--exchanges", exch, "--emit-interval", "1s")
	if out := p.Output(); !strings.Contains(out, "mode=ebpf-") {
		t.Skipf("eBPF capture is not available on this kernel:\n%s", out)
	}
	script, err := filepath.Abs("../../sensor/ebpf/testdata/nodetls/main.js")
	if err != nil {
		t.Fatal(err)
	}
	const calls = 5
	pid := runTLSProgram(t, l, "node", []string{script, strconv.Itoa(calls),
		"lab-fake-token-2222222222222222", cert, key}, func(pid int) {
		waitOutput(t, p, "path=/proc/"+strconv.Itoa(pid)+"/root", 10*time.Second)
	})
	time.Sleep(1500 * time.Millisecond)
	stopDaemon(t, p)

	exs, raw := readExchanges(t, exch)
	if bytes.Contains(raw, []byte("lab-fake-token")) {
		t.Error("the exchange log holds the raw bearer token")
	}
	dirs := map[string]int{}
	for _, ex := range exs {
		if ex.Process == nil || ex.Process.PID != pid {
			continue // other processes on the machine, other tests' too
		}
		if ex.Protocol != "http/1.1+tls" || ex.Method != "POST" ||
			!strings.HasPrefix(ex.Path, "/api/items/") || ex.Status != 200 {
			t.Errorf("node exchange %s %s %s %d; want http/1.1+tls POST /api/items/N 200",
				ex.Protocol, ex.Method, ex.Path, ex.Status)
		}
		if ex.Client != nil || ex.Server != nil {
			t.Errorf("node exchange with addresses %v %v; want none", *ex.Client, *ex.Server)
		}
		dirs[ex.Direction]++
	}
	if dirs["outbound"] != calls || dirs["inbound"] != calls {
		t.Errorf("node exchanges by direction %v; want %d outbound and %d inbound", dirs, calls,
			calls)
	}
}
