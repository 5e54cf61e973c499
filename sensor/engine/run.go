package engine

import (
	"encoding/binary"
	"errors"
	"io"
	"net/netip"
	"sync"
	"time"

	"github.com/apitap/apitap/sensor/capture"
	"github.com/apitap/apitap/sensor/decode"
	"github.com/apitap/apitap/sensor/exchange"
)

// Summary describes a finished run.
type Summary struct {
	Frames     uint64
	Packets    uint64
	Truncated  uint64 // packets the capture's snaplen cut short
	Decode     map[string]uint64
	First      time.Time
	Last       time.Time
	Stats      Stats
	ReadError  error // the error that ended reading early, if any
	WorkersRan int
	// WorkerCPU is the CPU time each worker's thread used, on Linux, when
	// the workers walked a mapped file: how evenly the flows spread, and
	// what the run would take on as many idle cores. Empty otherwise.
	WorkerCPU []time.Duration
}

// Progress, when set on Run, is called from the reading goroutine (on a
// mapped file, the first worker's) about every 64k packets with the number
// of frames read so far.
type Progress func(frames uint64)

// batchSize is how many packets travel together to a worker: large enough
// to make channel costs vanish, small enough to keep latency and memory low.
const batchSize = 256

// queueLen is how many batches wait for each worker: enough to ride out a
// worker's slow moment (a flush, a garbage collection) without stalling
// the reader.
const queueLen = 8

// maxBatchChunks bounds the capture chunks (a megabyte each) one batch
// holds. Packets of an even mix span one or two; a batch that would need
// more is shipped early, so memory stays bounded however skewed the flows.
const maxBatchChunks = 2

// arenaSize is the room for payload copies in a batch.
const arenaSize = 256 << 10

// batch carries decoded packets. A payload lies either in one of the
// capture's chunks, which the batch holds a reference to, or, when the
// source does not share its buffers or the payload was put together from
// IP fragments, in a copy in arena.
type batch struct {
	pkts   []decode.Packet
	arena  []byte
	chunks []*capture.Chunk
}

// sharedSource is a source that can hand out its read buffers instead of
// reusing them (capture.FileSource).
type sharedSource interface {
	ReadShared() ([]byte, capture.Info, *capture.Chunk, error)
}

// Run reads src to the end, spreading flows over workers goroutines (1
// means everything runs on the calling goroutine), and reports to emit.
// emit must be safe for concurrent use when workers > 1.
//
// A plain pcap file (capture.FileSource.Map) is mapped into memory: the
// first worker walks it and hands each other worker the offsets of its
// flows' packets (see runMapped). Other sources are read by one goroutine
// that hands packets to the workers. Either way each worker sees its flows'
// packets in capture order.
func Run(src capture.Source, cfg *Config, workers int, emit Emitter, progress Progress) *Summary {
	if workers < 1 {
		workers = 1
	}
	sum := &Summary{WorkersRan: workers}
	if m := mapped(src); m != nil {
		runMapped(m, cfg, workers, emit, sum, progress)
		return sum
	}
	dec := decode.New(0)
	if workers == 1 {
		w := NewWorker(cfg, emit)
		readLoop(src, dec, sum, progress, func(p *decode.Packet, _ *capture.Chunk) { w.Packet(p) })
		sum.Stats = *w.Finish()
	} else {
		runSharded(src, dec, cfg, workers, emit, sum, progress)
	}
	fillDecode(sum, &dec.Stats)
	return sum
}

// fillDecode copies decoder counters into the summary.
func fillDecode(sum *Summary, ds *decode.Stats) {
	sum.Frames = ds.Frames
	sum.Packets = ds.Packets
	sum.Truncated = ds.Truncated
	sum.Decode = make(map[string]uint64)
	ds.Reasons(func(n string, c uint64) { sum.Decode[n] = c })
}

// readLoop reads and decodes every frame, handing TCP and UDP packets to fn
// with the chunk the frame lies in (nil when the source reuses its buffer).
func readLoop(src capture.Source, dec *decode.Decoder, sum *Summary, progress Progress,
	fn func(*decode.Packet, *capture.Chunk)) {
	read := func() ([]byte, capture.Info, *capture.Chunk, error) {
		data, ci, err := src.ReadPacket()
		return data, ci, nil, err
	}
	if s, ok := src.(sharedSource); ok {
		read = s.ReadShared
	}
	var p decode.Packet
	for {
		data, ci, chunk, err := read()
		if err != nil {
			if !errors.Is(err, io.EOF) {
				sum.ReadError = err
			}
			return
		}
		if sum.First.IsZero() || ci.Timestamp.Before(sum.First) {
			sum.First = ci.Timestamp
		}
		if ci.Timestamp.After(sum.Last) {
			sum.Last = ci.Timestamp
		}
		if dec.Decode(ci.LinkType, data, ci.Timestamp, &p) == decode.OK {
			fn(&p, chunk)
		}
		if progress != nil && dec.Stats.Frames&0xffff == 0 {
			progress(dec.Stats.Frames)
		}
	}
}

func runSharded(src capture.Source, dec *decode.Decoder, cfg *Config, n int, emit Emitter,
	sum *Summary, progress Progress) {
	chans := make([]chan *batch, n)
	// Room for every batch that can be in flight (queued, being worked
	// on, being filled), so that none is dropped and allocated anew.
	free := make(chan *batch, n*(queueLen+2))
	stats := make([]*Stats, n)
	var wg sync.WaitGroup
	for i := range chans {
		chans[i] = make(chan *batch, queueLen)
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			w := NewWorker(cfg, emit)
			for b := range chans[i] {
				for j := range b.pkts {
					w.Packet(&b.pkts[j])
				}
				for _, c := range b.chunks {
					c.Release()
				}
				clear(b.chunks)
				b.chunks = b.chunks[:0]
				b.pkts = b.pkts[:0]
				b.arena = b.arena[:0]
				select {
				case free <- b:
				default:
				}
			}
			stats[i] = w.Finish()
		}(i)
	}
	pending := make([]*batch, n)
	get := func() *batch {
		select {
		case b := <-free:
			return b
		default:
			// The arena comes when a payload needs copying: with a
			// source that shares its buffers, most batches never do.
			return &batch{pkts: make([]decode.Packet, 0, batchSize)}
		}
	}
	readLoop(src, dec, sum, progress, func(p *decode.Packet, c *capture.Chunk) {
		i := int(shardOf(p) % uint32(n))
		b := pending[i]
		if b == nil {
			b = get()
			pending[i] = b
		}
		if c != nil && c.Contains(p.Payload) {
			// The payload stays where it was read: the batch holds the
			// chunk until its worker is done, so no copy is needed.
			if k := len(b.chunks); k == 0 || b.chunks[k-1] != c {
				if k == maxBatchChunks {
					// A worker that gets few of the packets would
					// otherwise pin a chunk for each of them.
					chans[i] <- b
					b = get()
					pending[i] = b
				}
				c.Retain()
				b.chunks = append(b.chunks, c)
			}
			b.pkts = append(b.pkts, *p)
			if len(b.pkts) == batchSize {
				chans[i] <- b
				pending[i] = nil
			}
			return
		}
		// Copy the payload: the capture buffer is reused by the next read.
		if cap(b.arena)-len(b.arena) < len(p.Payload) {
			if len(b.arena) > 0 {
				// The arena is full: ship what we have, start a new batch.
				chans[i] <- b
				b = get()
				pending[i] = b
			}
			if cap(b.arena) < len(p.Payload) {
				b.arena = make([]byte, 0, max(arenaSize, len(p.Payload)))
			}
		}
		off := len(b.arena)
		b.arena = append(b.arena, p.Payload...)
		q := *p
		q.Payload = b.arena[off:len(b.arena):len(b.arena)]
		b.pkts = append(b.pkts, q)
		if len(b.pkts) == batchSize {
			chans[i] <- b
			pending[i] = nil
		}
	})
	for i, b := range pending {
		if b != nil && len(b.pkts) > 0 {
			chans[i] <- b
		}
		close(chans[i])
	}
	wg.Wait()
	for _, s := range stats {
		sum.Stats.Add(s)
	}
}

// shardOf hashes a packet's flow for sharding: both directions of a flow
// hash alike. Every packet is hashed, by the reader or, on a mapped file,
// by the walker (mostly through rawShard, which must agree), so this takes
// a few multiplications rather than flow.Hash's loop over address bytes;
// only consistency matters, not agreement with flow.Hash.
func shardOf(p *decode.Packet) uint32 {
	return flowHash(endpointHash(p.Src, p.SrcPort), endpointHash(p.Dst, p.DstPort), p.Proto)
}

// flowHash combines the hashes of a flow's two ends, in either order.
func flowHash(a, b uint64, proto uint8) uint32 {
	h := (a + b + uint64(proto)) * 0x9e3779b97f4a7c15
	return uint32(h >> 32)
}

// endpointHash mixes an address and port. An IPv4 address fills the low 32
// bits, an IPv6 one is folded to 64, and the port goes above 48. IPv4 takes
// As4: As16 spells the address out byte by byte and reads it back, which
// made the hash cost several times more, and every packet is hashed.
func endpointHash(a netip.Addr, port uint16) uint64 {
	if a.Is4() {
		b := a.As4()
		return mixEndpoint(uint64(binary.BigEndian.Uint32(b[:])), port)
	}
	b := a.As16()
	return mixEndpoint(binary.BigEndian.Uint64(b[:8])^binary.BigEndian.Uint64(b[8:]), port)
}

// mixEndpoint mixes an address, folded to 64 bits, with a port.
func mixEndpoint(addr uint64, port uint16) uint64 {
	x := (addr ^ uint64(port)<<48) * 0xff51afd7ed558ccd
	return x ^ x>>31
}

// Locked wraps an Emitter with a mutex so several workers can share it.
func Locked(e Emitter) Emitter { return &locked{e: e} }

type locked struct {
	mu sync.Mutex
	e  Emitter
}

func (l *locked) Exchange(ex *exchange.Exchange) { l.mu.Lock(); l.e.Exchange(ex); l.mu.Unlock() }
func (l *locked) Flow(f *exchange.Flow)          { l.mu.Lock(); l.e.Flow(f); l.mu.Unlock() }
func (l *locked) DNS(d *exchange.DNS)            { l.mu.Lock(); l.e.DNS(d); l.mu.Unlock() }
