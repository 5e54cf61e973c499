package ebpf

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/features"
	"github.com/cilium/ebpf/link"
	"github.com/cilium/ebpf/ringbuf"
	"golang.org/x/sys/unix"
)

// Dir says which way TLS plaintext went, seen from the process.
type Dir uint8

const (
	// Write: the process sent the data (SSL_write).
	Write Dir = 1
	// Read: the process received the data (SSL_read).
	Read Dir = 2
)

// String returns "write" or "read".
func (d Dir) String() string {
	if d == Write {
		return "write"
	}
	return "read"
}

// Chunk is the plaintext of one SSL_read or SSL_write call, or of a Go
// program's (*tls.Conn).Read or Write (or, after a loss inside a call, the
// part of it that arrived). Chunks of one connection and direction arrive
// in order.
type Chunk struct {
	Time     time.Time // when the call returned
	PID, TID uint32
	Comm     string
	CgroupID uint64 // cgroup v2 id; see Resolver
	// Conn is the SSL* (or, in a Go program, the *tls.Conn) of the
	// connection: with PID it identifies the connection even when its
	// socket could not be resolved.
	Conn          uint64
	Local, Remote netip.AddrPort // zero when the socket was not resolved
	Dir           Dir
	// Data is owned by the TLSSource and valid only during the callback.
	Data []byte
	// Lost is how many bytes of this connection and direction were lost
	// (ring full, or a call larger than the per-call limit) right before
	// Data. The consumer should report a gap of that size before feeding
	// Data, so the HTTP parser resynchronises.
	Lost int
}

// TLSConfig configures a TLSSource; the zero value works.
type TLSConfig struct {
	// RingBytes is the plaintext ring buffer size. Default 8 MiB.
	RingBytes int
	// Libraries are extra libssl paths to probe at start, besides those
	// mapped by running processes (e.g. the system libssl, so that short-
	// lived clients started later are covered from their first call).
	Libraries []string
	// ScanInterval is the period of the full /proc scan that catches
	// libraries missed by exec notices. Default 30s; negative disables it.
	ScanInterval time.Duration
	// MaxPending bounds the calls being reassembled from pieces. Default 4096.
	MaxPending int
	// SocketCache bounds the (pid, fd) to address cache. Default 65536.
	SocketCache int
	// SingleUprobes places one uprobe per probed site of a Go program even
	// where the kernel has uprobe_multi links (Linux 6.6+), which it
	// otherwise uses: the way older kernels are probed, for comparison.
	SingleUprobes bool
	// Logger receives lifecycle lines (libraries probed). Nil: silent.
	Logger *slog.Logger
}

func (c *TLSConfig) scanInterval() time.Duration {
	if c.ScanInterval == 0 {
		return 30 * time.Second
	}
	return c.ScanInterval
}

func (c *TLSConfig) maxPending() int {
	if c.MaxPending <= 0 {
		return 4096
	}
	return c.MaxPending
}

func (c *TLSConfig) socketCache() int {
	if c.SocketCache <= 0 {
		return 65536
	}
	return c.SocketCache
}

// TLSStats counts what the TLS source saw. Kernel counters are summed over
// CPUs at the time of the call.
type TLSStats struct {
	Calls          uint64 // SSL calls that moved data (kernel)
	Records        uint64 // ring records written (kernel)
	RingDrops      uint64 // ring records lost (kernel)
	LostBytes      uint64 // plaintext bytes lost in the kernel
	NoFD           uint64 // calls whose socket fd was never seen (kernel)
	ExecDrops      uint64 // exec notices lost (kernel)
	Chunks         uint64 // chunks delivered
	Unresolved     uint64 // chunks whose socket addresses were unknown
	IncompleteCall uint64 // calls delivered with a missing tail
	Libraries      uint64 // distinct library files probed
	GoPrograms     uint64 // distinct Go executables whose crypto/tls is probed
	AttachErrors   uint64 // libraries that could not be probed
}

// TLSSource captures TLS plaintext with uprobes, from OpenSSL 1.1.1 and 3.x
// (libssl, or linked into an executable) and from Go programs' crypto/tls,
// stripped ones too. Create it with NewTLSSource, consume it with Run
// (once), release it with Close. Stats and Libraries are safe for
// concurrent use.
type TLSSource struct {
	cfg   TLSConfig
	log   *slog.Logger
	objs  tlsObjects
	links []link.Link // tracepoints
	ring  *ringbuf.Reader
	execs *ringbuf.Reader
	clock bootClock

	mu      sync.Mutex // guards libs, gos, libLink, paths
	libs    map[libKey]bool
	gos     map[libKey]*goBinary // Go executables looked at; nil: nothing to probe
	self    libKey               // this process's executable, never probed
	multi   bool                 // Go programs are probed through uprobe_multi links
	libLink []link.Link
	paths   []string

	chunks, unresolved, incomplete, libCount, goCount, attachErrs atomic.Uint64

	closeOnce sync.Once
	closeErr  error
}

// tlsPoll is how often Run looks for plaintext the kernel did not wake it
// for (less than TLS_WAKEUP_BYTES waiting): the most a record waits.
const tlsPoll = 20 * time.Millisecond

// Layout of struct tls_event (bpf/include/apitap.h); TestEventLayout checks
// these offsets against the bpf2go type.
const (
	tlsEventSize = 120
	tlsPartMax   = 4096
)

// NewTLSSource loads the uprobe programs, attaches the syscall and exec
// tracepoints, and probes libssl in every running process and in
// cfg.Libraries. Errors wrapping ErrNotSupported mean this kernel or process
// cannot do it (no BTF, no permission, no tracefs).
func NewTLSSource(cfg TLSConfig) (*TLSSource, error) {
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &TLSSource{cfg: cfg, log: log.With("component", "ebpf.TLSSource"),
		clock: newBootClock(), libs: make(map[libKey]bool), gos: make(map[libKey]*goBinary)}

	if err := checkKernel(); err != nil {
		return nil, err
	}
	if err := ensureTracefs(); err != nil {
		return nil, err
	}
	s.self, _ = fileKey("/proc/self/exe")
	spec, err := loadTls()
	if err != nil {
		return nil, fmt.Errorf("ebpf: parse tls object: %w", err)
	}
	spec.Maps["tls_ring"].MaxEntries = ringSize(cfg.RingBytes, 8<<20)
	s.multi = !cfg.SingleUprobes && features.HaveBPFLinkUprobeMulti() == nil
	if !s.multi {
		// Loaded as a plain uprobe program, which any kernel takes, and
		// never attached.
		spec.Programs["go_tls_multi"].AttachType = ebpf.AttachNone
	}
	if err := loadSpec(spec, &s.objs); err != nil {
		return nil, err
	}

	sys := map[string]*ebpf.Program{
		"sys_enter_write": s.objs.EnterWrite, "sys_enter_read": s.objs.EnterRead,
		"sys_enter_sendto": s.objs.EnterSendto, "sys_enter_recvfrom": s.objs.EnterRecvfrom,
		"sys_enter_writev": s.objs.EnterWritev, "sys_enter_readv": s.objs.EnterReadv,
		"sys_enter_sendmsg": s.objs.EnterSendmsg, "sys_enter_recvmsg": s.objs.EnterRecvmsg,
	}
	for name, prog := range sys {
		l, err := link.Tracepoint("syscalls", name, prog, nil)
		if err != nil {
			s.Close()
			return nil, notSupported("cannot attach syscall tracepoint "+name, err)
		}
		s.links = append(s.links, l)
	}
	l, err := link.AttachTracing(link.TracingOptions{Program: s.objs.OnExec})
	if err != nil {
		s.Close()
		return nil, notSupported("cannot attach tp_btf/sched_process_exec", err)
	}
	s.links = append(s.links, l)

	if s.ring, err = ringbuf.NewReader(s.objs.TlsRing); err != nil {
		s.Close()
		return nil, fmt.Errorf("ebpf: open tls ring: %w", err)
	}
	if s.execs, err = ringbuf.NewReader(s.objs.ExecRing); err != nil {
		s.Close()
		return nil, fmt.Errorf("ebpf: open exec ring: %w", err)
	}

	for _, p := range cfg.Libraries {
		s.attach(p)
	}
	s.scanAll()
	s.log.Info("ebpf tls probes attached", "libraries", s.Libraries(),
		"ring_bytes", spec.Maps["tls_ring"].MaxEntries)
	return s, nil
}

// ensureTracefs mounts tracefs at /sys/kernel/tracing when neither it nor the
// debugfs copy is mounted: the syscall tracepoints are found there.
func ensureTracefs() error {
	for _, p := range []string{"/sys/kernel/tracing/events", "/sys/kernel/debug/tracing/events"} {
		if _, err := os.Stat(p); err == nil {
			return nil
		}
	}
	if err := unix.Mount("nodev", "/sys/kernel/tracing", "tracefs", 0, ""); err != nil {
		return notSupported("tracefs not mounted and cannot be mounted at /sys/kernel/tracing", err)
	}
	return nil
}

// attach probes the library at path unless its inode is already probed.
func (s *TLSSource) attach(path string) {
	key, err := fileKey(path)
	if err != nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, seen := s.libs[key]; seen {
		return
	}
	links, err := attachLibrary(path, s.objs.probes())
	if err != nil {
		// Remember the failure too: retrying each scan would only repeat it.
		s.libs[key] = false
		s.attachErrs.Add(1)
		s.log.Warn("tls library not probed", "path", path, "error", err)
		return
	}
	s.libs[key] = true
	s.libLink = append(s.libLink, links...)
	s.paths = append(s.paths, path)
	s.libCount.Add(1)
	s.log.Info("tls library probed", "path", path, "probes", len(links))
}

// scanPID probes the TLS libraries one process maps, and its executable
// when that carries a TLS library of its own.
func (s *TLSSource) scanPID(pid int) {
	libs, err := mappedLibraries(pid)
	if err != nil {
		return // the process exited or is not ours to read
	}
	for _, p := range libs {
		s.attach(p)
	}
	s.scanExecutable(pid)
}

// scanExecutable probes pid's executable, if not probed yet, when it is a
// Go program with crypto/tls, or links OpenSSL in (Node.js does: its
// SSL_read and SSL_write are the executable's own). For a Go program it
// also tells the probes where the process keeps the itab they check
// connections by.
func (s *TLSSource) scanExecutable(pid int) {
	full, own, err := executable(pid)
	if err != nil {
		return
	}
	key, err := fileKey(full)
	if err != nil || key == s.self {
		// apitap is a Go program too: probing itself would feed its own
		// TLS (to Kafka) back into its capture.
		return
	}
	s.mu.Lock()
	b, seen := s.gos[key]
	var notGo bool
	if !seen {
		b, notGo = s.attachGo(full, key)
	}
	s.mu.Unlock()
	if notGo && definesSSL(full) {
		s.attach(full)
	}
	if b == nil {
		return
	}
	if itab := b.itabAt(pid, own); itab != 0 {
		// Best effort: without it the probes read any net.Conn as TCP.
		s.objs.GoProcs.Put(uint32(pid), tlsGoProc{TcpconnItab: itab})
	}
}

// attachGo inspects and probes the Go executable at path, remembering the
// outcome under key either way, and reports whether it is not a Go program
// at all; s.mu is held.
func (s *TLSSource) attachGo(full string, key libKey) (b *goBinary, notGo bool) {
	b, err := inspectGo(full)
	if err != nil {
		s.gos[key] = nil
		switch {
		case errors.Is(err, errNotGo):
			return nil, true
		case !errors.Is(err, errNotGoTLS):
			s.log.Warn("go program not probed", "path", full, "error", err)
		}
		return nil, false
	}
	links, err := attachGo(full, b, &s.objs, s.multi)
	if err != nil {
		s.gos[key] = nil
		s.attachErrs.Add(1)
		s.log.Warn("go program not probed", "path", full, "error", err)
		return nil, false
	}
	s.gos[key] = b
	s.libLink = append(s.libLink, links...)
	s.paths = append(s.paths, full)
	s.goCount.Add(1)
	s.log.Info("go crypto/tls probed", "path", full, "sites", 2+len(b.readRets),
		"links", len(links), "tcp_check", b.itab != 0)
	return b, false
}

// scanAll probes the TLS libraries of every running process.
func (s *TLSSource) scanAll() {
	d, err := os.Open("/proc")
	if err != nil {
		return
	}
	defer d.Close()
	names, _ := d.Readdirnames(-1)
	for _, n := range names {
		if pid, err := strconv.Atoi(n); err == nil {
			s.scanPID(pid)
		}
	}
}

// Libraries returns the paths of the probed library files and Go
// executables.
func (s *TLSSource) Libraries() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.paths...)
}

// Run delivers chunks to fn until ctx is done or the source is closed; it
// then returns nil (or the read error that stopped it). fn runs on Run's
// goroutine; Chunk and its Data are reused after fn returns. Run must be
// called once.
func (s *TLSSource) Run(ctx context.Context, fn func(*Chunk)) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	defer wg.Wait()
	wg.Add(2)
	go func() {
		defer wg.Done()
		s.watchExecs(ctx)
	}()
	go func() {
		defer wg.Done()
		<-ctx.Done()
		// Unblock ReadInto; the exec reader is closed by watchExecs' end.
		s.ring.Close()
		s.execs.Close()
	}()

	a := newAssembler(s, fn)
	var rec ringbuf.Record
	// The kernel wakes the reader only once TLS_WAKEUP_BYTES wait, so the
	// ring is polled every tlsPoll; pieces of a call left incomplete for
	// staleAfter are handed on as they are.
	const staleAfter = 500 * time.Millisecond
	lastFlush := time.Now()
	s.ring.SetDeadline(time.Now().Add(tlsPoll))
	for {
		err := s.ring.ReadInto(&rec)
		switch {
		case err == nil:
			a.record(rec.RawSample)
			continue
		case errors.Is(err, os.ErrDeadlineExceeded):
			if now := time.Now(); now.Sub(lastFlush) >= staleAfter {
				a.flushStale(now.Add(-staleAfter))
				lastFlush = now
			}
			s.ring.SetDeadline(time.Now().Add(tlsPoll))
			continue
		case errors.Is(err, ringbuf.ErrClosed):
			a.flushAll()
			return nil
		default:
			return fmt.Errorf("ebpf: read tls ring: %w", err)
		}
	}
}

// watchExecs rescans processes that exec'd, after short delays (the loader
// maps libssl only after exec), plus a periodic full scan.
func (s *TLSSource) watchExecs(ctx context.Context) {
	pids := make(chan uint32, 1024)
	go func() {
		var rec ringbuf.Record
		for {
			if err := s.execs.ReadInto(&rec); err != nil {
				close(pids)
				return
			}
			if len(rec.RawSample) >= 4 {
				select {
				case pids <- binary.LittleEndian.Uint32(rec.RawSample):
				default: // scanner busy: the periodic scan catches up
				}
			}
		}
	}()
	type due struct {
		pid  uint32
		at   time.Time
		left int
	}
	var queue []due
	ticker := time.NewTicker(20 * time.Millisecond)
	defer ticker.Stop()
	var full <-chan time.Time
	if iv := s.cfg.scanInterval(); iv > 0 {
		t := time.NewTicker(iv)
		defer t.Stop()
		full = t.C
	}
	for {
		select {
		case <-ctx.Done():
			return
		case pid, ok := <-pids:
			if !ok {
				return
			}
			if len(queue) < 4096 {
				queue = append(queue, due{pid, time.Now().Add(5 * time.Millisecond), 3})
			}
		case <-full:
			s.scanAll()
		case now := <-ticker.C:
			kept := queue[:0]
			for _, d := range queue {
				if now.Before(d.at) {
					kept = append(kept, d)
					continue
				}
				s.scanPID(int(d.pid))
				// Scan again later: dlopen'ed or late-loaded libraries.
				if d.left--; d.left > 0 {
					d.at = now.Add(200 * time.Millisecond)
					kept = append(kept, d)
				}
			}
			queue = kept
		}
	}
}

// Stats returns the counters. It reads kernel maps and allocates.
func (s *TLSSource) Stats() (TLSStats, error) {
	var v [6]uint64 // TSTAT_MAX
	if err := sumPerCPU(s.objs.TlsStats, v[:]); err != nil {
		return TLSStats{}, err
	}
	return TLSStats{
		Calls: v[0], Records: v[1], RingDrops: v[2], LostBytes: v[3], NoFD: v[4],
		ExecDrops: v[5], Chunks: s.chunks.Load(), Unresolved: s.unresolved.Load(),
		IncompleteCall: s.incomplete.Load(), Libraries: s.libCount.Load(),
		GoPrograms:   s.goCount.Load(),
		AttachErrors: s.attachErrs.Load(),
	}, nil
}

// Close detaches every probe and frees the maps. Run returns soon after.
func (s *TLSSource) Close() error {
	s.closeOnce.Do(func() {
		var errs []error
		if s.ring != nil {
			errs = append(errs, s.ring.Close())
		}
		if s.execs != nil {
			errs = append(errs, s.execs.Close())
		}
		s.mu.Lock()
		errs = append(errs, closeAll(s.libLink))
		s.libLink = nil
		s.mu.Unlock()
		for _, l := range s.links {
			errs = append(errs, l.Close())
		}
		errs = append(errs, s.objs.Close())
		s.closeErr = errors.Join(errs...)
	})
	return s.closeErr
}

// closeAll closes links side by side. Removing a uprobe waits for the
// kernel's grace period, some 0.2 s on a virtual machine, and a sensor
// holds dozens (nine per Go program): one after the other they kept a stop
// waiting for seconds, in parallel the waits overlap.
func closeAll(links []link.Link) error {
	errs := make([]error, len(links))
	var wg sync.WaitGroup
	sem := make(chan struct{}, 64)
	for i, l := range links {
		wg.Go(func() {
			sem <- struct{}{}
			errs[i] = l.Close()
			<-sem
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}
