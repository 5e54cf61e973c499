package ebpf

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// lab is a pair of network namespaces joined by a veth pair, with private
// test addresses: srv 10.204.0.1 (veth end vs) and cli 10.204.0.2 (vc).
type lab struct {
	srv, cli     string // namespace names
	srvIf, cliIf string
	srvAddr      string
	cliAddr      string
	dir          string
}

func requireRoot(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("skipping: needs root to load BPF programs and create network namespaces")
	}
	if _, err := exec.LookPath("ip"); err != nil {
		t.Skip("skipping: iproute2 'ip' not installed")
	}
}

func run(t testing.TB, name string, args ...string) string {
	t.Helper()
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

func newLab(t testing.TB) *lab {
	t.Helper()
	requireRoot(t)
	var b [3]byte
	rand.Read(b[:])
	id := hex.EncodeToString(b[:])
	l := &lab{
		srv: "apg-s-" + id, cli: "apg-c-" + id,
		srvIf: "vs" + id, cliIf: "vc" + id,
		srvAddr: "10.204.0.1", cliAddr: "10.204.0.2",
		dir: t.TempDir(),
	}
	run(t, "ip", "netns", "add", l.srv)
	t.Cleanup(func() { exec.Command("ip", "netns", "del", l.srv).Run() })
	run(t, "ip", "netns", "add", l.cli)
	t.Cleanup(func() { exec.Command("ip", "netns", "del", l.cli).Run() })
	run(t, "ip", "link", "add", l.srvIf, "netns", l.srv, "type", "veth",
		"peer", "name", l.cliIf, "netns", l.cli)
	for _, s := range []struct{ ns, ifc, addr string }{
		{l.srv, l.srvIf, l.srvAddr}, {l.cli, l.cliIf, l.cliAddr},
	} {
		run(t, "ip", "-n", s.ns, "addr", "add", s.addr+"/24", "dev", s.ifc)
		run(t, "ip", "-n", s.ns, "link", "set", s.ifc, "up")
		run(t, "ip", "-n", s.ns, "link", "set", "lo", "up")
	}
	return l
}

func (l *lab) nsPath(ns string) string { return "/var/run/netns/" + ns }

// startNginx serves /hello on 8080 (plain) and 8443 (TLS, self-signed cert
// made here) in the srv namespace, and echoes POST bodies' size via a 200.
func (l *lab) startNginx(t testing.TB) {
	t.Helper()
	if _, err := exec.LookPath("nginx"); err != nil {
		t.Skip("skipping: nginx not installed")
	}
	cert, key := filepath.Join(l.dir, "cert.pem"), filepath.Join(l.dir, "key.pem")
	run(t, "openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
		"ec_paramgen_curve:prime256v1", "-nodes", "-days", "1", "-subj", "/CN=apitap.test",
		"-keyout", key, "-out", cert)
	os.WriteFile(filepath.Join(l.dir, "hello"), []byte("hello from nginx\n"), 0o644)
	conf := fmt.Sprintf(`
worker_processes 1;
daemon off;
master_process off;
user root;
pid %[1]s/nginx.pid;
error_log %[1]s/error.log;
events { worker_connections 64; }
http {
    access_log off;
    client_body_temp_path %[1]s;
    proxy_temp_path %[1]s;
    fastcgi_temp_path %[1]s;
    uwsgi_temp_path %[1]s;
    scgi_temp_path %[1]s;
    server {
        listen %[2]s:8080;
        listen %[2]s:8443 ssl;
        ssl_certificate %[3]s;
        ssl_certificate_key %[4]s;
        root %[1]s;
        location = /api/echo { return 200 '{"ok":true}'; }
    }
}
`, l.dir, l.srvAddr, cert, key)
	cf := filepath.Join(l.dir, "nginx.conf")
	os.WriteFile(cf, []byte(conf), 0o644)
	cmd := exec.Command("ip", "netns", "exec", l.srv, "nginx", "-c", cf, "-p", l.dir)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatalf("start nginx: %v", err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	// Wait (bounded) until nginx answers.
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		err := exec.Command("ip", "netns", "exec", l.cli, "curl", "-s", "-o", "/dev/null",
			"--max-time", "1", "http://"+l.srvAddr+":8080/hello").Run()
		if err == nil {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("nginx did not come up: %s", stderr.String())
}

// nginxPID is the pid of the nginx process (master_process off: one).
func (l *lab) nginxPID(t testing.TB) int {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(l.dir, "nginx.pid"))
	if err != nil {
		t.Fatalf("read nginx pid: %v", err)
	}
	var pid int
	if _, err := fmt.Sscan(string(b), &pid); err != nil {
		t.Fatalf("parse nginx pid %q: %v", b, err)
	}
	return pid
}

// curl runs curl in the cli namespace; it returns curl's pid and output.
func (l *lab) curl(t testing.TB, args ...string) (int, string) {
	t.Helper()
	cmd := exec.Command("ip", append([]string{"netns", "exec", l.cli, "curl", "-s",
		"--max-time", "5"}, args...)...)
	var out, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &stderr
	if err := cmd.Run(); err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			t.Fatalf("curl: %v: %s", err, stderr.String())
		}
		t.Fatalf("curl: %v", err)
	}
	// ip netns exec execs curl, so the pid is curl's.
	return cmd.Process.Pid, out.String()
}
