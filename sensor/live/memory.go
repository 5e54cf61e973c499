package live

import (
	"log/slog"
	"runtime/metrics"
	"sync/atomic"
)

// heapMetric is the live heap as the runtime measures it: bytes in heap
// objects, reachable or not yet swept. It is cheap to read (no
// stop-the-world, unlike runtime.ReadMemStats).
const heapMetric = "/memory/classes/heap/objects:bytes"

// memoryGuard closes the admission of new flows while the heap is above
// limit and reopens it below 90% of it; the gap keeps it from flapping at
// the threshold. admit is called by every worker on the packet path.
type memoryGuard struct {
	limit    uint64 // bytes; 0 disables the guard
	log      *slog.Logger
	shedding atomic.Bool
	sample   [1]metrics.Sample
}

// admit reports whether workers may create flows now.
func (g *memoryGuard) admit() bool { return !g.shedding.Load() }

// check samples the heap and opens or closes admission. It is called from
// one goroutine.
func (g *memoryGuard) check() {
	if g.limit == 0 {
		return
	}
	heap := g.heap()
	switch {
	case !g.shedding.Load() && heap > g.limit:
		g.shedding.Store(true)
		g.log.Warn("memory limit reached, shedding new flows", "heap_bytes", heap,
			"limit_bytes", g.limit)
	case g.shedding.Load() && heap < g.limit/10*9:
		g.shedding.Store(false)
		g.log.Info("memory back under limit, admitting new flows", "heap_bytes", heap,
			"limit_bytes", g.limit)
	}
}

func (g *memoryGuard) heap() uint64 {
	g.sample[0].Name = heapMetric
	metrics.Read(g.sample[:])
	if g.sample[0].Value.Kind() != metrics.KindUint64 {
		return 0
	}
	return g.sample[0].Value.Uint64()
}
