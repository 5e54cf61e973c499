package lab

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// Namespace is one network namespace of a lab. Its methods are safe for
// concurrent use.
type Namespace struct {
	// Name is the namespace's name as ip-netns(8) knows it.
	Name string
	lab  *Lab
}

// Command returns a command that runs name inside the namespace (through
// `ip netns exec`, which execs the program, so Cmd.Process is the program
// itself and signals reach it directly). ctx bounds its run time.
func (ns *Namespace) Command(ctx context.Context, name string, args ...string) *exec.Cmd {
	full := append([]string{"netns", "exec", ns.Name, name}, args...)
	return exec.CommandContext(ctx, "ip", full...)
}

// Process is a background program started with Namespace.Start.
type Process struct {
	Cmd *exec.Cmd

	out  *cappedBuffer // stdout and stderr, interleaved, first 64 KiB
	done chan struct{} // closed when Wait returned
	err  error         // Wait's result, valid once done is closed
	once sync.Once
}

// Start runs name in the background inside the namespace. At the end of t
// the process gets SIGTERM, then SIGKILL after KillGrace. It fails t if the
// program cannot be started.
func (ns *Namespace) Start(t testing.TB, name string, args ...string) *Process {
	t.Helper()
	p, err := ns.start(name, args, nil)
	if err != nil {
		t.Fatalf("lab: start %s in %s: %v", name, ns.Name, err)
	}
	t.Cleanup(func() { _ = p.Stop(syscall.SIGTERM) })
	return p
}

func (ns *Namespace) start(name string, args []string, stderr io.Writer) (*Process, error) {
	full := append([]string{"netns", "exec", ns.Name, name}, args...)
	cmd := exec.Command("ip", full...)
	p := &Process{Cmd: cmd, out: &cappedBuffer{max: 64 << 10}, done: make(chan struct{})}
	cmd.Stdout = p.out
	cmd.Stderr = p.out
	if stderr != nil {
		cmd.Stderr = io.MultiWriter(p.out, stderr)
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
	return p, nil
}

// Stop sends sig, waits up to KillGrace, then kills the process. It returns
// the process's exit error; calling it again returns the same result.
func (p *Process) Stop(sig syscall.Signal) error { return stop(p, sig) }

// Exited reports whether the process has ended.
func (p *Process) Exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// Output returns the first 64 KiB of what the process wrote to stdout and
// stderr so far.
func (p *Process) Output() string { return p.out.String() }

// Do runs fn on an OS thread that has joined the namespace, and returns fn's
// error. Sockets created inside fn stay in the namespace after Do returns.
// fn must not start goroutines that expect to be in the namespace: only the
// calling thread switches.
func (ns *Namespace) Do(fn func() error) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		// The thread is unlocked only if it made it back to its original
		// namespace; otherwise the runtime discards it when this goroutine
		// exits, so no other goroutine ever runs in the wrong namespace.
		orig, err := os.Open(fmt.Sprintf("/proc/self/task/%d/ns/net", unix.Gettid()))
		if err != nil {
			errc <- fmt.Errorf("lab: open own namespace: %w", err)
			return
		}
		defer orig.Close()
		target, err := os.Open(filepath.Join("/var/run/netns", ns.Name))
		if err != nil {
			runtime.UnlockOSThread()
			errc <- fmt.Errorf("lab: open namespace %s: %w", ns.Name, err)
			return
		}
		defer target.Close()
		if err := unix.Setns(int(target.Fd()), unix.CLONE_NEWNET); err != nil {
			runtime.UnlockOSThread()
			errc <- fmt.Errorf("lab: enter namespace %s: %w", ns.Name, err)
			return
		}
		ferr := fn()
		if err := unix.Setns(int(orig.Fd()), unix.CLONE_NEWNET); err != nil {
			errc <- errors.Join(ferr, fmt.Errorf("lab: leave namespace %s: %w", ns.Name, err))
			return
		}
		runtime.UnlockOSThread()
		errc <- ferr
	}()
	return <-errc
}

// DialContext connects from inside the namespace. address must be a literal
// IP and port ("10.203.1.1:80", "[fd00:203:0:1::1]:80"): name resolution and
// happy-eyeballs racing would run on other threads, outside the namespace.
// The returned connection can be used from any goroutine. Its signature fits
// http.Transport.DialContext.
func (ns *Namespace) DialContext(ctx context.Context, network, address string) (net.Conn, error) {
	host, _, err := net.SplitHostPort(address)
	if err != nil {
		return nil, fmt.Errorf("lab: dial %s: %w", address, err)
	}
	if net.ParseIP(host) == nil {
		return nil, fmt.Errorf("lab: dial %s: not a literal IP address", address)
	}
	var conn net.Conn
	err = ns.Do(func() error {
		var d net.Dialer
		c, err := d.DialContext(ctx, network, address)
		conn = c
		return err
	})
	return conn, err
}

// waitDial retries a TCP connect to address inside the namespace until it
// succeeds, alive reports false, or ReadyTimeout passes.
func (ns *Namespace) waitDial(address string, alive func() bool) error {
	deadline := time.Now().Add(ReadyTimeout)
	var last error
	for time.Now().Before(deadline) {
		if !alive() {
			return errors.New("process exited")
		}
		ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
		c, err := ns.DialContext(ctx, "tcp", address)
		cancel()
		if err == nil {
			c.Close()
			return nil
		}
		last = err
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("no answer after %s: %w", ReadyTimeout, last)
}

// cappedBuffer keeps the first max bytes written to it and drops the rest;
// a chatty program cannot fill the test's memory.
type cappedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
	max int
}

func (c *cappedBuffer) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if room := c.max - c.buf.Len(); room > 0 {
		c.buf.Write(p[:min(len(p), room)])
	}
	return len(p), nil
}

func (c *cappedBuffer) String() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.buf.String()
}

// lineWaiter is an io.Writer that signals when a line containing want has
// been written.
type lineWaiter struct {
	want string
	w    *io.PipeWriter
	seen chan struct{}
}

func newLineWaiter(want string) *lineWaiter {
	pr, pw := io.Pipe()
	lw := &lineWaiter{want: want, w: pw, seen: make(chan struct{})}
	go func() {
		sc := bufio.NewScanner(pr)
		signalled := false
		for sc.Scan() {
			if !signalled && strings.Contains(sc.Text(), want) {
				close(lw.seen)
				signalled = true
			}
		}
		// Keep draining so the writer never blocks after a long line.
		_, _ = io.Copy(io.Discard, pr)
	}()
	return lw
}

func (lw *lineWaiter) Write(p []byte) (int, error) { return lw.w.Write(p) }
