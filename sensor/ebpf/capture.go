package ebpf

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/ringbuf"

	"github.com/apitap/apitap/sensor/capture"
)

// AttachMode selects how the capture program is hooked to an interface.
type AttachMode uint8

const (
	// AttachAuto tries TCX (Linux 6.6+) and falls back to tc clsact.
	AttachAuto AttachMode = iota
	// AttachTCX uses TCX only.
	AttachTCX
	// AttachTC uses a tc clsact qdisc with direct-action filters only.
	AttachTC
)

// String returns "auto", "tcx" or "tc".
func (m AttachMode) String() string {
	switch m {
	case AttachTCX:
		return "tcx"
	case AttachTC:
		return "tc"
	}
	return "auto"
}

// Config configures a Capture. The zero value captures nothing useful only
// because Interfaces is empty; every other field has a working default.
type Config struct {
	// Interfaces to attach to, by name. Required.
	Interfaces []string
	// NetNS is the path of the network namespace the interfaces live in
	// (e.g. /var/run/netns/x or /proc/PID/ns/net). Empty: the caller's.
	NetNS string
	// Ports keeps TCP packets whose source or destination port is listed.
	// Empty: every port.
	Ports []uint16
	// CIDRs keeps packets whose source or destination address is inside
	// one of them. Empty: every address.
	CIDRs []netip.Prefix
	// PayloadBytes is the payload prefix copied per packet. Default 1024;
	// clamped to [64, 4096].
	PayloadBytes int
	// TLSPackets is how many payload packets of a TLS flow are kept (for the
	// handshake: SNI, ALPN, the server's version) before the flow is
	// skipped in the kernel. Default 8.
	TLSPackets int
	// RingBytes is the ring buffer size. Default 4 MiB; rounded up to a
	// power of two of at least one page.
	RingBytes int
	// WakeupBytes batches the reader's wakeups: the program wakes it only
	// once this many bytes wait in the ring, and ReadPacket otherwise
	// looks every PollInterval. A wakeup per record (an epoll return and a
	// goroutine switch per packet) cost more CPU than AF_PACKET's block
	// batching. Default 128 KiB, clamped to half the ring; negative wakes
	// the reader for every record, as the kernel does by default.
	WakeupBytes int
	// PollInterval bounds how long a record below WakeupBytes waits in the
	// ring: the latency batching adds. Default 20 ms.
	PollInterval time.Duration
	// Attach selects TCX, tc clsact, or TCX with tc as fallback (default).
	Attach AttachMode
	// DisableTCX makes the TCX attach fail as if the kernel lacked it. It
	// exists to exercise the fallback path in tests and on odd kernels.
	DisableTCX bool
	// Logger receives lifecycle lines (attach mode, ring size). Nil: silent.
	Logger *slog.Logger
}

func (c *Config) payloadBytes() uint32 {
	switch {
	case c.PayloadBytes == 0:
		return 1024
	case c.PayloadBytes < 64:
		return 64
	case c.PayloadBytes > payloadMax:
		return payloadMax
	}
	return uint32(c.PayloadBytes)
}

func (c *Config) tlsPackets() uint32 {
	if c.TLSPackets <= 0 {
		return 8
	}
	return uint32(c.TLSPackets)
}

func (c *Config) ringBytes() uint32 { return ringSize(c.RingBytes, 4<<20) }

func (c *Config) wakeupBytes() uint32 {
	switch {
	case c.WakeupBytes < 0:
		return 0
	case c.WakeupBytes == 0:
		return min(128<<10, c.ringBytes()/2)
	}
	return min(uint32(c.WakeupBytes), c.ringBytes()/2)
}

func (c *Config) pollInterval() time.Duration {
	if c.PollInterval <= 0 {
		return 20 * time.Millisecond
	}
	return c.PollInterval
}

// Limits shared with bpf/include/apitap.h.
const (
	payloadMax   = 4096
	pktEventSize = 24 // sizeof(struct pkt_event)
)

// CaptureStats are the kernel program's counters, summed over CPUs.
type CaptureStats struct {
	Seen       uint64 // TCP packets inspected
	Matched    uint64 // passed the port and CIDR filters
	Emitted    uint64 // written to the ring
	RingDrops  uint64 // lost because the ring was full
	Skipped    uint64 // skipped because their flow is neither HTTP nor TLS (or TLS past the handshake)
	Truncated  uint64 // payload longer than PayloadBytes
	FlowsHTTP  uint64 // flows classified HTTP
	FlowsTLS   uint64 // flows classified TLS
	FlowsOther uint64 // flows classified other
	// ShortRecords counts ring records too short for their header (a bug).
	ShortRecords uint64
}

// Capture is a capture.Source reading packets that the eBPF classifier
// copied into its ring buffer. ReadPacket must be called from one goroutine;
// Close and Stats may be called from any.
type Capture struct {
	objs   captureObjects
	hooks  []hook
	reader *ringbuf.Reader
	rec    ringbuf.Record // reused by every ReadPacket
	clock  bootClock
	ifidx  []uint32 // position = Info.Interface
	mode   AttachMode
	short  uint64
	// poll is the reader's deadline period while wakeups are batched; 0
	// when the kernel wakes the reader for every record. armed: the first
	// deadline is set.
	poll  time.Duration
	armed bool

	// closing is set by Close once the programs are detached; ReadPacket
	// then reads the ring down and closes drained.
	closing     atomic.Bool
	drained     chan struct{}
	drainedOnce sync.Once

	closeOnce sync.Once
	closeErr  error
}

// drainWait bounds how long Close waits for ReadPacket to empty the ring.
const drainWait = time.Second

// newCapture returns a Capture with nothing loaded yet.
func newCapture() *Capture {
	return &Capture{clock: newBootClock(), drained: make(chan struct{})}
}

// NewCapture loads the classifier, fills its configuration maps and attaches
// it to ingress and egress of every configured interface. An error wrapping
// ErrNotSupported means the kernel or the process's privileges cannot run
// it; the caller should fall back to AF_PACKET and log the error once.
func NewCapture(cfg Config) (*Capture, error) {
	if len(cfg.Interfaces) == 0 {
		return nil, ErrNoInterfaces
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	log = log.With("component", "ebpf.Capture")

	if err := checkKernel(); err != nil {
		return nil, err
	}
	spec, err := loadCapture()
	if err != nil {
		return nil, fmt.Errorf("ebpf: parse capture object: %w", err)
	}
	spec.Maps["pkt_ring"].MaxEntries = cfg.ringBytes()

	c := newCapture()
	if err := loadSpec(spec, &c.objs); err != nil {
		return nil, err
	}
	if err := c.configure(&cfg); err != nil {
		c.objs.Close()
		return nil, err
	}

	var ifaces []ifaceInfo
	err = inNetNS(cfg.NetNS, func() error {
		var err error
		ifaces, err = lookupIfaces(cfg.Interfaces)
		if err != nil {
			return err
		}
		for _, ifc := range ifaces {
			l2 := uint32(0)
			if ifc.ether {
				l2 = 14
			}
			if err := c.objs.IfaceL2len.Put(uint32(ifc.index), l2); err != nil {
				return fmt.Errorf("ebpf: set link header length of %s: %w", ifc.name, err)
			}
		}
		c.hooks, c.mode, err = attachAll(&cfg, ifaces, c.objs.CaptureIngress,
			c.objs.CaptureEgress)
		return err
	})
	if err != nil {
		c.objs.Close()
		return nil, err
	}
	for _, ifc := range ifaces {
		c.ifidx = append(c.ifidx, uint32(ifc.index))
	}

	c.reader, err = ringbuf.NewReader(c.objs.PktRing)
	if err != nil {
		c.detach()
		c.objs.Close()
		return nil, fmt.Errorf("ebpf: open packet ring: %w", err)
	}
	log.Info("ebpf capture attached", "mode", c.mode.String(), "interfaces", cfg.Interfaces,
		"ring_bytes", cfg.ringBytes(), "payload_bytes", cfg.payloadBytes(),
		"wakeup_bytes", cfg.wakeupBytes())
	return c, nil
}

// configure writes the filter and limits into the program's maps.
func (c *Capture) configure(cfg *Config) error {
	kc := captureCaptureConfig{
		PayloadMax:  cfg.payloadBytes(),
		TlsPackets:  cfg.tlsPackets(),
		WakeupBytes: cfg.wakeupBytes(),
	}
	if len(cfg.Ports) == 0 {
		kc.AnyPort = 1
	}
	if len(cfg.CIDRs) == 0 {
		kc.AnyAddr = 1
	}
	if kc.WakeupBytes > 0 {
		c.poll = cfg.pollInterval()
	}
	if err := c.objs.CaptureCfg.Put(uint32(0), &kc); err != nil {
		return fmt.Errorf("ebpf: write capture config: %w", err)
	}
	for _, p := range cfg.Ports {
		if err := c.objs.Ports.Put(p, uint8(1)); err != nil {
			return fmt.Errorf("ebpf: add port %d: %w", p, err)
		}
	}
	for _, pfx := range cfg.CIDRs {
		pfx = pfx.Masked()
		var err error
		if pfx.Addr().Is4() {
			k := captureLpmV4{Prefixlen: uint32(pfx.Bits()), Addr: pfx.Addr().As4()}
			err = c.objs.CidrsV4.Put(&k, uint8(1))
		} else {
			k := captureLpmV6{Prefixlen: uint32(pfx.Bits()), Addr: pfx.Addr().As16()}
			err = c.objs.CidrsV6.Put(&k, uint8(1))
		}
		if err != nil {
			return fmt.Errorf("ebpf: add cidr %s: %w", pfx, err)
		}
	}
	return nil
}

// Mode reports how the program was attached: AttachTCX or AttachTC.
func (c *Capture) Mode() AttachMode { return c.mode }

// ReadPacket blocks until the kernel hands over a packet and returns it as a
// raw IP packet (LinkType capture.LinkRaw). The slice is owned by the
// Capture and valid until the next ReadPacket. After Close it returns io.EOF.
func (c *Capture) ReadPacket() ([]byte, capture.Info, error) {
	if c.poll > 0 && !c.armed {
		c.armed = true
		c.reader.SetDeadline(time.Now().Add(c.poll))
	}
	for {
		if err := c.reader.ReadInto(&c.rec); err != nil {
			if c.poll > 0 && errors.Is(err, os.ErrDeadlineExceeded) {
				// The ring is drained; records written without a
				// wakeup are picked up by the next poll.
				c.reader.SetDeadline(time.Now().Add(c.poll))
				continue
			}
			if c.closing.Load() && (errors.Is(err, ringbuf.ErrFlushed) ||
				errors.Is(err, os.ErrDeadlineExceeded)) {
				// Close detached the programs, and the ring is empty.
				c.drainedOnce.Do(func() { close(c.drained) })
				return nil, capture.Info{}, io.EOF
			}
			if errors.Is(err, ringbuf.ErrClosed) {
				return nil, capture.Info{}, io.EOF
			}
			return nil, capture.Info{}, fmt.Errorf("ebpf: read packet ring: %w", err)
		}
		data, ci, err := c.decode(c.rec.RawSample)
		if err != nil {
			c.short++
			continue
		}
		return data, ci, nil
	}
}

// decode splits a ring record into its header and packet bytes.
func (c *Capture) decode(raw []byte) ([]byte, capture.Info, error) {
	if len(raw) < pktEventSize {
		return nil, capture.Info{}, errShortRecord
	}
	capLen := int(binary.LittleEndian.Uint16(raw[16:]))
	if pktEventSize+capLen > len(raw) {
		return nil, capture.Info{}, errShortRecord
	}
	ifindex := binary.LittleEndian.Uint32(raw[8:])
	pos := 0
	for i, idx := range c.ifidx {
		if idx == ifindex {
			pos = i
			break
		}
	}
	ci := capture.Info{
		Timestamp:     c.clock.time(binary.LittleEndian.Uint64(raw)),
		CaptureLength: capLen,
		Length:        int(binary.LittleEndian.Uint32(raw[12:])),
		LinkType:      capture.LinkRaw,
		Interface:     pos,
	}
	return raw[pktEventSize : pktEventSize+capLen], ci, nil
}

// Stats sums the kernel counters over CPUs. It allocates; call it from a
// metrics scrape, not per packet.
func (c *Capture) Stats() (CaptureStats, error) {
	var v [statMax]uint64
	if err := sumPerCPU(c.objs.CaptureStats, v[:]); err != nil {
		return CaptureStats{}, err
	}
	return CaptureStats{
		Seen: v[0], Matched: v[1], Emitted: v[2], RingDrops: v[3], Skipped: v[4],
		Truncated: v[5], FlowsHTTP: v[6], FlowsTLS: v[7], FlowsOther: v[8],
		ShortRecords: c.short,
	}, nil
}

const statMax = 9 // STAT_MAX in apitap.h

// Close detaches the programs, lets the reader empty the ring, and releases
// it. The packets the programs wrote before they were detached still come
// out of ReadPacket, then io.EOF: a stop under load would otherwise lose
// them, and no counter would say so. Close waits up to drainWait for a
// reader in another goroutine to get there; a capture nobody reads is
// released after that. Safe to call more than once.
func (c *Capture) Close() error {
	c.closeOnce.Do(func() {
		var errs []error
		errs = append(errs, c.detach())
		if c.reader != nil {
			c.closing.Store(true)
			// A blocked read returns what the ring holds, then ErrFlushed.
			if err := c.reader.Flush(); err == nil {
				select {
				case <-c.drained:
				case <-time.After(drainWait):
				}
			}
			errs = append(errs, c.reader.Close())
		}
		errs = append(errs, c.objs.Close())
		c.closeErr = errors.Join(errs...)
	})
	return c.closeErr
}

func (c *Capture) detach() error {
	var errs []error
	for _, h := range c.hooks {
		errs = append(errs, h.Close())
	}
	c.hooks = nil
	return errors.Join(errs...)
}

// sumPerCPU reads every key of a per-CPU u64 array and sums over CPUs.
func sumPerCPU(m *ebpf.Map, out []uint64) error {
	var per []uint64
	for i := range out {
		if err := m.Lookup(uint32(i), &per); err != nil {
			return fmt.Errorf("ebpf: read counter %d: %w", i, err)
		}
		var s uint64
		for _, x := range per {
			s += x
		}
		out[i] = s
	}
	return nil
}

// ringSize rounds n (default def) up to a power of two of at least a page.
func ringSize(n, def int) uint32 {
	if n <= 0 {
		n = def
	}
	size := uint32(os.Getpagesize())
	for int(size) < n && size < 1<<30 {
		size <<= 1
	}
	return size
}
