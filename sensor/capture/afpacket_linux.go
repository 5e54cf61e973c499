//go:build linux

package capture

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// AFPacketConfig configures a live capture. The zero value captures every
// interface with one worker.
type AFPacketConfig struct {
	// Interfaces are names or glob patterns ("veth*"); "all" or an empty
	// list means every interface. A name without glob characters must exist
	// when the capture starts; patterns may match nothing yet.
	Interfaces []string
	// Workers is the number of sources, each joined to a PACKET_FANOUT
	// group per interface so that the kernel hands it whole flows. Default 1.
	Workers int
	// Snaplen is the most bytes kept per packet. Default 262144.
	Snaplen int
	// BlockSize is the TPACKET_V3 block size, a multiple of the page size.
	// Default 1MiB. NumBlocks is the number of blocks per ring; default 32.
	// Each worker has one ring per interface.
	BlockSize int
	NumBlocks int
	// BlockTimeout retires a partly filled block after this long, bounding
	// latency on quiet links. Default 50ms; millisecond resolution.
	BlockTimeout time.Duration
	// Filter is compiled per interface for its link type.
	Filter Filter
	// FanoutGroup is the base PACKET_FANOUT group id; each interface uses
	// FanoutGroup+ifindex. Default: derived from the process id, so two
	// sensors on one host do not share a group by accident.
	FanoutGroup uint16
	// Promiscuous asks each interface for promiscuous mode while attached.
	Promiscuous bool
	// NetNS is the path of a network namespace file (/var/run/netns/x,
	// /proc/PID/ns/net) to capture in. Default: the caller's namespace.
	NetNS string
	// WatchInterval is how often the interface list is polled for
	// interfaces that appear or vanish. Default 2s.
	WatchInterval time.Duration
	// Logger receives lifecycle lines (attach, detach). Nil discards.
	Logger *slog.Logger

	// loopbackBoth keeps both copies of loopback packets; tests use it to
	// show the duplication that OutgoingOnly removes.
	loopbackBoth bool
}

// AFPacket is a live capture on AF_PACKET TPACKET_V3 rings: one socket per
// worker per interface, with the sockets of one interface in a
// PACKET_FANOUT_HASH group so that both directions of a flow reach the same
// worker. It needs CAP_NET_RAW (and CAP_NET_ADMIN for promiscuous mode).
//
// Methods are safe for concurrent use; each worker Source must be read by
// one goroutine at a time.
type AFPacket struct {
	cfg AFPacketConfig
	log *slog.Logger

	workers []*AFPacketWorker

	mu      sync.Mutex
	ifaces  map[int]*attachment // by ifindex
	ifstats map[string]*ifaceCounters
	closed  bool

	stop chan struct{}
	done chan struct{}
}

// Interface is an interface the capture is attached to.
type Interface struct {
	Index int // kernel ifindex, as in Info.Interface
	Name  string
}

// InterfaceStats are the kernel's counters for one interface, summed over
// the workers' sockets since the capture started (including sockets already
// closed because the interface vanished).
type InterfaceStats struct {
	Name string
	// Packets passed the filter; Drops of them found the ring full;
	// QueueFreezes counts times the ring filled up.
	Packets, Drops, QueueFreezes uint64
}

type ifaceCounters struct {
	packets, drops, freezes atomic.Uint64
}

// attachment is one interface and its rings, one per worker.
type attachment struct {
	Interface
	rings []*ring
}

// Live-capture errors.
var (
	ErrNoInterface = errors.New("capture: interface not found")
	ErrClosed      = errors.New("capture: source closed")
)

// NewAFPacket attaches to every interface that matches cfg.Interfaces and
// starts the watcher that attaches to later ones. Close releases it.
func NewAFPacket(cfg AFPacketConfig) (*AFPacket, error) {
	cfg.fill()
	for _, p := range cfg.Interfaces {
		if _, err := path.Match(p, ""); err != nil {
			return nil, fmt.Errorf("capture: interface pattern %q: %w", p, err)
		}
	}
	a := &AFPacket{
		cfg:     cfg,
		log:     cfg.Logger.With("component", "capture.AFPacket"),
		ifaces:  map[int]*attachment{},
		ifstats: map[string]*ifaceCounters{},
		stop:    make(chan struct{}),
		done:    make(chan struct{}),
	}
	for i := range cfg.Workers {
		efd, err := unix.Eventfd(0, unix.EFD_CLOEXEC|unix.EFD_NONBLOCK)
		if err != nil {
			a.closeWorkers()
			return nil, fmt.Errorf("capture: eventfd: %w", err)
		}
		a.workers = append(a.workers, &AFPacketWorker{parent: a, id: i, efd: efd})
	}

	list, err := a.list()
	if err != nil {
		a.closeWorkers()
		return nil, err
	}
	for _, p := range cfg.Interfaces {
		if p == "all" || isPattern(p) {
			continue
		}
		if !slices.ContainsFunc(list, func(ifc net.Interface) bool { return ifc.Name == p }) {
			a.closeWorkers()
			return nil, fmt.Errorf("%w: %s", ErrNoInterface, p)
		}
	}
	if err := a.sync(list); err != nil {
		close(a.done) // no watcher to wait for
		a.Close()
		return nil, err
	}
	go a.watch()
	return a, nil
}

func (c *AFPacketConfig) fill() {
	if len(c.Interfaces) == 0 {
		c.Interfaces = []string{"all"}
	}
	if c.Workers <= 0 {
		c.Workers = 1
	}
	if c.Snaplen <= 0 {
		c.Snaplen = 262144
	}
	if c.BlockSize <= 0 {
		c.BlockSize = 1 << 20
	}
	if c.NumBlocks <= 0 {
		c.NumBlocks = 32
	}
	if c.BlockTimeout <= 0 {
		c.BlockTimeout = 50 * time.Millisecond
	}
	if c.FanoutGroup == 0 {
		c.FanoutGroup = uint16(os.Getpid())
	}
	if c.WatchInterval <= 0 {
		c.WatchInterval = 2 * time.Second
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
}

func isPattern(p string) bool {
	for i := 0; i < len(p); i++ {
		switch p[i] {
		case '*', '?', '[', '\\':
			return true
		}
	}
	return false
}

func (a *AFPacket) matches(name string) bool {
	for _, p := range a.cfg.Interfaces {
		if p == "all" {
			return true
		}
		if ok, _ := path.Match(p, name); ok {
			return true
		}
	}
	return false
}

// Workers returns one Source per worker. The sources stay valid until Close;
// Info.Interface is the kernel ifindex of the packet's interface.
func (a *AFPacket) Workers() []Source {
	out := make([]Source, len(a.workers))
	for i, w := range a.workers {
		out[i] = w
	}
	return out
}

// Interfaces returns the interfaces currently attached, by ifindex.
func (a *AFPacket) Interfaces() []Interface {
	a.mu.Lock()
	defer a.mu.Unlock()
	out := make([]Interface, 0, len(a.ifaces))
	for _, at := range a.ifaces {
		out = append(out, at.Interface)
	}
	slices.SortFunc(out, func(x, y Interface) int { return x.Index - y.Index })
	return out
}

// Stats reads the kernel counters of every socket and returns the totals per
// interface name, sorted by name.
func (a *AFPacket) Stats() []InterfaceStats {
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, at := range a.ifaces {
		for _, r := range at.rings {
			r.readStats()
		}
	}
	out := make([]InterfaceStats, 0, len(a.ifstats))
	for name, c := range a.ifstats {
		out = append(out, InterfaceStats{Name: name, Packets: c.packets.Load(),
			Drops: c.drops.Load(), QueueFreezes: c.freezes.Load()})
	}
	slices.SortFunc(out, func(x, y InterfaceStats) int {
		if x.Name < y.Name {
			return -1
		}
		if x.Name > y.Name {
			return 1
		}
		return 0
	})
	return out
}

// Close stops the watcher and wakes every worker. A worker's ReadPacket then
// returns the packets its rings still held, then io.EOF, and releases the
// rings (a worker never read is released here): read every worker to
// io.EOF after Close, as each must to end its flows anyway. Packet data
// stays valid until the next ReadPacket, as before Close.
func (a *AFPacket) Close() error {
	a.mu.Lock()
	if a.closed {
		a.mu.Unlock()
		return nil
	}
	a.closed = true
	a.mu.Unlock()

	close(a.stop)
	<-a.done
	a.closeWorkers()
	return nil
}

func (a *AFPacket) closeWorkers() {
	for _, w := range a.workers {
		w.close()
	}
}

// list returns the interfaces of the capture's network namespace.
func (a *AFPacket) list() ([]net.Interface, error) {
	var list []net.Interface
	err := inNetNS(a.cfg.NetNS, func() error {
		var err error
		list, err = net.Interfaces()
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("capture: list interfaces: %w", err)
	}
	return list, nil
}

// watch polls the interface list until Close.
func (a *AFPacket) watch() {
	defer close(a.done)
	t := time.NewTicker(a.cfg.WatchInterval)
	defer t.Stop()
	for {
		select {
		case <-a.stop:
			return
		case <-t.C:
		}
		list, err := a.list()
		if err != nil {
			a.log.Warn("interface poll", "error", err)
			continue
		}
		if err := a.sync(list); err != nil {
			a.log.Warn("interface attach", "error", err)
		}
	}
}

// sync attaches to matching interfaces that are new and detaches from those
// gone (or renamed out of the patterns). An interface that fails to attach
// is retried on the next poll.
func (a *AFPacket) sync(list []net.Interface) error {
	present := map[int]net.Interface{}
	for _, ifc := range list {
		if a.matches(ifc.Name) {
			present[ifc.Index] = ifc
		}
	}

	a.mu.Lock()
	var gone []*attachment
	for idx, at := range a.ifaces {
		if ifc, ok := present[idx]; !ok || ifc.Name != at.Name {
			gone = append(gone, at)
			delete(a.ifaces, idx)
		}
	}
	var fresh []net.Interface
	for idx, ifc := range present {
		if _, ok := a.ifaces[idx]; !ok {
			fresh = append(fresh, ifc)
		}
	}
	closed := a.closed
	a.mu.Unlock()

	for _, at := range gone {
		a.log.Info("detach interface", "iface", at.Name, "ifindex", at.Index)
		for i, r := range at.rings {
			a.workers[i].remove(r)
		}
	}
	if closed {
		return nil
	}

	var errs []error
	slices.SortFunc(fresh, func(x, y net.Interface) int { return x.Index - y.Index })
	for _, ifc := range fresh {
		at, err := a.attach(ifc)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		a.mu.Lock()
		a.ifaces[ifc.Index] = at
		a.mu.Unlock()
		for i, r := range at.rings {
			a.workers[i].add(r)
		}
		a.log.Info("attach interface", "iface", ifc.Name, "ifindex", ifc.Index,
			"workers", len(at.rings), "ring_bytes", a.cfg.BlockSize*a.cfg.NumBlocks)
	}
	return errors.Join(errs...)
}

func (a *AFPacket) counters(name string) *ifaceCounters {
	a.mu.Lock()
	defer a.mu.Unlock()
	c, ok := a.ifstats[name]
	if !ok {
		c = new(ifaceCounters)
		a.ifstats[name] = c
	}
	return c
}

// attach opens one ring per worker on ifc.
func (a *AFPacket) attach(ifc net.Interface) (*attachment, error) {
	at := &attachment{Interface: Interface{Index: ifc.Index, Name: ifc.Name}}
	cnt := a.counters(ifc.Name)
	group := a.cfg.FanoutGroup + uint16(ifc.Index)
	for range a.workers {
		var r *ring
		err := inNetNS(a.cfg.NetNS, func() error {
			var err error
			r, err = openRing(&a.cfg, ifc, group, cnt)
			return err
		})
		if err != nil {
			for _, r := range at.rings {
				r.close()
			}
			return nil, fmt.Errorf("capture: open afpacket %s: %w", ifc.Name, err)
		}
		at.rings = append(at.rings, r)
	}
	return at, nil
}

// AFPacketWorker is one worker's Source: the rings it owns on every attached
// interface. ReadPacket must be called from one goroutine at a time.
type AFPacketWorker struct {
	parent *AFPacket
	id     int
	efd    int // eventfd: wakes the poll on add, remove and close

	mu      sync.Mutex // guards pending, removed, closed
	pending []*ring
	removed []*ring
	closed  bool

	readMu sync.Mutex // held by ReadPacket; Close waits for it
	rings  []*ring    // owned by the reader
	next   int        // round-robin position in rings
	pfds   []unix.PollFd
	// started is set by the first ReadPacket: from then on the reader, not
	// Close, releases the rings (see drain). drainBy is when a drain that
	// began stops waiting for the kernel; done is set once the rings are
	// released and ReadPacket only reports io.EOF.
	started bool
	drainBy time.Time
	done    bool
}

func (w *AFPacketWorker) add(r *ring) {
	w.mu.Lock()
	w.pending = append(w.pending, r)
	w.mu.Unlock()
	w.wake()
}

func (w *AFPacketWorker) remove(r *ring) {
	w.mu.Lock()
	w.removed = append(w.removed, r)
	w.mu.Unlock()
	w.wake()
}

func (w *AFPacketWorker) wake() {
	var one [8]byte
	binary.NativeEndian.PutUint64(one[:], 1)
	_, _ = unix.Write(w.efd, one[:])
}

// reload applies pending adds and removes; only the reader calls it, so a
// ring is never closed while it is being polled. Once the worker is closed
// the eventfd is left alone: close releases it as soon as no ReadPacket runs.
func (w *AFPacketWorker) reload() (closed bool) {
	w.mu.Lock()
	add, rm, closed := w.pending, w.removed, w.closed
	w.pending, w.removed = nil, nil
	w.mu.Unlock()
	if !closed {
		var buf [8]byte
		_, _ = unix.Read(w.efd, buf[:])
	}

	w.rings = append(w.rings, add...)
	for _, r := range rm {
		if i := slices.Index(w.rings, r); i >= 0 {
			w.rings = slices.Delete(w.rings, i, i+1)
		}
		r.close()
	}
	return closed
}

// ReadPacket returns the next packet from any of the worker's rings. The
// data points into the kernel ring and is valid until the next call. It
// blocks until a packet arrives, or returns ErrIdle after IdleInterval
// without one. After Close it returns what the rings still held (see
// drain), then io.EOF.
func (w *AFPacketWorker) ReadPacket() ([]byte, Info, error) {
	w.readMu.Lock()
	defer w.readMu.Unlock()
	w.started = true
	for {
		if w.done {
			return nil, Info{}, io.EOF
		}
		if !w.drainBy.IsZero() || w.reload() {
			return w.drain()
		}
		// Drain ready blocks round-robin so that a busy interface cannot
		// starve a quiet one.
		for range w.rings {
			r := w.rings[w.next%len(w.rings)]
			if data, ci, ok := r.next(); ok {
				return data, ci, nil
			}
			w.next++
		}

		w.pfds = w.pfds[:0]
		w.pfds = append(w.pfds, unix.PollFd{Fd: int32(w.efd), Events: unix.POLLIN})
		for _, r := range w.rings {
			w.pfds = append(w.pfds, unix.PollFd{Fd: int32(r.fd), Events: unix.POLLIN | unix.POLLERR})
		}
		n, err := unix.Poll(w.pfds, int(IdleInterval/time.Millisecond))
		if err != nil && err != unix.EINTR {
			return nil, Info{}, fmt.Errorf("capture: poll: %w", err)
		}
		if n == 0 && err == nil {
			return nil, Info{}, ErrIdle
		}
		for i, p := range w.pfds[1:] {
			if p.Revents&unix.POLLERR != 0 {
				// The interface went down or away (ENETDOWN). Reading
				// SO_ERROR clears it so poll does not spin; the socket
				// resumes by itself when the interface comes back up,
				// and the watcher detaches it if it is gone for good.
				w.rings[i].clearErr()
			}
		}
	}
}

// drain is ReadPacket once the capture is closed. A stop under load finds
// packets in the rings that the kernel delivered and counted, and dropping
// them would lose their exchanges without a trace; so drain hands out the
// blocks the kernel filled, and those it retires within two block timeouts
// (the one it was filling), but no more than a ring's worth of blocks, so
// that traffic that keeps coming cannot hold the stop. Then it releases the
// rings and reports io.EOF.
func (w *AFPacketWorker) drain() ([]byte, Info, error) {
	if w.drainBy.IsZero() {
		w.drainBy = time.Now().Add(2*w.parent.cfg.BlockTimeout + 10*time.Millisecond)
		for _, r := range w.rings {
			r.draining, r.budget = true, r.numBlocks
		}
	}
	for {
		spent := 0
		for range w.rings {
			r := w.rings[w.next%len(w.rings)]
			if data, ci, ok := r.next(); ok {
				return data, ci, nil
			}
			if r.spent() {
				spent++
			}
			w.next++
		}
		wait := time.Until(w.drainBy)
		if spent == len(w.rings) || wait <= 0 {
			break
		}
		// Wait for the kernel to retire a block; the eventfd has no say
		// now, only the rings.
		w.pfds = w.pfds[:0]
		for _, r := range w.rings {
			if !r.spent() {
				w.pfds = append(w.pfds, unix.PollFd{Fd: int32(r.fd), Events: unix.POLLIN})
			}
		}
		if _, err := unix.Poll(w.pfds, int(wait/time.Millisecond)+1); err != nil &&
			err != unix.EINTR {
			break
		}
	}
	w.release()
	return nil, Info{}, io.EOF
}

// release closes the worker's rings; ReadPacket reports io.EOF from now on.
func (w *AFPacketWorker) release() {
	for _, r := range w.rings {
		r.close()
	}
	w.rings = nil
	w.done = true
}

// Close closes the whole capture; see AFPacket.Close.
func (w *AFPacketWorker) Close() error { return w.parent.Close() }

// close stops the worker. Once a reader has called ReadPacket, the rings
// are its to release: the last packet it got may still be in use, and the
// packets after it are drained first (see drain). A worker that was never
// read is released here.
func (w *AFPacketWorker) close() {
	w.mu.Lock()
	if w.closed {
		w.mu.Unlock()
		return
	}
	w.closed = true
	w.mu.Unlock()
	w.wake()

	w.readMu.Lock()
	defer w.readMu.Unlock()
	// No ReadPacket runs, and none will read the eventfd again (reload
	// checks closed first), so it can go now.
	unix.Close(w.efd)
	if !w.started {
		w.reload()
		w.release()
	}
}

// ring is one TPACKET_V3 socket and its mapped ring.
type ring struct {
	fd        int
	mem       []byte
	blockSize int
	numBlocks int
	ifindex   int
	link      LinkType
	cnt       *ifaceCounters

	statsMu sync.Mutex // guards fd against close during readStats
	closed  bool

	// Reader state: the current block and the next packet in it.
	blk     int
	inBlock bool
	left    uint32
	off     uint32
	// While draining, budget is how many more blocks next may start.
	draining bool
	budget   int
}

// Offsets in struct tpacket_block_desc and struct tpacket3_hdr
// (linux/if_packet.h); the sockaddr_ll follows the header at
// TPACKET_ALIGN(sizeof(struct tpacket3_hdr)) = 48.
const (
	bdStatus   = 8
	bdNumPkts  = 12
	bdFirstPkt = 16
	hNext      = 0
	hSec       = 4
	hNsec      = 8
	hSnaplen   = 12
	hLen       = 16
	hMac       = 24
	hSLL       = 48
	sllHatype  = hSLL + 8
)

func openRing(cfg *AFPacketConfig, ifc net.Interface, group uint16, cnt *ifaceCounters) (*ring, error) {
	// Protocol 0: the socket receives nothing until bind, so no packet
	// reaches it before the filter is attached.
	fd, err := unix.Socket(unix.AF_PACKET, unix.SOCK_RAW|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("socket: %w", err)
	}
	r := &ring{fd: fd, ifindex: ifc.Index, cnt: cnt, blockSize: cfg.BlockSize, numBlocks: cfg.NumBlocks}
	fail := func(what string, err error) (*ring, error) {
		r.close()
		return nil, fmt.Errorf("%s: %w", what, err)
	}

	hatype, err := hardwareType(fd, ifc.Name)
	if err != nil {
		return fail("read link type", err)
	}
	switch hatype {
	case unix.ARPHRD_ETHER, unix.ARPHRD_LOOPBACK:
		r.link = LinkEthernet
	case unix.ARPHRD_NONE, unix.ARPHRD_PPP, arphrdRawIP:
		r.link = LinkRaw
	default:
		return fail("link type", fmt.Errorf("%w: ARPHRD %d", ErrFilterLinkType, hatype))
	}

	prog, err := cfg.Filter.Program(r.link, cfg.Snaplen)
	if err != nil {
		return fail("compile filter", err)
	}
	if ifc.Flags&net.FlagLoopback != 0 && !cfg.loopbackBoth {
		if prog, err = OutgoingOnly(prog); err != nil {
			return fail("compile filter", err)
		}
	}
	if err := unix.SetsockoptInt(fd, unix.SOL_PACKET, unix.PACKET_VERSION, unix.TPACKET_V3); err != nil {
		return fail("set TPACKET_V3", err)
	}
	fprog := unix.SockFprog{Len: uint16(len(prog)), Filter: (*unix.SockFilter)(unsafe.Pointer(&prog[0]))}
	if err := unix.SetsockoptSockFprog(fd, unix.SOL_SOCKET, unix.SO_ATTACH_FILTER, &fprog); err != nil {
		return fail("attach filter", err)
	}
	const frame = 1 << 11 // unused by V3 but must divide the block
	req := unix.TpacketReq3{
		Block_size:     uint32(cfg.BlockSize),
		Block_nr:       uint32(cfg.NumBlocks),
		Frame_size:     frame,
		Frame_nr:       uint32(cfg.BlockSize / frame * cfg.NumBlocks),
		Retire_blk_tov: uint32(max(cfg.BlockTimeout/time.Millisecond, 1)),
	}
	if err := unix.SetsockoptTpacketReq3(fd, unix.SOL_PACKET, unix.PACKET_RX_RING, &req); err != nil {
		return fail("set up ring", err)
	}
	r.mem, err = unix.Mmap(fd, 0, cfg.BlockSize*cfg.NumBlocks, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
	if err != nil {
		return fail("map ring", err)
	}
	sll := unix.SockaddrLinklayer{Protocol: htons(unix.ETH_P_ALL), Ifindex: ifc.Index}
	if err := unix.Bind(fd, &sll); err != nil {
		return fail("bind", err)
	}
	if cfg.Workers > 1 {
		// Symmetric flow hash: since Linux 4.9 fanout hashes the flow keys
		// itself (not skb->hash), so both directions land on one socket.
		// DEFRAG keeps the fragments of one datagram together.
		arg := int(group) | (unix.PACKET_FANOUT_HASH|unix.PACKET_FANOUT_FLAG_DEFRAG)<<16
		if err := unix.SetsockoptInt(fd, unix.SOL_PACKET, unix.PACKET_FANOUT, arg); err != nil {
			return fail(fmt.Sprintf("join fanout group %d", group), err)
		}
	}
	if cfg.Promiscuous {
		mreq := unix.PacketMreq{Ifindex: int32(ifc.Index), Type: unix.PACKET_MR_PROMISC}
		if err := unix.SetsockoptPacketMreq(fd, unix.SOL_PACKET, unix.PACKET_ADD_MEMBERSHIP, &mreq); err != nil {
			return fail("set promiscuous", err)
		}
	}
	return r, nil
}

// ARPHRD_RAWIP (linux/if_arp.h) is missing from x/sys.
const arphrdRawIP = 519

func htons(v uint16) uint16 { return v<<8 | v>>8 }

// hardwareType reads the interface's ARPHRD type (the sa_family of its
// hardware address) through the packet socket, so it answers for the
// socket's network namespace.
func hardwareType(fd int, name string) (uint16, error) {
	ifr, err := unix.NewIfreq(name)
	if err != nil {
		return 0, err
	}
	if err := unix.IoctlIfreq(fd, unix.SIOCGIFHWADDR, ifr); err != nil {
		return 0, err
	}
	return ifr.Uint16(), nil
}

func (r *ring) u32(off int) uint32 { return binary.NativeEndian.Uint32(r.mem[off:]) }

func (r *ring) status(blk int) *uint32 {
	return (*uint32)(unsafe.Pointer(&r.mem[blk*r.blockSize+bdStatus]))
}

// next returns the next packet of the current block, handing finished
// blocks back to the kernel. The previous packet's block is released only
// here, so its data stays valid until the caller asks for another packet.
func (r *ring) next() ([]byte, Info, bool) {
	for {
		base := r.blk * r.blockSize
		if !r.inBlock {
			if r.spent() ||
				atomic.LoadUint32(r.status(r.blk))&unix.TP_STATUS_USER == 0 {
				return nil, Info{}, false
			}
			if r.draining {
				r.budget--
			}
			r.inBlock = true
			r.left = r.u32(base + bdNumPkts)
			r.off = r.u32(base + bdFirstPkt)
		}
		if r.left == 0 || int(r.off) >= r.blockSize {
			atomic.StoreUint32(r.status(r.blk), unix.TP_STATUS_KERNEL)
			r.blk = (r.blk + 1) % r.numBlocks
			r.inBlock = false
			continue
		}
		h := base + int(r.off)
		snap := int(r.u32(h + hSnaplen))
		mac := int(binary.NativeEndian.Uint16(r.mem[h+hMac:]))
		start := h + mac
		if start+snap > base+r.blockSize {
			snap = base + r.blockSize - start // defensive: never read past the block
		}
		ci := Info{
			Timestamp:     time.Unix(int64(r.u32(h+hSec)), int64(r.u32(h+hNsec))),
			CaptureLength: snap,
			Length:        int(r.u32(h + hLen)),
			LinkType:      r.link,
			Interface:     r.ifindex,
		}
		data := r.mem[start : start+snap : start+snap]
		r.left--
		if nxt := r.u32(h + hNext); nxt != 0 {
			r.off += nxt
		} else {
			r.left = 0
		}
		return data, ci, true
	}
}

// spent reports whether a draining ring has started all the blocks it may.
func (r *ring) spent() bool { return r.draining && r.budget <= 0 && !r.inBlock }

// readStats adds the socket's PACKET_STATISTICS, which the kernel resets on
// every read, to the interface counters.
func (r *ring) readStats() {
	r.statsMu.Lock()
	defer r.statsMu.Unlock()
	if r.closed {
		return
	}
	st, err := unix.GetsockoptTpacketStatsV3(r.fd, unix.SOL_PACKET, unix.PACKET_STATISTICS)
	if err != nil {
		return
	}
	r.cnt.packets.Add(uint64(st.Packets))
	r.cnt.drops.Add(uint64(st.Drops))
	r.cnt.freezes.Add(uint64(st.Freeze_q_cnt))
}

func (r *ring) clearErr() {
	_, _ = unix.GetsockoptInt(r.fd, unix.SOL_SOCKET, unix.SO_ERROR)
}

func (r *ring) close() {
	r.readStats()
	r.statsMu.Lock()
	defer r.statsMu.Unlock()
	if r.closed {
		return
	}
	r.closed = true
	if r.mem != nil {
		_ = unix.Munmap(r.mem)
		r.mem = nil
	}
	_ = unix.Close(r.fd)
}

// inNetNS runs fn with the calling thread in the network namespace at
// nsPath, or directly when nsPath is empty. Sockets created by fn stay in
// that namespace for their whole life. The thread is never returned to the
// Go scheduler (no UnlockOSThread), so it dies with the goroutine instead of
// running other goroutines in the wrong namespace.
func inNetNS(nsPath string, fn func() error) error {
	if nsPath == "" {
		return fn()
	}
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		f, err := os.Open(nsPath)
		if err != nil {
			errc <- err
			return
		}
		defer f.Close()
		if err := unix.Setns(int(f.Fd()), unix.CLONE_NEWNET); err != nil {
			errc <- fmt.Errorf("setns %s: %w", nsPath, err)
			return
		}
		errc <- fn()
	}()
	return <-errc
}
