package engine

import (
	"bufio"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
	"github.com/google/gopacket/pcapgo"
	"github.com/google/gopacket/tcpassembly"
	"github.com/google/gopacket/tcpassembly/tcpreader"

	"github.com/apitap/apitap/sensor/capture"
	"github.com/apitap/apitap/sensor/decode"
	"github.com/apitap/apitap/sensor/exchange"
	"github.com/apitap/apitap/sensor/internal/cputime"
	"github.com/apitap/apitap/sensor/internal/synth"
)

// benchCapture returns the generated benchmark capture, writing it once
// into the temporary directory (about 320 MB; deterministic, so a file
// left by an earlier run is reused).
func benchCapture(tb testing.TB, size int64) string {
	tb.Helper()
	p := filepath.Join(os.TempDir(), fmt.Sprintf("apitap-synth-v2-%d.pcap", size))
	if st, err := os.Stat(p); err == nil && st.Size() > size/2 {
		return p
	}
	tmp := p + ".tmp"
	f, err := os.Create(tmp)
	if err != nil {
		tb.Fatal(err)
	}
	if _, err := synth.Write(f, synth.Options{TargetBytes: size}); err != nil {
		tb.Fatal(err)
	}
	if err := f.Close(); err != nil {
		tb.Fatal(err)
	}
	if err := os.Rename(tmp, p); err != nil {
		tb.Fatal(err)
	}
	return p
}

// counter is the cheapest Emitter: it counts, so a benchmark measures the
// core and not an analysis.
type counter struct{ exchanges, flows, dns atomic.Int64 }

func (c *counter) Exchange(*exchange.Exchange) { c.exchanges.Add(1) }
func (c *counter) Flow(*exchange.Flow)         { c.flows.Add(1) }
func (c *counter) DNS(*exchange.DNS)           { c.dns.Add(1) }

// decodeOnly reads the file and decodes every frame: the ceiling any
// parser of this capture can approach.
func decodeOnly(tb testing.TB, path string) uint64 {
	src, err := capture.OpenFile(path)
	if err != nil {
		tb.Fatal(err)
	}
	defer src.Close()
	d := decode.New(0)
	var p decode.Packet
	for {
		data, ci, err := src.ReadPacket()
		if err != nil {
			break
		}
		d.Decode(ci.LinkType, data, ci.Timestamp, &p)
	}
	return d.Stats.Packets
}

func apitap(tb testing.TB, path string, workers int) int64 {
	n, _ := apitapRun(tb, path, workers)
	return n
}

// apitapRun is apitap that also returns the run's summary.
func apitapRun(tb testing.TB, path string, workers int) (int64, *Summary) {
	src, err := capture.OpenFile(path)
	if err != nil {
		tb.Fatal(err)
	}
	defer src.Close()
	var c counter
	sum := Run(src, &Config{}, workers, &c, nil)
	return c.exchanges.Load(), sum
}

// baseline is the straightforward way to do the same job in Go: gopacket
// decodes each packet, tcpassembly reassembles, and net/http parses each
// direction from a tcpreader stream on its own goroutine.
func baseline(tb testing.TB, path string) int64 {
	f, err := os.Open(path)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	r, err := pcapgo.NewReader(bufio.NewReaderSize(f, 1<<20))
	if err != nil {
		tb.Fatal(err)
	}
	fac := &httpStreamFactory{}
	asm := tcpassembly.NewAssembler(tcpassembly.NewStreamPool(fac))
	for {
		data, ci, err := r.ReadPacketData()
		if err != nil {
			break
		}
		pkt := gopacket.NewPacket(data, layers.LinkTypeEthernet, gopacket.Default)
		tcp, ok := pkt.TransportLayer().(*layers.TCP)
		if !ok || pkt.NetworkLayer() == nil {
			continue
		}
		asm.AssembleWithTimestamp(pkt.NetworkLayer().NetworkFlow(), tcp, ci.Timestamp)
	}
	asm.FlushAll()
	fac.wg.Wait()
	return fac.requests.Load()
}

type httpStreamFactory struct {
	wg       sync.WaitGroup
	requests atomic.Int64
}

func (f *httpStreamFactory) New(_, transport gopacket.Flow) tcpassembly.Stream {
	rs := tcpreader.NewReaderStream()
	isReq := transport.Dst().String() == "8080" || transport.Dst().String() == "80" ||
		transport.Dst().String() == "9000"
	f.wg.Add(1)
	go func() {
		defer f.wg.Done()
		br := bufio.NewReader(&rs)
		for {
			if isReq {
				req, err := http.ReadRequest(br)
				if err != nil {
					break
				}
				io.Copy(io.Discard, req.Body)
				req.Body.Close()
				f.requests.Add(1)
			} else {
				resp, err := http.ReadResponse(br, nil)
				if err != nil {
					break
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
		}
		io.Copy(io.Discard, &rs)
	}()
	return &rs
}

// BenchmarkPipeline runs, in one process and on the same generated
// capture: (a) read and decode only, the ceiling; (b) apitap's core with
// one worker; apitap with two workers; (c) the gopacket tcpassembly and
// net/http baseline, once held to one thread (GOMAXPROCS=1) like (b), and
// once free to use both cores through its goroutine per stream. It
// reports each rate and the ratios between them, and 2w/1w twice: by wall
// time, and by the workers' own thread CPU time (steady on a shared
// machine, but blind to the garbage collector's background work). On a
// virtual machine it also reports the share of the cores' time the
// hypervisor stole during the two-worker runs (steal-%-2w), which caps
// what wall time can show.
func BenchmarkPipeline(b *testing.B) {
	size := int64(320 << 20)
	if testing.Short() {
		size = 32 << 20
	}
	path := benchCapture(b, size)
	st, _ := os.Stat(path)
	mb := float64(st.Size()) / 1e6
	decodeOnly(b, path) // warm the page cache
	// Wall time for the rates, CPU time (user+sys, all threads) for the
	// single-threaded ratios: CPU seconds barely move when another process
	// shares the cores, wall seconds do.
	var wall, cpu [5]time.Duration
	var ex1, ex2, exc int64
	// Thread CPU of the one worker, and of the busier of the two: their
	// ratio is the speed-up two idle cores would give, which wall time on
	// a shared machine can only approach.
	var worker1, busier2 time.Duration
	// What the hypervisor took from the cores during the two-worker runs,
	// as a share of the cores' time: the room wall time had to scale in.
	var stolen2 time.Duration
	run := func(i int, fn func()) {
		// Each run starts from a collected heap: the baseline leaves
		// gigabytes of garbage, and a collection of it inside the next run
		// would take a core from that run's workers.
		runtime.GC()
		w, c := cputime.Measure(fn)
		wall[i] += w
		cpu[i] += c
	}
	for b.Loop() {
		run(0, func() { decodeOnly(b, path) })
		var s1, s2 *Summary
		run(1, func() { ex1, s1 = apitapRun(b, path, 1) })
		st0 := cputime.Steal()
		run(2, func() { ex2, s2 = apitapRun(b, path, 2) })
		stolen2 += cputime.Steal() - st0
		if len(s1.WorkerCPU) == 1 && len(s2.WorkerCPU) == 2 {
			worker1 += s1.WorkerCPU[0]
			busier2 += max(s2.WorkerCPU[0], s2.WorkerCPU[1])
		}
		procs := runtime.GOMAXPROCS(1)
		run(3, func() { exc = baseline(b, path) })
		runtime.GOMAXPROCS(procs)
		run(4, func() { baseline(b, path) })
	}
	if ex1 != ex2 || ex1 < exc*99/100 {
		b.Fatalf("exchanges: 1 worker %d, 2 workers %d, baseline requests %d", ex1, ex2, exc)
	}
	rate := func(d time.Duration) float64 { return mb * float64(b.N) / d.Seconds() }
	b.ReportMetric(rate(wall[0]), "decode-MB/s")
	b.ReportMetric(rate(wall[1]), "apitap-MB/s")
	b.ReportMetric(rate(wall[2]), "apitap2w-MB/s")
	b.ReportMetric(rate(wall[3]), "baseline1t-MB/s")
	b.ReportMetric(rate(wall[4]), "baseline-MB/s")
	b.ReportMetric(rate(cpu[1]), "apitap-MB/cpu-s")
	b.ReportMetric(cpu[3].Seconds()/cpu[1].Seconds(), "apitap/baseline1t-cpu")
	b.ReportMetric(cpu[0].Seconds()/cpu[1].Seconds(), "apitap/decode-cpu")
	b.ReportMetric(wall[3].Seconds()/wall[1].Seconds(), "apitap/baseline1t")
	b.ReportMetric(wall[4].Seconds()/wall[1].Seconds(), "apitap/baseline")
	b.ReportMetric(wall[0].Seconds()/wall[1].Seconds(), "apitap/decode")
	b.ReportMetric(wall[1].Seconds()/wall[2].Seconds(), "2w/1w")
	if busier2 > 0 {
		b.ReportMetric(worker1.Seconds()/busier2.Seconds(), "2w/1w-thread-cpu")
	}
	cores := float64(runtime.NumCPU()) * wall[2].Seconds()
	b.ReportMetric(100*stolen2.Seconds()/cores, "steal-%-2w")
	b.ReportMetric(float64(ex1), "exchanges")
}

// BenchmarkEngine measures the core alone (one worker) on the smaller
// capture, with bytes and allocations per run.
func BenchmarkEngine(b *testing.B) {
	path := benchCapture(b, 32<<20)
	st, _ := os.Stat(path)
	b.SetBytes(st.Size())
	b.ReportAllocs()
	pkts := decodeOnly(b, path)
	for b.Loop() {
		apitap(b, path, 1)
	}
	b.ReportMetric(float64(pkts)*float64(b.N)/b.Elapsed().Seconds(), "packets/s")
}

// TestPeakMemory runs the core over the benchmark capture and checks that
// the heap stays within 256 MiB.
func TestPeakMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("writes and reads a 320 MB capture")
	}
	path := benchCapture(t, 320<<20)
	runtime.GC()
	var peak uint64
	done, sampled := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(sampled)
		var ms runtime.MemStats
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-done:
				return
			case <-tick.C:
				runtime.ReadMemStats(&ms)
				if ms.HeapInuse > peak {
					peak = ms.HeapInuse
				}
			}
		}
	}()
	apitap(t, path, 2)
	close(done)
	<-sampled // peak is the sampler's until it returns
	t.Logf("peak heap in use: %.1f MiB", float64(peak)/(1<<20))
	if peak > 256<<20 {
		t.Errorf("peak heap %d MiB; want ≤ 256 MiB", peak>>20)
	}
}
