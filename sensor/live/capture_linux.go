//go:build linux

package live

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"path"
	"strconv"
	"time"

	"github.com/apitap/apitap/sensor/capture"
	"github.com/apitap/apitap/sensor/config"
	"github.com/apitap/apitap/sensor/ebpf"
	"github.com/apitap/apitap/sensor/engine"
	"github.com/apitap/apitap/sensor/exchange"
)

// liveCapture is the capture the runtime attached: its per-worker sources
// and how to read its kernel counters.
type liveCapture struct {
	// mode says what it runs on: "afpacket", "ebpf-tcx" or "ebpf-tc".
	mode    string
	sources []capture.Source
	af      *capture.AFPacket
	eb      *ebpf.Capture
	ifnames []string // eBPF: Info.Interface is the position in this list
	// sockets joins packet flows to processes; nil when eBPF is unavailable.
	sockets *ebpf.SocketMap
}

// openCapture attaches to the configured interfaces. Mode ebpf tries the
// eBPF classifier first and falls back to AF_PACKET, logging why once.
func openCapture(sc *config.Config, base, log *slog.Logger) (*liveCapture, error) {
	cp := &sc.Capture
	filter, err := captureFilter(&cp.Filter)
	if err != nil {
		return nil, err
	}
	if cp.Mode == "ebpf" {
		lc, err := openEBPF(sc, filter, base)
		if err == nil {
			return lc, nil
		}
		log.Warn("ebpf capture unavailable, capturing with afpacket instead", "reason", err)
	}
	af, err := capture.NewAFPacket(capture.AFPacketConfig{
		Interfaces:   cp.Interfaces,
		Workers:      cp.Workers,
		Snaplen:      cp.Snaplen,
		BlockSize:    int(cp.Ring.BlockSize),
		NumBlocks:    cp.Ring.Blocks,
		BlockTimeout: cp.Ring.BlockTimeout,
		Filter:       filter,
		Promiscuous:  cp.Promiscuous,
		Logger:       base,
	})
	if err != nil {
		return nil, err
	}
	return &liveCapture{mode: "afpacket", af: af, sources: af.Workers()}, nil
}

func openEBPF(sc *config.Config, filter capture.Filter, log *slog.Logger) (*liveCapture, error) {
	if filter.Expression != "" {
		return nil, fmt.Errorf("%w: the eBPF classifier takes ports and cidrs, not a tcpdump expression",
			ebpf.ErrNotSupported)
	}
	names, err := expandInterfaces(sc.Capture.Interfaces)
	if err != nil {
		return nil, err
	}
	c, err := ebpf.NewCapture(ebpf.Config{Interfaces: names, Ports: filter.Ports,
		CIDRs: filter.CIDRs, Logger: log})
	if err != nil {
		return nil, err
	}
	return &liveCapture{mode: "ebpf-" + c.Mode().String(), eb: c, sources: []capture.Source{c},
		ifnames: names}, nil
}

// expandInterfaces turns names and patterns into the interfaces that exist
// now. The eBPF classifier attaches to named interfaces only; loopback is
// left out of "all" because its traffic would be seen twice.
func expandInterfaces(patterns []string) ([]string, error) {
	list, err := net.Interfaces()
	if err != nil {
		return nil, fmt.Errorf("live: list interfaces: %w", err)
	}
	var out []string
	for _, ifc := range list {
		for _, p := range patterns {
			ok := p == ifc.Name
			if p == "all" {
				ok = ifc.Flags&net.FlagLoopback == 0
			} else if !ok {
				ok, _ = path.Match(p, ifc.Name)
			}
			if ok {
				out = append(out, ifc.Name)
				break
			}
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%w: no interface matches %q", ebpf.ErrNoInterfaces, patterns)
	}
	return out, nil
}

func captureFilter(f *config.Filter) (capture.Filter, error) {
	out := capture.Filter{Expression: f.Expression}
	for _, p := range f.Ports {
		out.Ports = append(out.Ports, uint16(p))
	}
	for _, c := range f.CIDRs {
		p, err := netip.ParsePrefix(c)
		if err != nil {
			return out, fmt.Errorf("live: capture filter: %w", err)
		}
		out.CIDRs = append(out.CIDRs, p.Masked())
	}
	return out, nil
}

// close releases the capture; ReadPacket in every worker returns io.EOF.
func (lc *liveCapture) close() error {
	if lc.af != nil {
		return lc.af.Close()
	}
	if lc.eb != nil {
		return lc.eb.Close()
	}
	return nil
}

// closeSockets releases the socket owner map. It runs after the workers
// finished, since finishing a flow may still look its process up.
func (lc *liveCapture) closeSockets() error {
	if lc.sockets == nil {
		return nil
	}
	return lc.sockets.Close()
}

// kernel returns the kernel's drop counters by interface (AF_PACKET) or for
// the ring (eBPF), as running totals.
func (lc *liveCapture) kernel() map[string]uint64 {
	out := map[string]uint64{}
	switch {
	case lc.af != nil:
		for _, s := range lc.af.Stats() {
			out[s.Name] = s.Drops
		}
	case lc.eb != nil:
		if st, err := lc.eb.Stats(); err == nil {
			out["ebpf-ring"] = st.RingDrops
		}
	}
	return out
}

// ifname names the interface of capture.Info.Interface.
func (lc *liveCapture) ifnameFunc() func(int) string {
	names := map[int]string{}
	if lc.af != nil {
		for _, ifc := range lc.af.Interfaces() {
			names[ifc.Index] = ifc.Name
		}
	}
	for i, n := range lc.ifnames {
		names[i] = n
	}
	return func(i int) string {
		if n, ok := names[i]; ok {
			return n
		}
		return "ifindex-" + strconv.Itoa(i)
	}
}

// openTLS attaches the OpenSSL uprobes.
func openTLS(log *slog.Logger) (*ebpf.TLSSource, error) {
	return ebpf.NewTLSSource(ebpf.TLSConfig{Logger: log})
}

// runTLS delivers chunks to wk's engine worker until ctx is done, then
// finishes the worker's flows. Processes are resolved once per (pid, tid,
// cgroup) and cached, since the engine keeps the pointer per flow.
func runTLS(ctx context.Context, src *ebpf.TLSSource, wk *worker) error {
	type key struct {
		pid, tid uint32
		cgroup   uint64
	}
	res := ebpf.NewResolver("")
	procs := map[key]*exchange.Process{}
	var ch engine.Chunk
	last := time.Now()
	err := src.Run(ctx, func(c *ebpf.Chunk) {
		k := key{c.PID, c.TID, c.CgroupID}
		p := procs[k]
		if p == nil || p.Comm != c.Comm {
			if len(procs) >= 4096 {
				clear(procs)
			}
			p = res.Process(c.PID, c.TID, c.Comm, c.CgroupID)
			procs[k] = p
		}
		ch = engine.Chunk{Time: c.Time, Conn: c.Conn, PID: c.PID, Local: c.Local,
			Remote: c.Remote, Write: c.Dir == ebpf.Write, Data: c.Data, Lost: c.Lost, Process: p}
		wk.w.Stream(&ch)
		if now := time.Now(); now.Sub(last) >= publishPeriod {
			last = now
			wk.publish(false)
		}
	})
	wk.w.Finish()
	wk.publish(true)
	return err
}

// attachLive opens kernel capture and, when configured, the TLS uprobes.
// TLS failing is not fatal: the sensor runs without plaintext and says so.
// base is handed to the capture components; log (the runtime's) says what
// was attached and why not.
func attachLive(sc *config.Config, base, log *slog.Logger) (*sources, error) {
	lc, err := openCapture(sc, base, log)
	if err != nil {
		return nil, err
	}
	s := &sources{mode: lc.mode, sources: lc.sources, live: true, lc: lc}
	// Either capture mode gains processes from the socket owner map: it
	// needs only the tracepoints, not the eBPF classifier.
	if sm, err := ebpf.NewSocketMap(ebpf.SocketMapConfig{Logger: base}); err != nil {
		log.Info("socket owner map unavailable, packet flows carry no process", "reason", err)
	} else {
		lc.sockets = sm
		s.attribute = sm.Attribute
	}
	if sc.TLS.Uprobes {
		ts, err := openTLS(base)
		if err != nil {
			log.Warn("tls uprobes unavailable, running without tls plaintext", "reason", err)
		} else {
			s.tls = func(ctx context.Context, wk *worker) error {
				defer ts.Close()
				return runTLS(ctx, ts, wk)
			}
		}
	}
	return s, nil
}
