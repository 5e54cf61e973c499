package live

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/apitap/apitap/pipeline/ocsf"
	"github.com/apitap/apitap/pipeline/sink"
	"github.com/apitap/apitap/sensor/config"
	"github.com/apitap/apitap/sensor/engine"
	"github.com/apitap/apitap/sensor/flow"
	"github.com/apitap/apitap/sensor/inventory"
	"github.com/apitap/apitap/sensor/metrics"
	"github.com/apitap/apitap/sensor/privilege"
)

// Errors returned by New and Run.
var (
	// ErrNoSensorConfig means Config.Sensor is nil.
	ErrNoSensorConfig = errors.New("live: no sensor configuration")
	// ErrRunning means Run was called twice.
	ErrRunning = errors.New("live: runtime already ran")
)

// Runtime is the running sensor. Create it with New, start it with Run
// (once); Reload may be called from any goroutine while Run runs.
type Runtime struct {
	cfg  Config
	log  *slog.Logger // with component=live.Runtime
	base *slog.Logger // for the components the runtime starts; they add their own
	m    *metrics.Metrics

	board switchboard
	guard memoryGuard
	ecfg  engine.Config

	mu      sync.Mutex // guards sc and ran
	sc      *config.Config
	ran     bool
	emitter *emitter

	// counters already folded into the metrics, to add only the deltas
	folded folded
}

// New checks cfg and prepares the analyses (specs, vendors) and the state
// directory. It opens no socket: Run does.
func New(cfg Config) (*Runtime, error) {
	if cfg.Sensor == nil {
		return nil, ErrNoSensorConfig
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	r := &Runtime{cfg: cfg, log: log.With("component", "live.Runtime"), base: log,
		m: cfg.Metrics, sc: cfg.Sensor}
	if r.m == nil {
		r.m = metrics.New()
	}
	if err := prepareStateDir(cfg.Sensor.StateDir); err != nil {
		return nil, err
	}
	a, err := buildAnalyses(cfg.Sensor, cfg.Exchanges)
	if err != nil {
		return nil, err
	}
	dir := cfg.Sensor.StateDir
	restored, err := loadInventory(a.inv, dir)
	if err != nil {
		// Load leaves the inventory empty when the file is damaged.
		if err := r.setAside(filepath.Join(dir, InventoryFile), err); err != nil {
			return nil, fmt.Errorf("live: restore inventory: %w", err)
		}
	}
	seen, err := loadEmitted(dir)
	if err != nil {
		if err := r.setAside(filepath.Join(dir, EmittedFile), err); err != nil {
			return nil, err
		}
		seen = newEmitted()
	}
	if restored {
		r.log.Info("state restored", "dir", cfg.Sensor.StateDir,
			"endpoints", len(a.inv.Endpoints()), "emitted_findings", len(seen.Findings))
	}
	r.board.cur = a
	r.guard = memoryGuard{limit: cfg.MemoryLimit, log: r.log}
	r.ecfg = engineConfig(cfg.Sensor)
	r.ecfg.AdmitFlow = r.guard.admit
	host := cfg.Hostname
	if host == "" {
		host, _ = os.Hostname()
	}
	r.emitter = &emitter{enc: ocsf.NewEncoder(ocsf.Identity{SensorVersion: cfg.Version,
		Hostname: host}), seen: seen, m: r.m, log: r.log, now: time.Now}
	return r, nil
}

// setAside handles a state file that could not be loaded (err): a sensor
// that cannot read its state starts afresh rather than not at all, which
// for a DaemonSet would mean a pod restarting for ever, and the file is
// kept beside, renamed <name>.bad-<unix seconds>, for whoever looks into
// why. A file the sensor may not read is a setup error instead, returned.
func (r *Runtime) setAside(path string, err error) error {
	if errors.Is(err, fs.ErrPermission) {
		return err
	}
	aside := fmt.Sprintf("%s.bad-%d", path, time.Now().Unix())
	if rerr := os.Rename(path, aside); rerr != nil {
		return errors.Join(err, rerr)
	}
	r.log.Warn("state file unreadable, set aside; starting without it", "error", err,
		"kept_as", aside)
	return nil
}

// Metrics returns the collectors the runtime updates.
func (r *Runtime) Metrics() *metrics.Metrics { return r.m }

// engineConfig maps the capture limits onto the engine's. The flow limit is
// for the whole sensor; each worker gets its share when Run knows how many
// workers there are.
func engineConfig(sc *config.Config) engine.Config {
	l := &sc.Capture.Limits
	return engine.Config{
		Flows:           flow.Config{MaxFlows: l.MaxFlows, IdleTimeout: l.IdleTimeout},
		MaxStreamBuffer: int(l.MaxFlowBytes),
		MaxBuffered:     int(l.MaxTotalBytes),
	}
}

// prepareStateDir creates the state directory (mode 0700) if needed and
// refuses one that others may write: whoever can rewrite the state can
// steer what the sensor reports.
func prepareStateDir(dir string) error {
	if dir == "" {
		return errors.New("live: no state directory")
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("live: state directory: %w", err)
	}
	return privilege.CheckPath(dir)
}

// Run captures and ships until ctx is done (or, with Config.Sources, until
// every source has ended), then stops in order: capture, workers, a last
// emission, state, sinks. It returns the first error that stopped it.
func (r *Runtime) Run(ctx context.Context) error {
	r.mu.Lock()
	if r.ran {
		r.mu.Unlock()
		return ErrRunning
	}
	r.ran = true
	sc := r.sc
	r.mu.Unlock()

	// Sinks first: a capture with nowhere to send findings is no use.
	out, err := openSink(ctx, sc, r.cfg.Stdout, r.base)
	if err != nil {
		return err
	}
	r.emitter.q = sink.NewQueue(out.sink, sink.QueueConfig{Logger: r.base})
	defer func() {
		// Reached only on a start-up failure: the queue is closed by stop
		// otherwise (closing twice is harmless).
		cctx, cancel := context.WithTimeout(context.Background(), r.cfg.shutdownTimeout())
		defer cancel()
		r.emitter.q.Close(cctx)
	}()

	src, err := r.attach(sc)
	if err != nil {
		return err
	}
	perWorker := r.ecfg
	perWorker.Attribute = src.attribute
	if n := len(src.sources); n > 1 && perWorker.Flows.MaxFlows > 0 {
		perWorker.Flows.MaxFlows = max(perWorker.Flows.MaxFlows/n, 1)
	}
	if n := len(src.sources); n > 1 && perWorker.MaxBuffered > 0 {
		perWorker.MaxBuffered = max(perWorker.MaxBuffered/n, perWorker.MaxStreamBuffer)
	}
	var workers []*worker
	var wg sync.WaitGroup
	for _, s := range src.sources {
		wk := newWorker(s, &perWorker, &r.board, r.log)
		workers = append(workers, wk)
		wg.Add(1)
		go func() { defer wg.Done(); wk.run() }()
	}
	allEnded := make(chan struct{})
	go func() { wg.Wait(); close(allEnded) }()

	tlsCtx, stopTLS := context.WithCancel(context.Background())
	defer stopTLS()
	tlsDone := make(chan struct{})
	if src.tls != nil {
		wk := newWorker(nil, &r.ecfg, &r.board, r.log)
		workers = append(workers, wk)
		go func() {
			defer close(tlsDone)
			if err := src.runTLS(tlsCtx, wk); err != nil {
				r.log.Warn("tls source stopped", "error", err)
			}
		}()
	} else {
		close(tlsDone)
	}

	if !r.cfg.KeepCapabilities && src.live {
		r.dropCapabilities(sc)
	}
	r.m.SetReady(true)
	r.log.Info("capture attached", "mode", src.mode, "workers", len(src.sources),
		"tls", src.tls != nil, "output", sc.Output.Type, "emit_interval", r.cfg.emitInterval(),
		"memory_limit", r.cfg.MemoryLimit)

	r.loop(ctx, allEnded, workers, src, out)

	// Stop: capture first, so the workers see EOF and finish their flows.
	r.m.SetReady(false)
	r.log.Info("stopping")
	if err := src.close(); err != nil {
		r.log.Warn("close capture", "error", err)
	}
	<-allEnded
	stopTLS()
	<-tlsDone
	if err := src.closeSockets(); err != nil {
		r.log.Warn("close socket owner map", "error", err)
	}
	r.updateMetrics(workers, src, out)

	var errs []error
	st, err := r.emitOnce(context.Background(), true)
	if err != nil {
		errs = append(errs, err)
	}
	cctx, cancel := context.WithTimeout(context.Background(), r.cfg.shutdownTimeout())
	defer cancel()
	if err := r.emitter.q.Close(cctx); err != nil {
		errs = append(errs, fmt.Errorf("live: flush sinks: %w", err))
	}
	r.updateMetrics(workers, src, out)
	var drops, exchanges, shed uint64
	for _, d := range r.folded.drops {
		drops += d
	}
	for _, wk := range workers {
		s := wk.snapshot()
		exchanges += s.stats.Exchanges
		shed += s.stats.Shed
	}
	r.log.Info("stopped", "exchanges", exchanges, "kernel_drops", drops, "shed", shed,
		"created", st.created, "updated", st.updated,
		"queue", fmt.Sprintf("%+v", r.emitter.q.Stats()))
	return errors.Join(errs...)
}

// loop runs the periodic work until ctx is done or every worker ended.
func (r *Runtime) loop(ctx context.Context, allEnded <-chan struct{}, workers []*worker,
	src *sources, out *output) {
	emitT := time.NewTicker(r.cfg.emitInterval())
	defer emitT.Stop()
	stateT := time.NewTicker(r.cfg.stateInterval())
	defer stateT.Stop()
	metricsT := time.NewTicker(r.cfg.metricsInterval())
	defer metricsT.Stop()
	guardT := time.NewTicker(250 * time.Millisecond)
	defer guardT.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-allEnded:
			return
		case <-emitT.C:
			if _, err := r.emitOnce(ctx, false); err != nil {
				r.log.Warn("emit", "error", err)
			}
		case <-stateT.C:
			if err := r.saveState(); err != nil {
				r.log.Warn("save state", "error", err)
			}
		case <-metricsT.C:
			r.updateMetrics(workers, src, out)
		case <-guardT.C:
			r.guard.check()
		}
	}
}

// emitOnce ships what changed; final also saves the state.
func (r *Runtime) emitOnce(ctx context.Context, final bool) (emitStats, error) {
	dir := r.stateDir()
	var save func(*inventory.Inventory) error
	if final {
		save = func(inv *inventory.Inventory) error { return saveInventory(inv, dir) }
	}
	rep, err := r.board.snapshot(save)
	if rep == nil {
		return emitStats{}, err
	}
	st := r.emitter.emit(ctx, rep)
	if st.created+st.updated+st.deleted > 0 {
		r.log.Debug("emitted", "created", st.created, "updated", st.updated,
			"deleted", st.deleted, "unchanged", st.unchanged)
	}
	if st.refused > 0 || st.dropped > 0 {
		r.log.Warn("events not shipped", "refused_secret_guard", st.refused,
			"dropped_queue_full", st.dropped)
	}
	// The emitted ids are saved after every emission: a crash after
	// shipping but before saving would announce findings as new again.
	if serr := r.emitter.saveSeen(dir); serr != nil {
		err = errors.Join(err, serr)
	}
	return st, err
}

// saveState saves the inventory (and the emitted ids).
func (r *Runtime) saveState() error {
	dir := r.stateDir()
	_, err := r.board.snapshot(func(inv *inventory.Inventory) error {
		return saveInventory(inv, dir)
	})
	return errors.Join(err, r.emitter.saveSeen(dir))
}

func saveInventory(inv *inventory.Inventory, dir string) error {
	if err := inv.Save(filepath.Join(dir, InventoryFile)); err != nil {
		return fmt.Errorf("live: save inventory: %w", err)
	}
	return nil
}

func (r *Runtime) stateDir() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.sc.StateDir
}

// Reload re-reads the configuration (Config.Reload) and the files it names
// (specs, declared vendors, vendor catalog) and swaps the analyses without
// stopping capture: flows in progress are kept, the inventory is carried
// over and re-checked against the new specs, and the vendor analyzer is
// kept when the vendor settings did not change. On any error the running
// configuration stays as it was. Capture, output and state-directory
// settings need a restart; a change to them is logged and ignored.
func (r *Runtime) Reload() error {
	r.mu.Lock()
	sc := r.sc
	r.mu.Unlock()
	if r.cfg.Reload != nil {
		next, err := r.cfg.Reload()
		if err != nil {
			return fmt.Errorf("live: reload: %w", err)
		}
		if next.StateDir != sc.StateDir || next.Output.Type != sc.Output.Type ||
			next.Capture.Mode != sc.Capture.Mode {
			r.log.Warn("reload ignores capture, output and state_dir changes; restart to apply")
		}
		// Keep what needs a restart; take what analysis reads.
		merged := *sc
		merged.Discovery, merged.Vendors, merged.Data = next.Discovery, next.Vendors, next.Data
		sc = &merged
	}
	a, err := buildAnalyses(sc, r.cfg.Exchanges)
	if err != nil {
		return fmt.Errorf("live: reload: %w", err)
	}
	if err := r.board.swap(a, sc.StateDir); err != nil {
		return err
	}
	r.mu.Lock()
	r.sc = sc
	r.mu.Unlock()
	r.log.Info("configuration reloaded", "specs", len(sc.Discovery.Specs),
		"declared_vendors", len(sc.Vendors.Declared), "declared_file", sc.Vendors.DeclaredFile)
	return nil
}

// capSysPtrace (linux/capability.h) lets the TLS source read the memory
// maps of processes that hold more capabilities than the sensor after the
// drop (a root curl, say): without it the kernel's ptrace access check
// refuses /proc/PID/maps and libraries loaded later go unprobed.
const capSysPtrace privilege.Cap = 19

// dropCapabilities keeps only what capture needs once it is attached.
func (r *Runtime) dropCapabilities(sc *config.Config) {
	ebpf := sc.Capture.Mode == "ebpf" || sc.TLS.Uprobes
	keep := privilege.Needed(ebpf)
	if sc.TLS.Uprobes {
		keep = append(keep, capSysPtrace)
	}
	if err := privilege.Drop(keep); err != nil {
		r.log.Warn("capabilities not dropped", "error", err)
		return
	}
	r.log.Info("capabilities dropped", "kept", fmt.Sprint(keep))
}
