package lab

import (
	"fmt"
	"os"
	"regexp"
	"strconv"
	"syscall"
	"testing"
	"time"
)

// Capture is a tcpdump process writing a pcap file in a namespace.
type Capture struct {
	// Path is the pcap file; it is complete once Stop has returned.
	Path string
	proc *Process
}

// Tcpdump starts tcpdump on iface inside the namespace, writing every packet
// (no snaplen cut, packet-buffered so nothing is lost at stop) to path,
// with an optional BPF filter. It returns once tcpdump reports that it is
// listening, and fails t otherwise. It skips t when tcpdump is missing. The
// capture is stopped at the end of t if the test did not call Stop.
func (ns *Namespace) Tcpdump(t testing.TB, iface, path string, filter ...string) *Capture {
	t.Helper()
	Require(t, "tcpdump")
	// -Z root: Debian's tcpdump otherwise drops to the tcpdump user before
	// opening the file, and cannot write into a root-only temp dir.
	// --immediate-mode: with TPACKET_V3, packets otherwise wait in a ring
	// block until a timeout, and SIGINT would drop the ones still waiting.
	// -B 32768: a 32 MiB kernel buffer, because CI runs other test packages
	// on the same two cores and a starved tcpdump with the default 2 MiB
	// drops packets (the test then miscounts requests it never captured).
	args := append([]string{"-i", iface, "-w", path, "-U", "--immediate-mode", "-B", "32768",
		"-s", "0", "-n", "-Z", "root"}, filter...)
	lw := newLineWaiter("listening on")
	p, err := ns.start("tcpdump", args, lw)
	if err != nil {
		t.Fatalf("lab: start tcpdump in %s: %v", ns.Name, err)
	}
	c := &Capture{Path: path, proc: p}
	t.Cleanup(func() { _ = c.Stop() })

	select {
	case <-lw.seen:
	case <-p.done:
		t.Fatalf("lab: tcpdump in %s exited: %v\n%s", ns.Name, p.err, p.Output())
	case <-time.After(ReadyTimeout):
		t.Fatalf("lab: tcpdump in %s not listening after %s\n%s", ns.Name, ReadyTimeout,
			p.Output())
	}
	return c
}

// Stop ends the capture with SIGINT, which makes tcpdump flush and close the
// file, and waits for it to exit (SIGKILL after KillGrace). It is safe to
// call more than once.
func (c *Capture) Stop() error {
	c.settle()
	err := c.proc.Stop(syscall.SIGINT)
	if err != nil {
		return fmt.Errorf("lab: tcpdump: %w: %s", err, c.proc.Output())
	}
	if _, err := os.Stat(c.Path); err != nil {
		return fmt.Errorf("lab: tcpdump wrote no file: %w", err)
	}
	return nil
}

// settle waits until the file has stopped growing for settleQuiet (at most
// settleMax), so packets still in flight when the test calls Stop are
// written rather than cut off by the signal.
func (c *Capture) settle() {
	const settleQuiet, settleMax = 150 * time.Millisecond, 2 * time.Second
	deadline := time.Now().Add(settleMax)
	last, quietSince := int64(-1), time.Now()
	for time.Now().Before(deadline) && !c.proc.Exited() {
		var size int64
		if st, err := os.Stat(c.Path); err == nil {
			size = st.Size()
		}
		if size != last {
			last, quietSince = size, time.Now()
		} else if time.Since(quietSince) >= settleQuiet {
			return
		}
		time.Sleep(25 * time.Millisecond)
	}
}

var (
	capturedRE = regexp.MustCompile(`(\d+) packets? captured`)
	droppedRE  = regexp.MustCompile(`(\d+) packets? dropped by kernel`)
)

// Stats returns the packet counts tcpdump printed when it stopped; both are
// -1 before Stop or when tcpdump printed none.
func (c *Capture) Stats() (captured, dropped int) {
	out := c.proc.Output()
	captured, dropped = -1, -1
	if m := capturedRE.FindStringSubmatch(out); m != nil {
		captured, _ = strconv.Atoi(m[1])
	}
	if m := droppedRE.FindStringSubmatch(out); m != nil {
		dropped, _ = strconv.Atoi(m[1])
	}
	return captured, dropped
}
