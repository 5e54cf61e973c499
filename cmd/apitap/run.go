package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/apitap/apitap/sensor/config"
	"github.com/apitap/apitap/sensor/live"
	"github.com/apitap/apitap/sensor/metrics"
	"github.com/apitap/apitap/sensor/privilege"
)

// runFlags are the flags of `apitap run`.
type runFlags struct {
	config       string
	ifaces       stringList
	exchanges    string
	kafka        string
	capture      string
	tls          bool
	metrics      string
	stateDir     string
	workers      int
	emitInterval time.Duration
	memoryLimit  string
	keepCaps     bool
}

func runRun(args []string, stdout, stderr io.Writer) error {
	var f runFlags
	fset := flag.NewFlagSet("run", flag.ContinueOnError)
	fset.SetOutput(stderr)
	fset.StringVar(&f.config, "config", "", "configuration `FILE` (default "+config.DefaultPath+
		" when it exists, else built-in defaults)")
	fset.Var(&f.ifaces, "i", "capture on interface `NAME` or glob pattern; repeat for several")
	fset.StringVar(&f.exchanges, "exchanges", "", "write one JSON line per exchange to `OUT`")
	fset.StringVar(&f.kafka, "kafka", "", "ship findings to Kafka `BROKERS` (host:port,host:port)")
	fset.StringVar(&f.capture, "capture", "", "capture `MODE`: afpacket or ebpf (falls back to afpacket)")
	fset.BoolVar(&f.tls, "tls", false, "read TLS plaintext with eBPF uprobes on OpenSSL")
	fset.StringVar(&f.metrics, "metrics", "", "serve /metrics, /healthz and /readyz on `ADDR` (off disables)")
	fset.StringVar(&f.stateDir, "state-dir", "", "keep state that outlives a restart in `DIR`")
	fset.IntVar(&f.workers, "workers", 0, "capture workers, one fanout socket each (default: CPUs)")
	fset.DurationVar(&f.emitInterval, "emit-interval", 10*time.Second,
		"ship new and changed findings this often")
	fset.StringVar(&f.memoryLimit, "memory-limit", "",
		"shed new flows while the Go heap is above `SIZE` (e.g. 512MiB; default none)")
	fset.BoolVar(&f.keepCaps, "keep-capabilities", false,
		"do not drop Linux capabilities once capture is attached")
	fset.Usage = func() {
		fmt.Fprintln(stderr, "usage: apitap run [flags]\n\nCapture live traffic until SIGTERM or SIGINT; "+
			"SIGHUP reloads specs and vendors.\n\nflags:")
		fset.PrintDefaults()
	}
	if err := fset.Parse(args); err != nil {
		return err
	}
	if fset.NArg() > 0 {
		return &usageError{fmt.Sprintf("run: unexpected argument %q", fset.Arg(0))}
	}
	var memLimit uint64
	if f.memoryLimit != "" {
		sz, err := config.ParseSize(f.memoryLimit)
		if err != nil {
			return &usageError{fmt.Sprintf("run: --memory-limit: %v", err)}
		}
		memLimit = uint64(sz)
	}

	load := f.loader()
	sc, err := load()
	if err != nil {
		return err
	}
	log, err := newLogger(&sc.Log, stderr)
	if err != nil {
		return err
	}

	var exchanges io.Writer
	if f.exchanges != "" {
		w, closeFn, err := openOutput(f.exchanges, stdout)
		if err != nil {
			return err
		}
		defer closeFn()
		exchanges = w
	}

	m := metrics.New()
	rt, err := live.New(live.Config{
		Sensor:           sc,
		Reload:           load,
		Exchanges:        exchanges,
		EmitInterval:     f.emitInterval,
		MemoryLimit:      memLimit,
		Stdout:           stdout,
		Version:          version,
		Metrics:          m,
		KeepCapabilities: f.keepCaps,
		Logger:           log,
	})
	if err != nil {
		return err
	}
	if sc.Metrics.Listen != "off" {
		stopMetrics, err := serveMetrics(sc.Metrics.Listen, m, log)
		if err != nil {
			return err
		}
		defer stopMetrics()
	}

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	go func() {
		for {
			select {
			case <-ctx.Done():
				return
			case <-hup:
				if err := rt.Reload(); err != nil {
					log.Warn("reload refused, configuration unchanged", "error", err)
				}
			}
		}
	}()
	log.Info("apitap starting", "version", version, "config", f.configPath(),
		"state_dir", sc.StateDir)
	return rt.Run(ctx)
}

// configPath is the file to load, or "" for built-in defaults.
func (f *runFlags) configPath() string {
	if f.config != "" {
		return f.config
	}
	if _, err := os.Stat(config.DefaultPath); err == nil {
		return config.DefaultPath
	}
	return ""
}

// loader returns the function that loads the configuration with the
// command line on top; SIGHUP calls it again.
func (f *runFlags) loader() func() (*config.Config, error) {
	return func() (*config.Config, error) {
		o := &config.Override{Interfaces: f.ifaces}
		set := func(p **string, v string) {
			if v != "" {
				*p = &v
			}
		}
		set(&o.Mode, f.capture)
		set(&o.StateDir, f.stateDir)
		set(&o.MetricsListen, f.metrics)
		if f.kafka != "" {
			o.KafkaBrokers = strings.Split(f.kafka, ",")
			kafka := "kafka"
			o.OutputType = &kafka
		}
		if f.workers > 0 {
			o.Workers = &f.workers
		}
		path := f.configPath()
		var sc *config.Config
		var err error
		if path == "" {
			sc, err = config.Parse("defaults", nil, os.LookupEnv, o)
		} else {
			// Whoever can rewrite the configuration of a root process
			// can steer it: refuse a file others may write.
			if err := privilege.CheckPath(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return nil, err
			}
			sc, err = config.Load(path, o)
		}
		if err != nil {
			return nil, err
		}
		if f.tls {
			sc.TLS.Uprobes = true
		}
		return sc, nil
	}
}

// newLogger builds the daemon's logger from the log settings.
func newLogger(lc *config.Log, w io.Writer) (*slog.Logger, error) {
	var level slog.Level
	if err := level.UnmarshalText([]byte(lc.Level)); err != nil {
		return nil, fmt.Errorf("log level %q: %w", lc.Level, err)
	}
	opts := &slog.HandlerOptions{Level: level}
	if lc.Format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return slog.New(slog.NewTextHandler(w, opts)), nil
}

// serveMetrics serves the metrics handler on addr until the returned
// function is called.
func serveMetrics(addr string, m *metrics.Metrics, log *slog.Logger) (func(), error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("metrics listen: %w", err)
	}
	srv := &http.Server{Handler: m.Handler(), ReadHeaderTimeout: 5 * time.Second}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Warn("metrics server stopped", "error", err)
		}
	}()
	log.Info("metrics listening", "addr", ln.Addr().String())
	return func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
	}, nil
}
