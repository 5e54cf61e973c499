package live

import (
	"context"
	"errors"
	"net/netip"
	"strconv"

	"github.com/apitap/apitap/sensor/capture"
	"github.com/apitap/apitap/sensor/config"
	"github.com/apitap/apitap/sensor/exchange"
)

// sources is what Run reads: live capture (and TLS plaintext) or the
// sources of Config.Sources.
type sources struct {
	mode    string
	sources []capture.Source
	// live is set for kernel capture, which privileges are dropped for.
	live bool
	lc   *liveCapture
	// tls, when set, feeds TLS plaintext into the worker it is given.
	tls func(ctx context.Context, wk *worker) error
	// attribute, when set, names the process of a packet flow (the eBPF
	// socket owner map): it becomes engine.Config.Attribute.
	attribute func(client, server netip.AddrPort) *exchange.Process
}

// attach opens the sources Run reads.
func (r *Runtime) attach(sc *config.Config) (*sources, error) {
	if len(r.cfg.Sources) > 0 {
		return &sources{mode: "sources", sources: r.cfg.Sources}, nil
	}
	return attachLive(sc, r.base, r.log)
}

// runTLS feeds TLS plaintext into wk until ctx is done.
func (s *sources) runTLS(ctx context.Context, wk *worker) error { return s.tls(ctx, wk) }

// close stops every source: each worker's ReadPacket returns io.EOF.
func (s *sources) close() error {
	if s.lc != nil {
		return s.lc.close()
	}
	var errs []error
	for _, src := range s.sources {
		errs = append(errs, src.Close())
	}
	return errors.Join(errs...)
}

// closeSockets releases what attribute needs, once no worker runs.
func (s *sources) closeSockets() error {
	if s.lc == nil {
		return nil
	}
	return s.lc.closeSockets()
}

// kernelDrops returns the kernel's drop totals by interface name.
func (s *sources) kernelDrops() map[string]uint64 {
	if s.lc == nil {
		return nil
	}
	return s.lc.kernel()
}

// ifname returns a function naming capture.Info.Interface values.
func (s *sources) ifname() func(int) string {
	if s.lc != nil {
		return s.lc.ifnameFunc()
	}
	return func(i int) string { return "source-" + strconv.Itoa(i) }
}
