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
	// own decoded the frames the raw hash gave this worker (with one
	// worker, every frame); shared, every frame the raw hash could not
	// place (see walkMapped).
	own, shared *decode.Decoder
	stats       *Stats
	err         error
	first       time.Time
	last        time.Time
	cpu         time.Duration // the walking thread's CPU time
}

// runMapped runs n workers over a mapped file with no reader between them:
// each walks every record, finds which flow it belongs to, and handles only
// the packets of its own flows. Walking the whole file in every worker costs
// less than shipping packets from a reader goroutine would, and nothing is
// copied or queued. Each worker sees the whole file in order, so a flow's
// packets arrive in order, and IP fragments, which every worker reassembles
// alike, go to the worker of their flow. Each frame is counted once: by the
// worker it belongs to, or, for frames every worker decodes, by worker 0.
// Times and progress come from worker 0's cursor.
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

// walkMapped is one worker of runMapped: it handles the packets whose flows
// hash to shard, of n. A fault on the mapping (the file shrank under it)
// ends the walk with the read error a truncated file gives.
//
// Most frames are placed by rawShard from their header bytes: a worker
// decodes only its own, with its own decoder, which counts them. The rest
// (fragments, tunnels, other link types) every worker decodes with a
// second decoder, whose counters only worker 0 reports, and places by
// shardOf: a fragment's flow is known once its datagram is whole, and
// every worker reassembles every datagram.
func walkMapped(r *capture.Records, shard, n int, cfg *Config, emit Emitter, progress Progress,
	out *walk) {
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	// One thread walks, so its CPU time is the worker's (Summary.WorkerCPU).
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	cpu0 := cputime.Thread()
	defer func() { out.cpu = cputime.Thread() - cpu0 }()
	own, shared := decode.New(0), decode.New(0)
	w := NewWorker(cfg, emit)
	out.own, out.shared = own, shared
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
		if progress != nil && r.Count()&0xffff == 0 {
			progress(uint64(r.Count()))
		}
		dec := own
		if n > 1 {
			h, ok := rawShard(ci.LinkType, data)
			if ok && h%uint32(n) != mine {
				continue // another worker's, which counts it
			}
			if !ok {
				dec = shared
			}
		}
		if dec.Decode(ci.LinkType, data, ci.Timestamp, &p) == decode.OK &&
			(dec == own || shardOf(&p)%uint32(n) == mine) {
			inPacket = true
			w.Packet(&p)
			inPacket = false
		}
	}
	out.stats = w.Finish()
	out.first, out.last = r.Times()
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
