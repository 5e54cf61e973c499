package engine

import (
	"encoding/binary"
	"io"
	"runtime"
	"runtime/debug"
	"sync"
	"time"

	"github.com/apitap/apitap/sensor/capture"
	"github.com/apitap/apitap/sensor/decode"
	"github.com/apitap/apitap/sensor/internal/cputime"
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
	// own decoded the frames rawShard gave this worker (with one worker,
	// every frame); shared, every frame rawShard could not place, of which
	// only the walker's counts (see lead).
	own, shared *decode.Decoder
	stats       *Stats
	err         error
	first       time.Time
	last        time.Time
	cpu         time.Duration // the goroutine's thread's CPU time
}

// runMapped runs n workers over a mapped file with no reader goroutine and
// no copies. With one worker, it walks the records and handles every packet
// (walkMapped). With more, worker 0 walks (lead): it places each frame's
// flow from the frame's header bytes, handles its own flows' packets, and
// hands every other packet to its worker as an offset into the mapping,
// through a ring per worker (follow). So the file is walked once, and each
// follower reads only its own packets' bytes. The walk costs worker 0 about
// as much as a share of the flows would, so it keeps fewer flows (see
// owners) and every worker finishes at about the same time. Each worker
// gets its flows' packets in capture order. Each frame is counted once: by
// the decoder of the worker it went to or, for frames every worker
// decodes, by worker 0's. Times and progress come from worker 0's cursor.
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
		walkMapped(cursors[0], cfg, emit, progress, &walks[0])
	} else {
		rings := make([]*ring, n)
		for i := 1; i < n; i++ {
			rings[i] = newRing(ringSize)
		}
		var wg sync.WaitGroup
		for i := 1; i < n; i++ {
			wg.Go(func() { follow(cursors[i], rings[i], cfg, emit, &walks[i]) })
		}
		lead(cursors[0], rings, cfg, emit, progress, &walks[0])
		wg.Wait()
	}

	w0 := &walks[0]
	sum.First, sum.Last = w0.first, w0.last
	if n == 1 {
		fillDecode(sum, &w0.own.Stats)
		// As the reading path does: Add would turn an empty map into nil.
		sum.Stats = *w0.stats
	} else {
		var ds decode.Stats
		addDecode(&ds, &w0.shared.Stats)
		for i := range walks {
			addDecode(&ds, &walks[i].own.Stats)
			sum.Stats.Add(walks[i].stats)
		}
		fillDecode(sum, &ds)
	}
	for i := range walks {
		sum.WorkerCPU = append(sum.WorkerCPU, walks[i].cpu)
		if sum.ReadError == nil {
			// Worker 0's first, as its cursor gave the times.
			sum.ReadError = walks[i].err
		}
	}
}

// addDecode adds the decoder counters o to s.
func addDecode(s, o *decode.Stats) {
	s.Frames += o.Frames
	s.Packets += o.Packets
	s.Truncated += o.Truncated
	for i := range s.Rejected {
		s.Rejected[i] += o.Rejected[i]
	}
}

// ringSize is how many packets wait for each following worker: 64 KiB of
// offsets, which stay in the cache, and a few milliseconds of work, enough
// for the walker to go on while a follower is descheduled for a moment.
const ringSize = 8192

// A ring entry is a record's offset in the file, shifted left by two, and
// what the follower does with it in the low two bits.
const (
	// entryOwn is a frame rawShard placed: the follower decodes it with its
	// own decoder and handles the packet.
	entryOwn = iota
	// entryShared and entrySharedMine are frames rawShard could not place,
	// which every follower decodes with its shared decoder, in order, so that
	// each reassembles IP fragments as the walker did. The walker's own
	// decoding found the packet's flow: a follower handles only the packets
	// marked as its own.
	entryShared
	entrySharedMine
	// entryPass says that the walker has reached the offset, so the follower
	// will read nothing before it any more (capture.Records.Pass).
	entryPass
)

// prefetchDistance is how many packets ahead of the one it handles a
// follower asks for a record's bytes: a few microseconds of its work, more
// than a memory access takes.
const prefetchDistance = 8

// passEvery is how far the walker goes between two entryPass: the pages a
// follower holds behind it, at most, on top of its backlog.
const passEvery = 4 << 20

// walkMapped walks every record with one worker. A fault on the mapping
// (the file shrank under it) ends the walk with the read error a truncated
// file gives.
func walkMapped(r *capture.Records, cfg *Config, emit Emitter, progress Progress, out *walk) {
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	w := startWalk(cfg, emit, out)
	defer out.stopClock()
	inPacket := false
	defer func() {
		if v := recover(); v != nil {
			out.fault(r, w, v, inPacket)
		}
	}()

	dec := out.own
	var p decode.Packet
	for {
		data, ci, err := r.Next()
		if err != nil {
			if err != io.EOF {
				out.err = err
			}
			break
		}
		if progress != nil && r.Count()&0xffff == 0 {
			progress(uint64(r.Count()))
		}
		if dec.Decode(ci.LinkType, data, ci.Timestamp, &p) == decode.OK {
			inPacket = true
			w.Packet(&p)
			inPacket = false
		}
	}
	out.stats = w.Finish()
	out.first, out.last = r.Times()
}

// lead is worker 0 of several: it walks every record, handles the packets
// of the flows it owns and hands the others to their workers' rings. A
// frame rawShard places goes to one worker. Any other frame (a fragment, a
// tunnel, another link type) the walker decodes with its shared decoder,
// which finds the packet's flow once a datagram is whole, and then goes to
// every follower, marked for the one that owns the flow. However the walk
// ends, the rings are closed (closing twice does no harm), so that the
// followers finish what they were given and stop.
func lead(r *capture.Records, rings []*ring, cfg *Config, emit Emitter, progress Progress,
	out *walk) {
	defer func() {
		for _, q := range rings[1:] {
			q.close()
		}
	}()
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	w := startWalk(cfg, emit, out)
	defer out.stopClock()
	inPacket := false
	defer func() {
		if v := recover(); v != nil {
			out.fault(r, w, v, inPacket)
		}
	}()

	var p decode.Packet
	o := newOwners(len(rings))
	own, shared := out.own, out.shared
	nextPass := passEvery
	for {
		off := int(r.Offset())
		data, ci, err := r.Next()
		if err != nil {
			if err != io.EOF {
				out.err = err
			}
			break
		}
		if off >= nextPass {
			for _, q := range rings[1:] {
				q.put(uint64(off)<<2 | entryPass)
			}
			nextPass = off + passEvery
		}
		if r.Count()&0xff == 0 {
			// Publish what the rings hold, however few: a follower whose
			// flows are quiet should not wait on a batch.
			for _, q := range rings[1:] {
				q.flush()
			}
			if r.Count()&0xffff == 0 {
				o.decay()
				if progress != nil {
					progress(uint64(r.Count()))
				}
			}
		}
		if h, ok := rawShard(ci.LinkType, data); ok {
			if i := o.of(h); i != 0 {
				rings[i].put(uint64(off)<<2 | entryOwn)
				continue
			}
			if own.Decode(ci.LinkType, data, ci.Timestamp, &p) == decode.OK {
				inPacket = true
				w.Packet(&p)
				inPacket = false
			}
			continue
		}
		mine := -1
		if shared.Decode(ci.LinkType, data, ci.Timestamp, &p) == decode.OK {
			mine = o.of(shardOf(&p))
		}
		for i, q := range rings[1:] {
			if i+1 == mine {
				q.put(uint64(off)<<2 | entrySharedMine)
			} else {
				q.put(uint64(off)<<2 | entryShared)
			}
		}
		if mine == 0 {
			inPacket = true
			w.Packet(&p)
			inPacket = false
		}
	}
	// The followers can end their flows while the walker ends its own.
	for _, q := range rings[1:] {
		q.close()
	}
	out.stats = w.Finish()
	out.first, out.last = r.Times()
}

// follow is a worker other than 0: it handles the packets the walker hands
// it through q, reading them from the mapping with its own cursor r. On a
// fault it stops q, so that the walker no longer waits for it.
func follow(r *capture.Records, q *ring, cfg *Config, emit Emitter, out *walk) {
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	w := startWalk(cfg, emit, out)
	defer out.stopClock()
	inPacket := false
	defer func() {
		if v := recover(); v != nil {
			q.stop()
			out.fault(r, w, v, inPacket)
		}
	}()

	var p decode.Packet
	own, shared := out.own, out.shared
	for {
		e, ok := q.get()
		if !ok {
			break
		}
		// The walker read the record moments ago on another core: ask for
		// a later one now, so that it is here when its turn comes.
		if next, ok := q.peek(prefetchDistance); ok && next&3 != entryPass {
			r.Prefetch(int(next >> 2))
		}
		off, kind := int(e>>2), e&3
		if kind == entryPass {
			r.Pass(off)
			continue
		}
		data, ci, err := r.Follow(off)
		if err != nil {
			out.err = err
			q.stop()
			break
		}
		dec := own
		if kind != entryOwn {
			dec = shared
		}
		if dec.Decode(ci.LinkType, data, ci.Timestamp, &p) == decode.OK && kind != entryShared {
			inPacket = true
			w.Packet(&p)
			inPacket = false
		}
	}
	out.stats = w.Finish()
	out.first, out.last = r.Times()
}

// startWalk prepares out for a walking goroutine and returns its worker. It
// locks the goroutine to its thread, so that the thread's CPU time is the
// worker's (Summary.WorkerCPU); stopClock undoes that.
func startWalk(cfg *Config, emit Emitter, out *walk) *Worker {
	runtime.LockOSThread()
	out.cpu = cputime.Thread()
	out.own, out.shared = decode.New(0), decode.New(0)
	return NewWorker(cfg, emit)
}

// stopClock ends what startWalk began.
func (out *walk) stopClock() {
	out.cpu = cputime.Thread() - out.cpu
	runtime.UnlockOSThread()
}

// fault ends a walk that panicked with v: a fault on the mapping becomes
// the read error of a truncated file; any other panic goes on. inPacket says
// whether the worker stopped half-way through a packet.
func (out *walk) fault(r *capture.Records, w *Worker, v any, inPacket bool) {
	err := r.Fault(v)
	if err == nil {
		panic(v)
	}
	out.err = err
	out.first, out.last = r.Times()
	if inPacket {
		// The packet's pages were there when the walker touched them, so
		// the file shrank in the moment since. The worker's counters stand,
		// but its flows are not ended.
		out.stats = w.Stats()
		return
	}
	out.stats = w.Finish()
}

// ownerBits sizes the table of owners: flows are given to workers in 4096
// groups by hash, each group when the walker first meets it.
const ownerBits = 12

// walkShare is what the walk costs the walker, in hundredths of a worker's
// flow work: with n workers, the walker keeps the flows of 1 - n*walkShare/100
// of a follower (a half with two, a fifth with three, none from four on).
// Measured on the generated capture, where the walk alone takes about a
// quarter of a single worker's time, and a follower spends a little longer
// on a packet than a worker that walked over it, whose bytes are already in
// its cache.
const walkShare = 26

// owners says which worker handles each group of flows. Only the walker
// reads and writes it: a follower learns what is its own from its ring.
// A group met for the first time goes to the worker with the least recent
// load for its weight, load being the packets the walker gave it, halved
// every so often so that flows long gone weigh little. The choice depends
// only on the capture, so a run repeats exactly.
type owners struct {
	// worker holds each group's worker plus one; 0 means none yet.
	worker [1 << ownerBits]uint16
	load   []uint64
	weight []uint64 // in hundredths of a follower's
}

func newOwners(n int) *owners {
	o := &owners{load: make([]uint64, n), weight: make([]uint64, n)}
	for i := range o.weight {
		o.weight[i] = 100
	}
	o.weight[0] = uint64(max(0, 100-n*walkShare))
	return o
}

// of returns the worker of the flows that hash to h, choosing one for a
// group met for the first time, and counts the packet in its load.
func (o *owners) of(h uint32) int {
	g := h >> (32 - ownerBits)
	w := o.worker[g]
	if w == 0 {
		w = uint16(o.choose() + 1)
		o.worker[g] = w
	}
	o.load[w-1]++
	return int(w - 1)
}

// choose returns the worker with the least load for its weight.
func (o *owners) choose() int {
	best := -1
	for i, wt := range o.weight {
		// load/wt < bestLoad/bestWt, without dividing.
		if wt > 0 && (best < 0 || o.load[i]*o.weight[best] < o.load[best]*wt) {
			best = i
		}
	}
	return best
}

// decay halves every load.
func (o *owners) decay() {
	for i := range o.load {
		o.load[i] /= 2
	}
}

// rawShard returns the shardOf hash of a frame, read straight from its
// header bytes, for the common frames: Ethernet, at most one VLAN tag, IPv4
// (not a fragment) or IPv6 (no extension header), then TCP or UDP. For any
// other frame it returns false. Whenever the decoder accepts a frame that
// rawShard placed, the packet's shardOf is the same hash; a frame the
// decoder rejects goes to one worker all the same, which counts it.
func rawShard(link capture.LinkType, b []byte) (uint32, bool) {
	if link != capture.LinkEthernet || len(b) < 18 {
		return 0, false
	}
	typ, ip := binary.BigEndian.Uint16(b[12:14]), b[14:]
	if typ == 0x8100 {
		typ, ip = binary.BigEndian.Uint16(b[16:18]), b[18:]
	}
	var a, z uint64
	var proto uint8
	var ports []byte
	switch typ {
	case 0x0800:
		if len(ip) < 20 || ip[0]>>4 != 4 {
			return 0, false
		}
		ihl := int(ip[0]&0x0f) * 4
		// A fragment (more to come, or an offset) is placed once whole.
		if ihl < 20 || len(ip) < ihl+4 || binary.BigEndian.Uint16(ip[6:8])&0x3fff != 0 {
			return 0, false
		}
		proto, ports = ip[9], ip[ihl:]
		a = uint64(binary.BigEndian.Uint32(ip[12:16]))
		z = uint64(binary.BigEndian.Uint32(ip[16:20]))
	case 0x86dd:
		if len(ip) < 44 || ip[0]>>4 != 6 {
			return 0, false
		}
		proto, ports = ip[6], ip[40:]
		a = binary.BigEndian.Uint64(ip[8:16]) ^ binary.BigEndian.Uint64(ip[16:24])
		z = binary.BigEndian.Uint64(ip[24:32]) ^ binary.BigEndian.Uint64(ip[32:40])
	default:
		return 0, false
	}
	if proto != decode.ProtoTCP && proto != decode.ProtoUDP {
		return 0, false
	}
	sp, dp := binary.BigEndian.Uint16(ports[0:2]), binary.BigEndian.Uint16(ports[2:4])
	return flowHash(mixEndpoint(a, sp), mixEndpoint(z, dp), proto), true
}
