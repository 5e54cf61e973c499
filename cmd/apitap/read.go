package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime"

	"github.com/apitap/apitap/sensor/analysis"
	"github.com/apitap/apitap/sensor/capture"
	"github.com/apitap/apitap/sensor/engine"
	"github.com/apitap/apitap/sensor/vendor"
)

// readFlags are the flags of `apitap read`.
type readFlags struct {
	file       string
	format     string
	exchanges  string
	workers    int
	vendors    string
	noProgress bool
	maxFlows   int
}

func runRead(args []string, stdout, stderr io.Writer) error {
	var f readFlags
	fs := flag.NewFlagSet("read", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&f.file, "r", "", "capture `FILE` to read (pcap or pcapng; - for standard input)")
	fs.StringVar(&f.format, "format", "table", "output format: table or json")
	fs.StringVar(&f.exchanges, "exchanges", "", "write one JSON line per exchange to `OUT` (- for stdout)")
	fs.IntVar(&f.workers, "workers", 1, "parsing workers; flows are sharded over them by hash (0 = one per CPU)")
	fs.StringVar(&f.vendors, "vendors", "", "YAML `FILE` listing the approved (declared) vendors")
	fs.BoolVar(&f.noProgress, "no-progress", false, "never draw the progress bar")
	fs.IntVar(&f.maxFlows, "max-flows", 0, "most flows held per worker (default 262144)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: apitap read -r FILE [flags]\n\nflags:")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if f.file == "" {
		fs.Usage()
		return &usageError{"read: -r FILE is required"}
	}
	if f.format != "table" && f.format != "json" {
		return &usageError{fmt.Sprintf("read: --format %q: want table or json", f.format)}
	}
	if f.workers == 0 {
		f.workers = runtime.NumCPU()
	}

	src, err := capture.OpenFile(f.file)
	if err != nil {
		return err
	}
	defer src.Close()

	va, err := vendorAnalyzer(f.vendors)
	if err != nil {
		return err
	}
	acfg := analysis.Config{Vendors: va}
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
		bar = newProgressBar(f.file, stderr)
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

func vendorAnalyzer(declared string) (*vendor.Analyzer, error) {
	cfg := vendor.Config{Catalog: vendor.Default()}
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
