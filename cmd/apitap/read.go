package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"time"

	"github.com/apitap/apitap/pipeline/sink"
	"github.com/apitap/apitap/sensor/analysis"
	"github.com/apitap/apitap/sensor/capture"
	"github.com/apitap/apitap/sensor/config"
	"github.com/apitap/apitap/sensor/dataflow"
	"github.com/apitap/apitap/sensor/engine"
	"github.com/apitap/apitap/sensor/inventory"
	"github.com/apitap/apitap/sensor/secret"
	"github.com/apitap/apitap/sensor/spec"
	"github.com/apitap/apitap/sensor/vendor"
)

// readFlags are the flags of `apitap read`.
type readFlags struct {
	file       string
	format     string
	exchanges  string
	workers    int
	vendors    string
	specs      stringList
	export     string
	state      string
	keyFile    string
	kafka      string
	configFile string
	noProgress bool
	maxFlows   int
}

func runRead(args []string, stdout, stderr io.Writer) error {
	var f readFlags
	fset := flag.NewFlagSet("read", flag.ContinueOnError)
	fset.SetOutput(stderr)
	fset.StringVar(&f.file, "r", "",
		"capture `FILE` to read (pcap or pcapng; - for standard input)")
	fset.StringVar(&f.format, "format", "table", "output format: table or json")
	fset.StringVar(&f.exchanges, "exchanges", "",
		"write one JSON line per exchange to `OUT` (- for stdout)")
	fset.IntVar(&f.workers, "workers", 1,
		"parsing workers; flows are sharded over them by hash (0 = one per CPU)")
	fset.StringVar(&f.vendors, "vendors", "", "YAML `FILE` listing the approved (declared) vendors")
	fset.Var(&f.specs, "spec", "OpenAPI 3 `FILE` (YAML or JSON) documenting a service; repeat for several")
	fset.StringVar(&f.export, "export", "",
		"write the observed inventory as an OpenAPI 3 YAML document to `FILE`")
	fset.StringVar(&f.state, "state", "",
		"inventory state `FILE`: loaded before the run if it exists, saved after")
	fset.StringVar(&f.keyFile, "key-file", defaultKeyFile(),
		"fingerprint key `FILE` (created with mode 0600 on first use)")
	fset.StringVar(&f.kafka, "kafka", "",
		"send findings and inventory to Kafka `BROKERS` (host:port,…) as OCSF")
	fset.StringVar(&f.configFile, "config", "",
		"config `FILE`: its vendors (tiers, policy), data and output.kafka sections apply")
	fset.BoolVar(&f.noProgress, "no-progress", false, "never draw the progress bar")
	fset.IntVar(&f.maxFlows, "max-flows", 0, "most flows held per worker (default 262144)")
	fset.Usage = func() {
		fmt.Fprintln(stderr, "usage: apitap read -r FILE [flags]\n\nflags:")
		fset.PrintDefaults()
	}
	if err := fset.Parse(args); err != nil {
		return err
	}
	if f.file == "" {
		fset.Usage()
		return &usageError{"read: -r FILE is required"}
	}
	if f.format != "table" && f.format != "json" {
		return &usageError{fmt.Sprintf("read: --format %q: want table or json", f.format)}
	}
	if f.workers == 0 {
		f.workers = runtime.NumCPU()
	}

	sc := &config.Config{}
	if f.configFile != "" {
		var err error
		if sc, err = config.Load(f.configFile, nil); err != nil {
			return err
		}
	}
	pub, drain, err := readKafka(&f, sc)
	if err != nil {
		return err
	}

	src, err := capture.OpenFile(f.file)
	if err != nil {
		return err
	}
	defer src.Close()

	va, err := vendorAnalyzer(f.vendors, &sc.Vendors)
	if err != nil {
		return err
	}
	specs, err := loadSpecs(append(f.specs, sc.Discovery.Specs...), stderr)
	if err != nil {
		return err
	}
	inv := inventory.New(analysis.InventoryConfig(&sc.Discovery), specs)
	if f.state != "" {
		if err := inv.Load(f.state); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("load state: %w", err)
		}
	}
	key, err := secret.LoadOrCreateKey(f.keyFile)
	if err != nil {
		return fmt.Errorf("fingerprint key: %w", err)
	}
	dcfg := analysis.DataConfig(sc)
	data := dataflow.New(dcfg, key, analysis.Destinations(va))
	acfg := analysis.Config{Vendors: va, Inventory: inv, Data: data}
	if f.exchanges != "" {
		w, closeFn, err := openOutput(f.exchanges, stdout)
		if err != nil {
			return err
		}
		defer closeFn()
		acfg.Exchanges = w
	}
	an := analysis.New(acfg)

	cfg := &engine.Config{}
	cfg.Flows.MaxFlows = f.maxFlows
	var bar *progressBar
	if !f.noProgress {
		bar = newProgressBar(f.file, stderr, src.BytesRead)
	}
	var progress engine.Progress
	if bar != nil {
		progress = bar.update
	}
	sum := engine.Run(src, cfg, f.workers, an, progress)
	if bar != nil {
		bar.done()
	}
	rep, err := an.Finish(sum)
	if err != nil {
		return fmt.Errorf("write exchanges: %w", err)
	}
	if f.state != "" {
		if err := inv.Save(f.state); err != nil {
			return fmt.Errorf("save state: %w", err)
		}
	}
	if f.export != "" {
		if err := exportOpenAPI(inv, f.export); err != nil {
			return err
		}
	}
	if pub != nil {
		if err := rep.Publish(context.Background(), pub); err != nil {
			return fmt.Errorf("kafka: %w", err)
		}
		if err := drain(30 * time.Second); err != nil {
			return err
		}
	}
	if f.exchanges != "-" {
		switch f.format {
		case "json":
			enc := json.NewEncoder(stdout)
			enc.SetIndent("", "  ")
			if err := enc.Encode(rep); err != nil {
				return err
			}
		default:
			writeTable(stdout, rep)
		}
	}
	if sum.ReadError != nil {
		if errors.Is(sum.ReadError, capture.ErrTruncated) {
			return fmt.Errorf("%w (the report covers the packets before the damage)", sum.ReadError)
		}
		return sum.ReadError
	}
	if sum.Frames == 0 {
		return fmt.Errorf("%s: the capture holds no packets", f.file)
	}
	return nil
}

func vendorAnalyzer(declared string, v *config.Vendors) (*vendor.Analyzer, error) {
	cat, err := analysis.WithTiers(vendor.Default(), v.Tiers)
	if err != nil {
		return nil, err
	}
	cfg := vendor.Config{Catalog: cat}
	if declared != "" {
		d, err := vendor.LoadDeclared(declared, cfg.Catalog)
		if err != nil {
			return nil, err
		}
		cfg.Declared = d
	}
	return vendor.NewAnalyzer(cfg), nil
}

// openOutput opens a file for writing, or returns stdout for "-".
func openOutput(name string, stdout io.Writer) (io.Writer, func() error, error) {
	if name == "-" {
		return stdout, func() error { return nil }, nil
	}
	f, err := os.Create(name)
	if err != nil {
		return nil, nil, err
	}
	return f, f.Close, nil
}

// loadSpecs loads every spec file. A spec that does not load is reported
// on stderr and left out, so one bad document does not stop the others;
// the run fails only when none of the given specs loads.
func loadSpecs(files []string, stderr io.Writer) (*spec.Set, error) {
	set := spec.NewSet()
	loaded := 0
	for _, f := range files {
		sp, err := spec.LoadFile(f)
		if err != nil {
			fmt.Fprintf(stderr, "apitap: skipping spec: %v\n", err)
			continue
		}
		set.Add(sp)
		loaded++
	}
	if len(files) > 0 && loaded == 0 {
		return nil, fmt.Errorf("none of the %d spec files loaded", len(files))
	}
	return set, nil
}

func exportOpenAPI(inv *inventory.Inventory, path string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := inv.ExportOpenAPI(f); err != nil {
		f.Close()
		return fmt.Errorf("export openapi: %w", err)
	}
	return f.Close()
}

// defaultKeyFile is where the per-installation fingerprint key lives: the
// daemon's state directory for root, the user's state directory otherwise.
// $APITAP_KEY_FILE overrides both.
func defaultKeyFile() string {
	if p := os.Getenv("APITAP_KEY_FILE"); p != "" {
		return p
	}
	if os.Geteuid() == 0 {
		return "/var/lib/apitap/fingerprint.key"
	}
	if d := os.Getenv("XDG_STATE_HOME"); d != "" {
		return filepath.Join(d, "apitap", "fingerprint.key")
	}
	if h, err := os.UserHomeDir(); err == nil {
		return filepath.Join(h, ".local", "state", "apitap", "fingerprint.key")
	}
	return "apitap-fingerprint.key"
}

// readKafka connects to Kafka when --kafka or the config file asks for it.
// The brokers must answer before the capture is read: a typo should not
// cost a long run.
func readKafka(f *readFlags, sc *config.Config) (*sink.Publisher, func(time.Duration) error, error) {
	var k config.Kafka
	if sc.Output.Type == "kafka" || f.kafka != "" {
		k = sc.Output.Kafka
	}
	if f.kafka != "" {
		k.Brokers = splitBrokers(f.kafka)
	}
	if len(k.Brokers) == 0 {
		return nil, nil, nil
	}
	spoolDir := filepath.Join(filepath.Dir(f.keyFile), "spool")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	return kafkaPublisher(ctx, kafkaConfig(&k, spoolDir, nil))
}
