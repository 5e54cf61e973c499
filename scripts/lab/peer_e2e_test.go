//go:build e2e

package lab

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// liveRow is one line of the live benchmark's table: one tool capturing one
// replay at one rate.
type liveRow struct {
	rate, tool string
	cpu        float64 // user+system seconds from ready to the end of the replay's backlog
	exchanges  int     // request/response pairs the tool reported
	detail     string  // what the count is made of, for the log
	drops      int     // packets the kernel dropped before the tool read them
	peakKB     int     // VmHWM, summed over the tool's processes
}

// tshark is a running `tshark -z http,tree` capture: the peer the live
// benchmark measures apitap against. tshark reads packets through its
// dumpcap child, so its cost is the sum of both processes.
type tshark struct {
	proc *Process
}

// startTshark captures on iface inside ns with a 32 MiB kernel buffer (the
// size of apitap's default AF_PACKET ring per worker) and dissects every
// packet, reassembling TCP streams and HTTP bodies as its defaults do, so
// that its counts come from fully parsed messages. It returns once dumpcap
// reports that it is capturing.
func startTshark(t *testing.T, ns *Namespace, iface string) *tshark {
	t.Helper()
	lw := newLineWaiter("Capturing on")
	p, err := ns.start("tshark", []string{"-i", iface, "-n", "-q", "-B", "32",
		"-z", "http,tree"}, lw)
	if err != nil {
		t.Fatalf("lab: start tshark in %s: %v", ns.Name, err)
	}
	t.Cleanup(func() { _ = p.Stop(syscall.SIGKILL) })
	select {
	case <-lw.seen:
	case <-p.done:
		t.Fatalf("tshark in %s exited: %v\n%s", ns.Name, p.err, p.Output())
	case <-time.After(30 * time.Second):
		t.Fatalf("tshark in %s not capturing after 30s:\n%s", ns.Name, p.Output())
	}
	return &tshark{proc: p}
}

var (
	tsharkReqRE  = regexp.MustCompile(`(?m)^\s*HTTP Request Packets\s+(\d+)`)
	tsharkRespRE = regexp.MustCompile(`(?m)^\s*HTTP Response Packets\s+(\d+)`)
	tsharkDropRE = regexp.MustCompile(`(\d+) packets? dropped`)
)

// stop ends the capture with SIGINT, after which tshark prints its HTTP
// statistics and packet counts, and returns the requests and responses it
// dissected and the drops it reported.
func (ts *tshark) stop(t *testing.T) (requests, responses, drops int) {
	t.Helper()
	// tshark still has to read what dumpcap wrote to its temporary file
	// after the signal: give it longer than the lab's KillGrace.
	_ = ts.proc.Cmd.Process.Signal(syscall.SIGINT)
	start := time.Now()
	select {
	case <-ts.proc.done:
	case <-time.After(60 * time.Second):
	}
	if err := ts.proc.Stop(syscall.SIGKILL); err != nil {
		t.Fatalf("tshark exit after %s: %v\n%s", time.Since(start).Round(time.Millisecond), err,
			ts.proc.Output())
	}
	t.Logf("tshark exited %s after SIGINT", time.Since(start).Round(time.Millisecond))
	out := ts.proc.Output()
	req, resp := tsharkReqRE.FindStringSubmatch(out), tsharkRespRE.FindStringSubmatch(out)
	if req == nil || resp == nil {
		t.Fatalf("tshark printed no HTTP statistics:\n%s", out)
	}
	requests, _ = strconv.Atoi(req[1])
	responses, _ = strconv.Atoi(resp[1])
	for _, m := range tsharkDropRE.FindAllStringSubmatch(out, -1) {
		n, _ := strconv.Atoi(m[1])
		drops += n
	}
	return requests, responses, drops
}

// pcapHTTPRequests counts the HTTP requests in a capture file with tshark,
// as the reference for the live counts; -1 when tshark fails.
func pcapHTTPRequests(t *testing.T, path string) int {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, "tshark", "-r", path, "-n", "-q", "-z", "http,tree").Output()
	if err != nil {
		t.Logf("tshark -r %s: %v", path, err)
		return -1
	}
	m := tsharkReqRE.FindSubmatch(out)
	if m == nil {
		return -1
	}
	n, _ := strconv.Atoi(string(m[1]))
	return n
}

// procTree returns pid and its direct children (tshark's dumpcap), as
// listed by the kernel for every thread of pid.
func procTree(pid int) []int {
	pids := []int{pid}
	tasks, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/children", pid))
	for _, f := range tasks {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		for _, s := range strings.Fields(string(b)) {
			if c, err := strconv.Atoi(s); err == nil {
				pids = append(pids, c)
			}
		}
	}
	return pids
}

// treeCPUSeconds returns the user+system CPU time of pid and its direct
// children. A child that exits in between is no longer counted, so callers
// read it while the tool is still capturing.
func treeCPUSeconds(pid int) float64 {
	var total float64
	for _, p := range procTree(pid) {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", p))
		if err != nil {
			continue
		}
		i := strings.LastIndexByte(string(b), ')')
		if i < 0 || i+2 > len(b) {
			continue
		}
		// After the parenthesised comm: utime and stime are fields 14 and 15.
		f := strings.Fields(string(b[i+2:]))
		if len(f) < 13 {
			continue
		}
		ut, _ := strconv.ParseFloat(f[11], 64)
		st, _ := strconv.ParseFloat(f[12], 64)
		total += (ut + st) / 100 // USER_HZ
	}
	return total
}

// treePeakKB sums VmHWM over pid and its direct children.
func treePeakKB(pid int) int {
	total := 0
	for _, p := range procTree(pid) {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", p))
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
				kb, _ := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(v), " kB"))
				total += kb
			}
		}
	}
	return total
}

// exitCPUSeconds returns the user+system CPU time of an exited process,
// including the children it waited for (tshark waits for dumpcap), so work
// done after the stop signal, such as tshark dissecting the packets dumpcap
// buffered, is counted. The second result is the peak RSS of the largest
// of them, in KiB.
func exitCPUSeconds(t *testing.T, p *Process) (float64, int) {
	t.Helper()
	st := p.Cmd.ProcessState
	if st == nil {
		t.Fatalf("%s has not exited", p.Cmd.Path)
	}
	ru, ok := st.SysUsage().(*syscall.Rusage)
	if !ok {
		t.Fatalf("no rusage for %s", p.Cmd.Path)
	}
	cpu := time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
	return cpu, int(ru.Maxrss)
}

// logLiveTable logs the rows as the live benchmark's table.
func logLiveTable(t *testing.T, rows []liveRow) {
	t.Logf("%-9s %-7s %14s %10s %-24s %8s %10s", "rate", "tool", "CPU s/M exch", "exchanges",
		"counted", "drops", "peak RSS")
	for _, r := range rows {
		t.Logf("%-9s %-7s %14.1f %10d %-24s %8d %7d MB", r.rate, r.tool,
			r.cpu/float64(max(r.exchanges, 1))*1e6, r.exchanges, r.detail, r.drops, r.peakKB>>10)
	}
}
