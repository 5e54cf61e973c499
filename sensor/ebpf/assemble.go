package ebpf

import (
	"encoding/binary"
	"net/netip"
	"time"
)

// assembler turns tls_event records into Chunks. A call of up to 4 KiB is one
// record and is delivered straight from the ring bytes (no copy); larger
// calls arrive as pieces, in order per thread, and are joined in a per-thread
// buffer reused across calls. Pieces missing in the middle or at the tail
// become Lost bytes on the connection's next chunk. It runs on Run's
// goroutine only.
type assembler struct {
	src  *TLSSource
	fn   func(*Chunk)
	out  Chunk
	sock *sockets
	comm map[[16]byte]string // interned process names

	pending map[uint32]*call // by thread id
	free    []*call
	// lost carries bytes lost at a call's tail to the next chunk of the
	// same connection and direction.
	lost map[connDir]uint32
	max  int
}

type connDir struct {
	pid uint32
	ssl uint64
	dir uint8
}

// call is a call being reassembled from pieces.
type call struct {
	hdr     tlsHeader
	data    []byte // bytes joined so far
	next    uint32 // offset expected next
	lost    uint32 // bytes lost before data
	touched time.Time
}

// tlsHeader is the decoded record header.
type tlsHeader struct {
	ts, cgroup, ssl, seq uint64
	pid, tid             uint32
	fd                   int32
	total, offset, n     uint32
	lost                 uint32
	dir, last            uint8
	comm                 [16]byte
	family               uint8
	laddr, raddr         [16]byte
	lport, rport         uint16
}

func newAssembler(src *TLSSource, fn func(*Chunk)) *assembler {
	return &assembler{
		src: src, fn: fn, sock: newSockets(src.cfg.socketCache()),
		comm:    make(map[[16]byte]string),
		pending: make(map[uint32]*call), lost: make(map[connDir]uint32),
		max: src.cfg.maxPending(),
	}
}

func decodeTLSHeader(raw []byte, h *tlsHeader) bool {
	if len(raw) < tlsEventSize {
		return false
	}
	le := binary.LittleEndian
	h.ts, h.cgroup, h.ssl, h.seq = le.Uint64(raw), le.Uint64(raw[8:]), le.Uint64(raw[16:]),
		le.Uint64(raw[24:])
	h.pid, h.tid, h.fd = le.Uint32(raw[32:]), le.Uint32(raw[36:]), int32(le.Uint32(raw[40:]))
	h.total, h.offset, h.n, h.lost = le.Uint32(raw[44:]), le.Uint32(raw[48:]),
		le.Uint32(raw[52:]), le.Uint32(raw[56:])
	h.dir, h.last = raw[60], raw[61]
	copy(h.comm[:], raw[64:80])
	copy(h.laddr[:], raw[80:96])
	copy(h.raddr[:], raw[96:112])
	h.lport, h.rport, h.family = le.Uint16(raw[112:]), le.Uint16(raw[114:]), raw[116]
	return int(h.n) <= len(raw)-tlsEventSize && h.n <= tlsPartMax
}

// record handles one ring record.
func (a *assembler) record(raw []byte) {
	var h tlsHeader
	if !decodeTLSHeader(raw, &h) {
		return
	}
	data := raw[tlsEventSize : tlsEventSize+int(h.n)]
	// A piece never reaches past its call: should one claim to, the bytes
	// beyond the call's length are not the call's.
	h.offset = min(h.offset, h.total)
	if uint64(h.offset)+uint64(h.n) > uint64(h.total) {
		data = data[:h.total-h.offset]
		h.n = uint32(len(data))
	}

	p := a.pending[h.tid]
	if p != nil && p.hdr.seq != h.seq {
		a.finish(h.tid, p) // the previous call's tail never came
		p = nil
	}
	if p == nil && h.offset == 0 && h.last == 1 && h.n == h.total {
		a.emit(&h, data, h.lost)
		return
	}
	if p == nil {
		if len(a.pending) >= a.max {
			a.flushAll()
		}
		p = a.get()
		p.hdr = h
		p.lost = h.lost + h.offset // pieces before this one were lost
		p.next = h.offset
		a.pending[h.tid] = p
	} else if h.offset > p.next {
		// A piece in the middle was lost: hand over what came before it,
		// then continue with the gap as Lost.
		a.emit(&p.hdr, p.data, p.lost)
		p.data = p.data[:0]
		p.lost = h.offset - p.next
	} else if h.offset < p.next {
		// The piece repeats bytes already joined, which the kernel side
		// never sends on purpose: keep only what is new, as TCP would.
		data = data[min(p.next-h.offset, h.n):]
		h.offset = p.next
	}
	p.data = append(p.data, data...)
	p.next = h.offset + uint32(len(data))
	p.touched = time.Now()
	if h.last == 1 {
		delete(a.pending, h.tid)
		a.emit(&p.hdr, p.data, p.lost)
		a.put(p)
	}
}

// finish delivers an incomplete call and carries its missing tail forward.
func (a *assembler) finish(tid uint32, p *call) {
	delete(a.pending, tid)
	a.src.incomplete.Add(1)
	if len(p.data) > 0 || p.lost > 0 {
		a.emit(&p.hdr, p.data, p.lost)
	}
	if p.hdr.total > p.next {
		k := connDir{p.hdr.pid, p.hdr.ssl, p.hdr.dir}
		if len(a.lost) >= a.max {
			clear(a.lost)
		}
		a.lost[k] += p.hdr.total - p.next
	}
	a.put(p)
}

// flushStale finishes calls not touched since before.
func (a *assembler) flushStale(before time.Time) {
	for tid, p := range a.pending {
		if p.touched.Before(before) {
			a.finish(tid, p)
		}
	}
}

func (a *assembler) flushAll() {
	for tid, p := range a.pending {
		a.finish(tid, p)
	}
}

func (a *assembler) get() *call {
	if n := len(a.free); n > 0 {
		p := a.free[n-1]
		a.free = a.free[:n-1]
		return p
	}
	return &call{data: make([]byte, 0, 2*tlsPartMax)}
}

func (a *assembler) put(p *call) {
	p.data = p.data[:0]
	if len(a.free) < 64 {
		a.free = append(a.free, p)
	}
}

// emit fills the reused Chunk and hands it to the callback.
func (a *assembler) emit(h *tlsHeader, data []byte, lost uint32) {
	if len(a.lost) > 0 {
		k := connDir{h.pid, h.ssl, h.dir}
		if extra, ok := a.lost[k]; ok {
			lost += extra
			delete(a.lost, k)
		}
	}
	c := &a.out
	c.Time = a.src.clock.time(h.ts)
	c.PID, c.TID, c.CgroupID, c.Conn = h.pid, h.tid, h.cgroup, h.ssl
	c.Comm = a.intern(h.comm)
	c.Dir = Dir(h.dir)
	c.Data = data
	c.Lost = int(lost)
	ok := true
	switch h.family {
	case 2: // AF_INET
		c.Local = netip.AddrPortFrom(netip.AddrFrom4([4]byte(h.laddr[:4])), h.lport)
		c.Remote = netip.AddrPortFrom(netip.AddrFrom4([4]byte(h.raddr[:4])), h.rport)
	case 10: // AF_INET6
		c.Local = netip.AddrPortFrom(netip.AddrFrom16(h.laddr).Unmap(), h.lport)
		c.Remote = netip.AddrPortFrom(netip.AddrFrom16(h.raddr).Unmap(), h.rport)
	default:
		// The kernel saw no socket syscall for this connection yet
		// (or the fd was not a socket): try /proc.
		c.Local, c.Remote, ok = a.sock.lookup(h.pid, h.fd)
	}
	if !ok {
		a.src.unresolved.Add(1)
	}
	a.src.chunks.Add(1)
	a.fn(c)
}

// intern returns the process name without allocating for names seen before
// (a map lookup keyed by an array does not allocate).
func (a *assembler) intern(b [16]byte) string {
	if s, ok := a.comm[b]; ok {
		return s
	}
	n := 0
	for n < len(b) && b[n] != 0 {
		n++
	}
	s := string(b[:n])
	if len(a.comm) >= 4096 {
		clear(a.comm)
	}
	a.comm[b] = s
	return s
}
