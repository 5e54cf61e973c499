package engine

import (
	"os"
	"strconv"
	"testing"

	"github.com/apitap/apitap/sensor/internal/cputime"
)

// BenchmarkSharded compares one worker with two on the large benchmark
// capture, without the slow baselines of BenchmarkPipeline: the 2w/1w
// ratio (wall time) is what sharding buys, and cpu2w/cpu1w what it costs.
func BenchmarkSharded(b *testing.B) {
	size := int64(320 << 20)
	if testing.Short() {
		size = 32 << 20
	}
	path := benchCapture(b, size)
	decodeOnly(b, path) // warm the page cache
	var wall1, wall2, cpu1, cpu2 float64
	for b.Loop() {
		var ex1, ex2 int64
		w, c := cputime.Measure(func() { ex1 = apitap(b, path, 1) })
		wall1, cpu1 = wall1+w.Seconds(), cpu1+c.Seconds()
		w, c = cputime.Measure(func() { ex2 = apitap(b, path, 2) })
		wall2, cpu2 = wall2+w.Seconds(), cpu2+c.Seconds()
		if ex1 != ex2 {
			b.Fatalf("exchanges: %d with one worker, %d with two", ex1, ex2)
		}
	}
	b.ReportMetric(wall1/wall2, "2w/1w")
	b.ReportMetric(cpu2/cpu1, "cpu2w/cpu1w")
}

// BenchmarkWorkers runs the large capture with one and with two workers
// apart, so that a CPU profile can be taken of either.
func BenchmarkWorkers(b *testing.B) {
	path := benchCapture(b, 320<<20)
	st, _ := os.Stat(path)
	decodeOnly(b, path)
	for _, n := range []int{1, 2} {
		b.Run(strconv.Itoa(n), func(b *testing.B) {
			b.SetBytes(st.Size())
			b.ReportAllocs()
			for b.Loop() {
				apitap(b, path, n)
			}
		})
	}
}
