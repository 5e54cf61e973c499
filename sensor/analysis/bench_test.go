package analysis

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/apitap/apitap/sensor/capture"
	"github.com/apitap/apitap/sensor/dataflow"
	"github.com/apitap/apitap/sensor/engine"
	"github.com/apitap/apitap/sensor/exchange"
	"github.com/apitap/apitap/sensor/internal/cputime"
	"github.com/apitap/apitap/sensor/internal/synth"
	"github.com/apitap/apitap/sensor/inventory"
	"github.com/apitap/apitap/sensor/secret"
	"github.com/apitap/apitap/sensor/spec"
	"github.com/apitap/apitap/sensor/vendor"
)

// synthCapture writes (once) a generated capture into the temp directory.
func synthCapture(tb testing.TB, size int64, tlsPercent int) string {
	tb.Helper()
	p := filepath.Join(os.TempDir(), fmt.Sprintf("apitap-synth-v2-%d-tls%d.pcap", size, tlsPercent))
	if st, err := os.Stat(p); err == nil && st.Size() > size/2 {
		return p
	}
	f, err := os.Create(p + ".tmp")
	if err != nil {
		tb.Fatal(err)
	}
	if _, err := synth.Write(f, synth.Options{TargetBytes: size, TLSPercent: tlsPercent}); err != nil {
		tb.Fatal(err)
	}
	if err := f.Close(); err != nil {
		tb.Fatal(err)
	}
	if err := os.Rename(p+".tmp", p); err != nil {
		tb.Fatal(err)
	}
	return p
}

type nop struct{}

func (nop) Exchange(*exchange.Exchange) {}
func (nop) Flow(*exchange.Flow)         {}
func (nop) DNS(*exchange.DNS)           {}

// level says how much analysis a run does.
type level int

const (
	coreOnly  level = iota // the parsing core, exchanges discarded
	discovery              // + the API inventory (templating, specs)
	vendors                // + the third-party map
	full                   // + sensitive-data classification
)

func runLevel(tb testing.TB, path string, l level, key secret.Key) time.Duration {
	src, err := capture.OpenFile(path)
	if err != nil {
		tb.Fatal(err)
	}
	defer src.Close()
	var emit engine.Emitter = nop{}
	var a *Analyzer
	if l > coreOnly {
		cfg := Config{Inventory: inventory.New(inventory.Config{}, spec.NewSet())}
		if l >= vendors {
			cfg.Vendors = vendor.NewAnalyzer(vendor.Config{})
		}
		if l >= full {
			cfg.Data = dataflow.New(dataflow.Config{Policy: dataflow.DefaultPolicy()}, key,
				Destinations(cfg.Vendors))
		}
		a = New(cfg)
		emit = a
	}
	_, cpu := cputime.Measure(func() {
		sum := engine.Run(src, &engine.Config{}, 1, emit, nil)
		if a != nil {
			if _, err := a.Finish(sum); err != nil {
				tb.Fatal(err)
			}
		}
	})
	return cpu
}

// BenchmarkAnalysisOverhead runs the single-worker pipeline on the same
// generated capture with more and more analysis switched on, in one
// process, and reports each rate (per CPU second: user+sys of all
// threads, steadier than wall time on a shared machine) and the slowdown
// each layer costs: discovery against the core alone, and classification
// against the run without it.
//
// Each iteration is a round that runs every level once, back to back, so
// that a slow spell of a shared machine lands on the levels of one round
// rather than on one level, and every other round runs them in reverse
// order. The slowdowns are the medians of the rounds' own ratios, which
// one disturbed round cannot move; the -total metrics are the ratios of
// the summed CPU times. Run it with -benchtime Nx for N
// rounds: 7 or more give a median worth quoting.
func BenchmarkAnalysisOverhead(b *testing.B) {
	// The large capture: analyses learn each endpoint's shape from its
	// first few bodies, and a short capture would weigh that warm-up as if
	// it were steady state.
	size := int64(320 << 20)
	if testing.Short() {
		size = 64 << 20
	}
	path := synthCapture(b, size, 0)
	st, _ := os.Stat(path)
	mb := float64(st.Size()) / 1e6
	key, err := secret.NewKey(make([]byte, 32))
	if err != nil {
		b.Fatal(err)
	}
	runLevel(b, path, coreOnly, key) // warm the page cache
	var d [4]time.Duration
	var disc, class []float64
	for round := 0; b.Loop(); round++ {
		var r [4]time.Duration
		for i := coreOnly; i <= full; i++ {
			// Every other round runs the levels in reverse, so that a
			// machine slowing down or speeding up across a round weighs on
			// the heavy levels as often as on the light ones.
			l := i
			if round%2 == 1 {
				l = full - i
			}
			r[l] = runLevel(b, path, l, key)
			d[l] += r[l]
		}
		disc = append(disc, r[discovery].Seconds()/r[coreOnly].Seconds()-1)
		class = append(class, r[full].Seconds()/r[vendors].Seconds()-1)
	}
	n := float64(b.N)
	for l, name := range []string{"core", "discovery", "vendors", "full"} {
		b.ReportMetric(mb*n/d[l].Seconds(), name+"-MB/cpu-s")
	}
	b.ReportMetric(median(disc), "discovery-slowdown")
	b.ReportMetric(median(class), "classification-slowdown")
	b.ReportMetric(d[discovery].Seconds()/d[coreOnly].Seconds()-1, "discovery-slowdown-total")
	b.ReportMetric(d[full].Seconds()/d[vendors].Seconds()-1, "classification-slowdown-total")
}

// median returns the middle of xs (the mean of the two middle values when
// their number is even); xs is sorted in place.
func median(xs []float64) float64 {
	slices.Sort(xs)
	n := len(xs)
	if n%2 == 1 {
		return xs[n/2]
	}
	return (xs[n/2-1] + xs[n/2]) / 2
}

// BenchmarkTLSHeavy runs the pipeline with the vendor map on a capture in
// which 70 % of the connections are TLS to vendors.
func BenchmarkTLSHeavy(b *testing.B) {
	path := synthCapture(b, 64<<20, 70)
	st, _ := os.Stat(path)
	key, _ := secret.NewKey(make([]byte, 32))
	b.SetBytes(st.Size())
	b.ReportAllocs()
	for b.Loop() {
		runLevel(b, path, vendors, key)
	}
}

// TestTLSHeavyNamesVendors checks the TLS-heavy capture is what the
// benchmark claims: every TLS connection named by its SNI.
func TestTLSHeavyNamesVendors(t *testing.T) {
	path := synthCapture(t, 8<<20, 70)
	src, err := capture.OpenFile(path)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	va := vendor.NewAnalyzer(vendor.Config{})
	a := New(Config{Vendors: va})
	rep, err := a.Finish(engine.Run(src, &engine.Config{}, 1, a, nil))
	if err != nil {
		t.Fatal(err)
	}
	named := map[string]bool{}
	for _, tp := range rep.ThirdParties {
		if tp.Vendor != nil {
			named[tp.VendorID] = true
		}
	}
	for _, id := range []string{"openai", "segment", "sentry", "stripe", "mixpanel", "anthropic"} {
		if !named[id] {
			t.Errorf("vendor %s not named from the TLS-heavy capture (named: %v)", id, named)
		}
	}
	if rep.Summary.TLSFlows == 0 {
		t.Error("no TLS flow recognised")
	}
}
