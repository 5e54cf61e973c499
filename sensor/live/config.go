package live

import (
	"io"
	"log/slog"
	"time"

	"github.com/apitap/apitap/sensor/capture"
	"github.com/apitap/apitap/sensor/config"
	"github.com/apitap/apitap/sensor/metrics"
)

// Config configures a Runtime. Sensor is required; every other field has a
// working default.
type Config struct {
	// Sensor is the loaded sensor configuration (config.Load, or a Config
	// with Defaults applied). The runtime does not modify it.
	Sensor *config.Config
	// Reload returns the configuration to use after a reload request
	// (SIGHUP): typically config.Load of the same file with the same
	// command-line override. Nil: Reload re-reads only the files Sensor
	// names (specs, declared vendors, catalog).
	Reload func() (*config.Config, error)

	// Exchanges, when set, receives one JSON line per exchange.
	Exchanges io.Writer
	// EmitInterval is how often new and changed findings and inventory rows
	// are shipped. Default 10 s.
	EmitInterval time.Duration
	// StateInterval is how often the inventory and the emitted ids are
	// saved to the state directory (they are saved on stop too). Default
	// 1 min.
	StateInterval time.Duration
	// MetricsInterval is how often worker counters are folded into the
	// metrics. Default 2 s.
	MetricsInterval time.Duration
	// MemoryLimit is the Go heap size, in bytes, above which workers stop
	// creating flows (the packets of new flows are shed and counted) until
	// the heap falls below 90% of it. Zero disables the guard.
	MemoryLimit uint64
	// ShutdownTimeout bounds the final flush of the sinks on stop; what
	// Kafka has not taken by then stays in the spool. Default 15 s.
	ShutdownTimeout time.Duration

	// Sources, when set, replaces live capture: one worker reads each
	// source until it ends (io.EOF), and Run returns once all have ended.
	// It lets a capture file drive the daemon path (tests, replays).
	Sources []capture.Source
	// Stdout receives the findings when the output type is stdout.
	// Default os.Stdout.
	Stdout io.Writer
	// Version is the sensor version reported in OCSF metadata.
	Version string
	// Hostname names the sensor in OCSF events. Default os.Hostname().
	Hostname string
	// Metrics receives the runtime's counters; New creates one when nil.
	Metrics *metrics.Metrics
	// KeepCapabilities skips dropping Linux capabilities once capture is
	// attached (by default everything but what capture needs is dropped).
	KeepCapabilities bool
	// Logger receives lifecycle lines. Nil discards.
	Logger *slog.Logger
}

func (c *Config) emitInterval() time.Duration    { return orDur(c.EmitInterval, 10*time.Second) }
func (c *Config) stateInterval() time.Duration   { return orDur(c.StateInterval, time.Minute) }
func (c *Config) metricsInterval() time.Duration { return orDur(c.MetricsInterval, 2*time.Second) }
func (c *Config) shutdownTimeout() time.Duration { return orDur(c.ShutdownTimeout, 15*time.Second) }

func orDur(v, def time.Duration) time.Duration {
	if v > 0 {
		return v
	}
	return def
}

// Files in the state directory.
const (
	// InventoryFile is the inventory state (inventory.Save format).
	InventoryFile = "inventory.state"
	// EmittedFile lists the ids already shipped and their counts.
	EmittedFile = "emitted.json"
)
