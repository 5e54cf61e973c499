package engine

import (
	"io"
	"runtime/debug"
	"sync"
	"time"

	"github.com/apitap/apitap/sensor/capture"
	"github.com/apitap/apitap/sensor/decode"
)

// mappable is a source whose file can be mapped into memory
// (capture.FileSource on a plain pcap file).
type mappable interface {
	Map() (*capture.Mapping, error)
}

// mapped returns src's file mapped into memory, or nil when it cannot be
// (a stream, gzip or pcapng input, or mmap refused): Run then reads it.
func mapped(src capture.Source) *capture.Mapping {
	s, ok := src.(mappable)
	if !ok {
		return nil
	}
	m, err := s.Map()
	if err != nil {
		return nil
	}
	return m
}

// walk is what one goroutine of runMapped found.
type walk struct {
	dec   *decode.Decoder
	stats *Stats
	err   error
	first time.Time
	last  time.Time
}

// runMapped runs n workers over a mapped file with no reader between them:
// each walks every record and decodes it, enough to hash its flow, and hands
// on only the packets of its own flows. Decoding twice costs less than
// shipping packets from a reader goroutine would, and nothing is copied or
// queued. Each worker sees the whole file in order, so a flow's packets
// arrive in order, and IP fragments, which every decoder reassembles alike,
// go to the worker of their flow. Frames, decode counters, times and
// progress come from worker 0 alone, so they are counted once.
func runMapped(m *capture.Mapping, cfg *Config, n int, emit Emitter, sum *Summary,
	progress Progress) {
	walks := make([]walk, n)
	// Made here, in order, so that worker 0 holds the first cursor: the one
	// FileSource.BytesRead reports to the progress callback.
	cursors := make([]*capture.Records, n)
	for i := range cursors {
		cursors[i] = m.Records()
	}
	if n == 1 {
		walkMapped(cursors[0], 0, 1, cfg, emit, progress, &walks[0])
	} else {
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				var p Progress
				if i == 0 {
					p = progress
				}
				walkMapped(cursors[i], i, n, cfg, emit, p, &walks[i])
			})
		}
		wg.Wait()
	}

	w0 := &walks[0]
	sum.First, sum.Last = w0.first, w0.last
	fillDecode(sum, w0.dec)
	if n == 1 {
		// As the reading path does: Add would leave a nil map for an
		// empty one.
		sum.Stats = *w0.stats
	}
	for i := range walks {
		if n > 1 {
			sum.Stats.Add(walks[i].stats)
		}
		if sum.ReadError == nil {
			// Worker 0's error first: its counters are the summary's.
			sum.ReadError = walks[i].err
		}
	}
}

// walkMapped is one worker of runMapped: it handles the packets whose flows
// hash to shard, of n. A fault on the mapping (the file shrank under it)
// ends the walk with the read error a truncated file gives.
func walkMapped(r *capture.Records, shard, n int, cfg *Config, emit Emitter, progress Progress,
	out *walk) {
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	dec := decode.New(0)
	w := NewWorker(cfg, emit)
	out.dec = dec
	inPacket := false
	defer func() {
		v := recover()
		if v == nil {
			return
		}
		err := r.Fault(v)
		if err == nil {
			panic(v)
		}
		out.err = err
		out.first, out.last = r.Times()
		if inPacket {
			// Records.Next touched the packet's pages, so the file shrank
			// in the moment since. The worker stopped half-way through the
			// packet: its counters stand, but its flows are not ended.
			out.stats = w.Stats()
			return
		}
		out.stats = w.Finish()
	}()

	var p decode.Packet
	mine := uint32(shard)
	for {
		data, ci, err := r.Next()
		if err != nil {
			if err != io.EOF {
				out.err = err
			}
			break
		}
		if dec.Decode(ci.LinkType, data, ci.Timestamp, &p) == decode.OK &&
			(n == 1 || shardOf(&p)%uint32(n) == mine) {
			inPacket = true
			w.Packet(&p)
			inPacket = false
		}
		if progress != nil && dec.Stats.Frames&0xffff == 0 {
			progress(dec.Stats.Frames)
		}
	}
	out.stats = w.Finish()
	out.first, out.last = r.Times()
}
