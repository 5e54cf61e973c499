package lab

import (
	"context"
	"fmt"
	"maps"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Dnsmasq is a dnsmasq process answering for a fixed set of names inside a
// namespace.
type Dnsmasq struct {
	// Addr is the address it listens on, UDP and TCP port 53.
	Addr netip.Addr
	Proc *Process
}

// Dnsmasq starts dnsmasq in the namespace, listening on addr port 53 and
// answering only for hosts (name → address): it reads neither the host's
// /etc/hosts nor its resolv.conf and forwards nothing, so a name the test did
// not list gets no answer and no query ever leaves the lab. It returns once
// dnsmasq answers for one of the names, and fails t otherwise. It skips t
// when dnsmasq is missing; dnsmasq is stopped at the end of t.
func (ns *Namespace) Dnsmasq(t testing.TB, addr netip.Addr, hosts map[string]netip.Addr) *Dnsmasq {
	t.Helper()
	Require(t, "dnsmasq")
	if len(hosts) == 0 {
		t.Fatal("lab: dnsmasq needs at least one host")
	}
	names := slices.Sorted(maps.Keys(hosts))
	var b strings.Builder
	for _, n := range names {
		fmt.Fprintf(&b, "%s %s\n", hosts[n], n)
	}
	dir := t.TempDir()
	hostsFile := filepath.Join(dir, "hosts")
	if err := os.WriteFile(hostsFile, []byte(b.String()), 0o644); err != nil {
		t.Fatalf("lab: write dnsmasq hosts: %v", err)
	}

	// --user=root: dnsmasq otherwise drops to nobody, who cannot read the
	// root-only temp dir. --conf-file=/dev/null keeps the host's own
	// /etc/dnsmasq.conf (if any) out of the lab.
	args := []string{"--keep-in-foreground", "--conf-file=/dev/null", "--user=root",
		"--no-resolv", "--no-hosts", "--addn-hosts=" + hostsFile,
		"--listen-address=" + addr.String(), "--bind-interfaces", "--pid-file=",
		"--port=53", "--cache-size=0"}
	p, err := ns.start("dnsmasq", args, nil)
	if err != nil {
		t.Fatalf("lab: start dnsmasq in %s: %v", ns.Name, err)
	}
	t.Cleanup(func() { _ = p.Stop(syscall.SIGTERM) })

	if err := ns.waitLookup(addr, names[0], hosts[names[0]], p); err != nil {
		t.Fatalf("lab: dnsmasq on %s in %s: %v\noutput: %s", addr, ns.Name, err, p.Output())
	}
	return &Dnsmasq{Addr: addr, Proc: p}
}

// waitLookup asks the server at addr for name until it answers want, the
// process exits, or ReadyTimeout passes. The query goes out from inside the
// namespace through a pure-Go resolver whose only server is addr.
func (ns *Namespace) waitLookup(addr netip.Addr, name string, want netip.Addr, p *Process) error {
	server := netip.AddrPortFrom(addr, 53).String()
	r := &net.Resolver{PreferGo: true,
		Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
			return ns.DialContext(ctx, network, server)
		}}
	deadline := time.Now().Add(ReadyTimeout)
	var last error
	for time.Now().Before(deadline) {
		if p.Exited() {
			return fmt.Errorf("process exited: %v", p.err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
		got, err := r.LookupNetIP(ctx, "ip4", name)
		cancel()
		if err == nil && slices.Contains(got, want) {
			return nil
		}
		last = err
		if err == nil {
			last = fmt.Errorf("%s resolved to %v; want %s", name, got, want)
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("no answer after %s: %w", ReadyTimeout, last)
}

// UseNameserver makes programs run with Command or Start in the namespace
// resolve names through server: it writes /etc/netns/<name>/resolv.conf,
// which `ip netns exec` mounts over /etc/resolv.conf. The directory is
// removed at the end of t. Go code run with Do does not see it.
func (ns *Namespace) UseNameserver(t testing.TB, server netip.Addr) {
	t.Helper()
	dir := filepath.Join("/etc/netns", ns.Name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatalf("lab: resolv.conf for %s: %v", ns.Name, err)
	}
	t.Cleanup(func() {
		if err := os.RemoveAll(dir); err != nil {
			t.Logf("lab: remove %s: %v", dir, err)
		}
	})
	// attempts and timeout keep a lookup that dnsmasq cannot answer (AAAA)
	// from stalling curl for the glibc default of 5 s × 2.
	conf := fmt.Sprintf("nameserver %s\noptions timeout:1 attempts:2\n", server)
	if err := os.WriteFile(filepath.Join(dir, "resolv.conf"), []byte(conf), 0o644); err != nil {
		t.Fatalf("lab: resolv.conf for %s: %v", ns.Name, err)
	}
}
