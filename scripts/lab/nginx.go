package lab

import (
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// Nginx is an nginx master process running in a namespace.
type Nginx struct {
	// Addr is where it listens.
	Addr netip.AddrPort
	// Dir holds nginx.conf, error.log and the temp paths.
	Dir  string
	Proc *Process
}

// Nginx starts nginx in the namespace, listening on addr, with server as the
// body of its single server block (locations, return directives, …). The
// surrounding config sets one worker, JSON as default type and puts every
// file nginx writes in a temp dir. It waits until addr accepts connections
// and fails t otherwise, showing nginx's error log. nginx is stopped at the
// end of t. It skips t when nginx is not installed.
func (ns *Namespace) Nginx(t testing.TB, addr netip.AddrPort, server string) *Nginx {
	t.Helper()
	conf := NginxHTTP(fmt.Sprintf("\tserver {\n\t\tlisten %s;\n\t\t%s\n\t}", addr, server))
	return ns.NginxConfig(t, addr, conf)
}

// nginxHead is the part of every lab nginx.conf before the server blocks:
// one worker, pid, logs and temp files in the config's own directory
// ("%[1]s", filled in by NginxConfig), no access log, JSON by default.
const nginxHead = `
user root;
worker_processes 1;
pid %[1]s/nginx.pid;
error_log %[1]s/error.log warn;
events { worker_connections 256; }
http {
	access_log off;
	client_body_temp_path %[1]s/body;
	proxy_temp_path %[1]s/proxy;
	fastcgi_temp_path %[1]s/fastcgi;
	uwsgi_temp_path %[1]s/uwsgi;
	scgi_temp_path %[1]s/scgi;
	default_type application/json;
`

// NginxHTTP returns a complete nginx.conf for NginxConfig: the lab's
// settings around the given server blocks.
func NginxHTTP(servers string) string { return nginxHead + servers + "\n}\n" }

// NginxConfig is Nginx with a complete nginx.conf of the caller's. Every
// "%[1]s" in conf is replaced by the temp dir (for pid, logs and temp
// paths); conf must not set `daemon`, which the lab sets to off.
func (ns *Namespace) NginxConfig(t testing.TB, addr netip.AddrPort, conf string) *Nginx {
	t.Helper()
	Require(t, "nginx")
	dir := t.TempDir()
	conf = strings.ReplaceAll(conf, "%[1]s", dir)
	path := filepath.Join(dir, "nginx.conf")
	if err := os.WriteFile(path, []byte(conf), 0o644); err != nil {
		t.Fatalf("lab: write nginx config: %v", err)
	}

	p, err := ns.start("nginx", []string{"-p", dir, "-e", filepath.Join(dir, "error.log"),
		"-c", path, "-g", "daemon off;"}, nil)
	if err != nil {
		t.Fatalf("lab: start nginx in %s: %v", ns.Name, err)
	}
	// SIGQUIT is nginx's graceful shutdown; workers exit with the master.
	t.Cleanup(func() { _ = p.Stop(syscall.SIGQUIT) })

	if err := ns.waitDial(addr.String(), func() bool { return !p.Exited() }); err != nil {
		log, _ := os.ReadFile(filepath.Join(dir, "error.log"))
		t.Fatalf("lab: nginx on %s in %s: %v\noutput: %s\nerror.log: %s",
			addr, ns.Name, err, p.Output(), log)
	}
	return &Nginx{Addr: addr, Dir: dir, Proc: p}
}
