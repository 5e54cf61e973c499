package live

import (
	"github.com/apitap/apitap/sensor/engine"
	"github.com/apitap/apitap/sensor/flow"
)

// folded is what the metrics already hold, so that counters only get the
// difference between two snapshots. Only updateMetrics touches it.
type folded struct {
	packets, bytes, drops map[string]uint64
	evicted               [4]uint64
	complete, unanswered  uint64
	orphans, shed         uint64
	parse                 map[string]uint64
	kafkaDropped          uint64
	kafkaBatches          uint64
	queueDropped          uint64
}

// updateMetrics folds the workers' last snapshots and the sinks' counters
// into the collectors. It is called from one goroutine.
func (r *Runtime) updateMetrics(workers []*worker, src *sources, out *output) {
	f := &r.folded
	if f.packets == nil {
		f.packets, f.bytes, f.drops = map[string]uint64{}, map[string]uint64{}, map[string]uint64{}
		f.parse = map[string]uint64{}
	}
	name := src.ifname()
	var sum engine.Stats
	packets, bytes := map[string]uint64{}, map[string]uint64{}
	flows, buffered := 0, 0
	parse := map[string]uint64{}
	for _, wk := range workers {
		s := wk.snapshot()
		sum.Add(&s.stats)
		flows += s.flows
		buffered += s.buffered
		for i, n := range s.ifPackets {
			if n > 0 {
				packets[name(i)] += n
				bytes[name(i)] += s.ifBytes[i]
			}
		}
		for k, v := range s.decode {
			parse["decode_"+k] += v
		}
	}
	for k, v := range sum.HTTPErrors {
		parse["http_"+k] += v
	}
	if sum.DNSErrors > 0 {
		parse["dns_malformed"] = sum.DNSErrors
	}

	addDeltas(f.packets, packets, func(k string, d uint64) { r.m.Packets.WithLabelValues(k).Add(float64(d)) })
	addDeltas(f.bytes, bytes, func(k string, d uint64) { r.m.Bytes.WithLabelValues(k).Add(float64(d)) })
	addDeltas(f.drops, src.kernelDrops(), func(k string, d uint64) {
		r.m.KernelDrops.WithLabelValues(k).Add(float64(d))
	})
	addDeltas(f.parse, parse, func(k string, d uint64) { r.m.ParseErrors.WithLabelValues(k).Add(float64(d)) })
	// Reason 0 is a flow that closed normally: not an eviction.
	for i := 1; i < len(sum.Evicted); i++ {
		if d := sum.Evicted[i] - min(f.evicted[i], sum.Evicted[i]); d > 0 {
			r.m.FlowsEvicted.WithLabelValues(flow.Reason(i).String()).Add(float64(d))
		}
		f.evicted[i] = max(f.evicted[i], sum.Evicted[i])
	}
	complete := sum.Exchanges - min(sum.Unanswered, sum.Exchanges)
	counter(&f.complete, complete, func(d float64) { r.m.Exchanges.WithLabelValues("complete").Add(d) })
	counter(&f.unanswered, sum.Unanswered, func(d float64) {
		r.m.Exchanges.WithLabelValues("no_response").Add(d)
	})
	counter(&f.orphans, sum.Orphans, func(d float64) {
		r.m.Exchanges.WithLabelValues("response_without_request").Add(d)
	})
	counter(&f.shed, sum.Shed, func(d float64) { r.m.MemoryShedFlows.Add(d) })
	r.m.FlowsActive.Set(float64(flows))
	r.m.ReassemblyBytes.Set(float64(buffered))

	qs := r.emitter.q.Stats()
	counter(&f.queueDropped, qs.Dropped, func(d float64) { r.m.KafkaErrors.WithLabelValues("queue_full").Add(d) })
	if out.kafka != nil {
		ks := out.kafka.Stats()
		r.m.SpoolBytes.Set(float64(ks.Spool.Bytes))
		counter(&f.kafkaBatches, ks.Batches, func(d float64) { r.m.KafkaBatches.Add(d) })
		counter(&f.kafkaDropped, ks.Dropped, func(d float64) {
			r.m.KafkaErrors.WithLabelValues("spool_full").Add(d)
		})
	}
}

// addDeltas calls add for every key whose total grew since prev, and
// records the new totals in prev. Totals that shrink (a worker restarted
// its counters) are taken as the new base.
func addDeltas(prev, cur map[string]uint64, add func(string, uint64)) {
	for k, v := range cur {
		if p := prev[k]; v > p {
			add(k, v-p)
		}
		prev[k] = v
	}
}

func counter(prev *uint64, cur uint64, add func(float64)) {
	if cur > *prev {
		add(float64(cur - *prev))
	}
	*prev = cur
}
