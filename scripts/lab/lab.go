package lab

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// Time limits. They are generous for a loaded 2-core machine and still short
// enough that a hung tool fails the test instead of the CI job.
const (
	// CommandTimeout bounds each ip(8) command the lab runs for setup.
	CommandTimeout = 10 * time.Second
	// ReadyTimeout bounds the wait for nginx to answer and tcpdump to listen.
	ReadyTimeout = 10 * time.Second
	// KillGrace is how long a background process gets between SIGTERM (or
	// SIGINT for tcpdump) and SIGKILL.
	KillGrace = 5 * time.Second
)

// labSeq numbers labs within this process so that names stay unique when
// tests run in parallel.
var labSeq atomic.Uint32

// Lab owns the namespaces and links of one test. It is safe for concurrent
// use by the goroutines of that test.
type Lab struct {
	t      testing.TB
	prefix string // "apt<pid>x<n>", unique per process and lab

	mu     sync.Mutex
	nsSeq  int
	subnet int // last 10.203.<subnet>.0/24 handed out
}

// New returns an empty lab for t. It skips t when the process is not root or
// ip(8) is missing, and deletes every namespace the lab created when t ends.
func New(t testing.TB) *Lab {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("lab: needs root to create network namespaces")
	}
	Require(t, "ip")

	l := &Lab{t: t, prefix: fmt.Sprintf("apt%dx%d", os.Getpid(), labSeq.Add(1))}
	return l
}

// Require skips t, naming the tool, unless every tool is on PATH.
func Require(t testing.TB, tools ...string) {
	t.Helper()
	var missing []string
	for _, tool := range tools {
		if _, err := exec.LookPath(tool); err != nil {
			missing = append(missing, tool)
		}
	}
	if len(missing) > 0 {
		t.Skipf("lab: missing tools on PATH: %s", strings.Join(missing, ", "))
	}
}

// Namespace creates a network namespace with loopback up. The name is a hint
// that appears in the namespace's real name (Namespace.Name) for debugging.
// It fails t if the namespace cannot be created.
func (l *Lab) Namespace(hint string) *Namespace {
	l.t.Helper()
	l.mu.Lock()
	l.nsSeq++
	name := fmt.Sprintf("%s-%d%s", l.prefix, l.nsSeq, sanitize(hint))
	l.mu.Unlock()

	if err := run("ip", "netns", "add", name); err != nil {
		l.t.Fatalf("lab: create namespace: %v", err)
	}
	// Registered before anything runs in the namespace, so it runs last:
	// t.Cleanup is LIFO and processes register their own cleanups later.
	l.t.Cleanup(func() {
		if err := run("ip", "netns", "del", name); err != nil {
			l.t.Logf("lab: delete namespace %s: %v", name, err)
		}
	})

	ns := &Namespace{Name: name, lab: l}
	if err := run("ip", "-n", name, "link", "set", "lo", "up"); err != nil {
		l.t.Fatalf("lab: loopback up in %s: %v", name, err)
	}
	return ns
}

// Link is a veth pair between two namespaces with one IPv4 and one IPv6
// address on each end.
type Link struct {
	// IfA and IfB are the interface names in namespaces A and B.
	IfA, IfB string
	// A and B are the IPv4 addresses (10.203.N.1 and 10.203.N.2, /24).
	A, B netip.Addr
	// A6 and B6 are the IPv6 addresses (fd00:203:0:N::1 and ::2, /64).
	A6, B6 netip.Addr
}

// Link connects a and b with a new veth pair and brings both ends up. A lab
// supports up to 250 links. It fails the test on error.
func (l *Lab) Link(a, b *Namespace) Link {
	l.t.Helper()
	l.mu.Lock()
	l.subnet++
	n := l.subnet
	l.mu.Unlock()
	if n > 250 {
		l.t.Fatalf("lab: too many links in one lab (%d)", n)
	}

	// Interface names are per namespace, so short fixed names are safe; the
	// pair is created from inside a so the host namespace never sees it.
	lk := Link{
		IfA: fmt.Sprintf("veth%d", n), IfB: fmt.Sprintf("veth%d", n),
		A:  netip.AddrFrom4([4]byte{10, 203, byte(n), 1}),
		B:  netip.AddrFrom4([4]byte{10, 203, byte(n), 2}),
		A6: netip.MustParseAddr(fmt.Sprintf("fd00:203:0:%x::1", n)),
		B6: netip.MustParseAddr(fmt.Sprintf("fd00:203:0:%x::2", n)),
	}
	steps := [][]string{
		{"ip", "-n", a.Name, "link", "add", lk.IfA, "type", "veth",
			"peer", "name", lk.IfB, "netns", b.Name},
		{"ip", "-n", a.Name, "addr", "add", lk.A.String() + "/24", "dev", lk.IfA},
		{"ip", "-n", b.Name, "addr", "add", lk.B.String() + "/24", "dev", lk.IfB},
		// nodad: duplicate address detection would leave the address
		// unusable for a second or two, and there is nobody to collide with.
		{"ip", "-n", a.Name, "addr", "add", lk.A6.String() + "/64", "dev", lk.IfA, "nodad"},
		{"ip", "-n", b.Name, "addr", "add", lk.B6.String() + "/64", "dev", lk.IfB, "nodad"},
		{"ip", "-n", a.Name, "link", "set", lk.IfA, "up"},
		{"ip", "-n", b.Name, "link", "set", lk.IfB, "up"},
	}
	for _, s := range steps {
		if err := run(s[0], s[1:]...); err != nil {
			l.t.Fatalf("lab: link %s-%s: %v", a.Name, b.Name, err)
		}
	}
	return lk
}

// run executes one setup command with CommandTimeout and folds its stderr
// into the error.
func run(name string, args ...string) error {
	ctx, cancel := context.WithTimeout(context.Background(), CommandTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		msg := strings.TrimSpace(stderr.String())
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			msg = "timed out after " + CommandTimeout.String()
		}
		return fmt.Errorf("%s %s: %w: %s", name, strings.Join(args, " "), err, msg)
	}
	return nil
}

// sanitize keeps a name hint to a few safe characters.
func sanitize(hint string) string {
	var b strings.Builder
	for _, r := range hint {
		if b.Len() >= 12 {
			break
		}
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r >= 'A' && r <= 'Z' {
			b.WriteRune(r)
		}
	}
	if b.Len() == 0 {
		return ""
	}
	return "-" + b.String()
}

// stop ends a background process: sig first, SIGKILL after KillGrace. It
// returns the process's exit error, if any, and is safe to call twice.
func stop(p *Process, sig syscall.Signal) error {
	p.once.Do(func() {
		if p.Cmd.Process != nil {
			_ = p.Cmd.Process.Signal(sig)
		}
		select {
		case <-p.done:
		case <-time.After(KillGrace):
			_ = p.Cmd.Process.Kill()
			<-p.done
		}
	})
	return p.err
}
