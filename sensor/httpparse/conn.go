package httpparse

import "time"

// Conn parses the HTTP traffic of one TCP connection. It is not safe for
// concurrent use: one worker owns it. A Conn can be pooled with Reset.
type Conn struct {
	cfg  *Config
	h    Handler
	half [2]half

	// client is the direction that sends requests: -1 until the bytes
	// tell (a request line, a status line or the HTTP/2 preface).
	client int8
	closed bool

	// respLost is set when the response direction lost sync: the next
	// response then pairs with the newest pending request (see pair).
	respLost bool

	// pend is a ring of requests waiting for their response.
	pend     []pending
	pendHead int
	pendLen  int
	seq      uint64

	h2 *h2conn // nil until the connection turns to HTTP/2

	stats Stats

	// Views handed to the Handler, reused for every message.
	req    Request
	resp   Response
	hviews []Header
	dec    decoder
	// scratch, when set, lends body buffers and header views (SetScratch).
	scratch *Scratch
	// popped is the slot popPending removed, until releasePopped.
	popped *pending

	// methods not in the built-in list, interned per connection.
	extraMethods [4]string
}

// initialPending is the size of a new Conn's pending ring.
const initialPending = 4

// pending is one request waiting for its response: a copy of the request
// in storage owned by the slot, reused when the ring wraps.
type pending struct {
	req   Request
	seq   uint64
	lost  bool // placeholder for a request lost to a gap
	store []byte
	hdrs  []Header
}

// NewConn returns a Conn that reports to h. cfg may be nil for defaults;
// it is read, never written, and may be shared.
func NewConn(cfg *Config, h Handler) *Conn {
	c := &Conn{cfg: cfg}
	c.Reset(h)
	return c
}

// Reset prepares c for a new connection reporting to h, keeping its
// buffers. Stats start again from zero: read them before.
func (c *Conn) Reset(h Handler) {
	c.h = h
	c.client = -1
	c.closed = false
	c.respLost = false
	if c.pend == nil {
		// Most connections carry one request at a time: the ring starts
		// small and grows to MaxPending only for pipelined traffic. A
		// full-size ring per connection is memory the collector scans on
		// every cycle.
		c.pend = make([]pending, min(initialPending, c.cfg.maxPending()))
	}
	c.pendHead, c.pendLen, c.seq = 0, 0, 0
	c.popped = nil
	if c.h2 != nil {
		c.h2.reset()
	}
	c.stats = Stats{}
	for i := range c.half {
		hf := &c.half[i]
		if hf.c != nil {
			hf.dropBody()
		}
		*hf = half{
			c: c, dir: Dir(i),
			buf: hf.buf[:0], spare: hf.spare[:0], own: hf.own[:0],
			hdr: hf.hdr[:0], line: hf.line[:0], body: hf.body[:0], raw: hf.raw[:0],
		}
		hf.clear()
		hf.st = stStart
		hf.fresh = true
	}
}

// ClientDir returns the direction that carries requests, and false while
// the Conn cannot tell yet.
func (c *Conn) ClientDir() (Dir, bool) {
	if c.client < 0 {
		return 0, false
	}
	return Dir(c.client), true
}

// Stats returns the counters since NewConn or Reset.
func (c *Conn) Stats() Stats { return c.stats }

// Feed parses the next bytes of direction dir (0 or 1), seen at ts. data
// is only read, and only during the call.
func (c *Conn) Feed(dir Dir, data []byte, ts time.Time) {
	if c.closed || dir > 1 || len(data) == 0 {
		return
	}
	c.half[dir].feed(data, ts)
}

// Gap tells the Conn that n bytes of direction dir were lost (n < 0 when
// the count is unknown). Inside a body of known length the message goes
// on, flagged FlagGap; elsewhere the direction resynchronises.
func (c *Conn) Gap(dir Dir, n int, ts time.Time) {
	if c.closed || dir > 1 || n == 0 {
		return
	}
	c.half[dir].gap(n, ts)
}

// Close ends the connection: close-delimited bodies are completed, bodies
// cut short are reported with FlagIncomplete, and requests still waiting
// for a response are reported with EventNoResponse.
func (c *Conn) Close(ts time.Time) {
	if c.closed {
		return
	}
	// The response direction first, so a response ended by the close is
	// paired before the leftovers are flushed.
	first := Dir(0)
	if c.client == 0 {
		first = 1
	}
	c.half[first].close()
	c.half[1-first].close()
	if c.h2 != nil {
		c.h2close(ts)
	}
	for c.pendLen > 0 {
		c.dropOldest(ts)
	}
	c.closed = true
}

// setRole records which side is the client from a start line of dir; it
// returns false when that contradicts what is known.
func (c *Conn) setRole(dir Dir, isReq bool) bool {
	want := int8(dir)
	if !isReq {
		want = int8(1 - dir)
	}
	if c.client < 0 {
		c.client = want
		return true
	}
	return c.client == want
}

// internMethod returns the method as a string without allocating for the
// common methods and for a few others per connection.
func (c *Conn) internMethod(b []byte) string {
	if m := knownMethod(b); m != "" {
		return m
	}
	if string(b) == "PRI" {
		return "PRI"
	}
	for i, m := range c.extraMethods {
		if m == "" {
			c.extraMethods[i] = string(b)
			return c.extraMethods[i]
		}
		if m == string(b) {
			return m
		}
	}
	return string(b)
}

func (c *Conn) countError(r Reason, dir Dir, ts time.Time) {
	c.stats.Errors[r]++
	c.h.Event(Event{Kind: EventError, Reason: r, Dir: dir, Time: ts})
}

// Pairing rules. Responses answer pending requests in order (RFC 9112
// §9.3.2). Losses are handled so that later pairs stay aligned:
//   - a request head lost to a gap leaves a placeholder, whose response
//     is reported with a nil Request;
//   - once the response direction lost sync, the next response answers
//     the newest pending request, and the older ones are reported with
//     EventNoResponse (right for one request at a time, which is most
//     traffic; a pipelined burst that lost a response mispairs).
//
// Timestamps are not used: reassembly hands over out-of-order segments in
// batches stamped with one packet's time, so they cannot order messages.
func (c *Conn) peekPending(h *half) *Request {
	if c.respLost {
		c.respLost = false
		for c.pendLen > 1 {
			c.dropOldest(h.start)
		}
	}
	if c.pendLen == 0 {
		return nil
	}
	p := &c.pend[c.pendHead]
	h.pairSeq = p.seq
	if p.lost {
		return nil
	}
	return &p.req
}

// popPending removes the request h was paired with by peekPending and
// returns it; the slot stays intact until the next push.
func (c *Conn) popPending(h *half) *Request {
	if h.pairSeq == 0 || c.pendLen == 0 {
		return nil
	}
	p := &c.pend[c.pendHead]
	if p.seq != h.pairSeq {
		return nil
	}
	c.advance()
	c.popped = p
	if p.lost {
		return nil
	}
	return &p.req
}

// advance drops the oldest pending slot. An emptied ring starts again at
// slot 0: one request at a time, the usual traffic, then keeps reusing one
// warm slot instead of walking the ring and growing every slot's buffers.
// The slot just dropped stays intact until the next push.
func (c *Conn) advance() {
	c.pendHead = (c.pendHead + 1) % len(c.pend)
	c.pendLen--
	if c.pendLen == 0 {
		c.pendHead = 0
	}
}

// dropOldest reports the oldest pending request as unanswered.
func (c *Conn) dropOldest(ts time.Time) {
	p := &c.pend[c.pendHead]
	c.advance()
	if p.lost {
		c.release(p)
		return
	}
	c.stats.Unanswered++
	c.h.Event(Event{Kind: EventNoResponse, Dir: Dir(c.client), Time: ts, Request: &p.req})
	c.release(p)
}

// slot returns the next free pending slot, evicting the oldest request
// when the ring is full.
func (c *Conn) slot(ts time.Time) *pending {
	if c.pendLen == len(c.pend) && len(c.pend) < c.cfg.maxPending() {
		c.growPending()
	}
	if c.pendLen == len(c.pend) {
		c.stats.Errors[ReasonPendingOverflow]++
		c.dropOldest(ts)
	}
	p := &c.pend[(c.pendHead+c.pendLen)%len(c.pend)]
	c.pendLen++
	c.seq++
	p.seq = c.seq
	p.lost = false
	return p
}

// growPending doubles the ring, up to MaxPending, keeping the pending
// requests in order from slot 0.
func (c *Conn) growPending() {
	np := make([]pending, min(2*len(c.pend), c.cfg.maxPending()))
	for i := 0; i < c.pendLen; i++ {
		np[i] = c.pend[(c.pendHead+i)%len(c.pend)]
	}
	c.pend, c.pendHead = np, 0
}

// pushLost queues a placeholder for a request lost to a gap.
func (c *Conn) pushLost() {
	p := c.slot(time.Time{})
	p.lost = true
	p.req = Request{}
}

// push copies the request that h just parsed, with message fields m, into
// the pending ring and returns the copy. The header block is copied in one
// piece and the views are built on the copy, which is cheaper than copying
// field by field.
func (c *Conn) push(m *Message, h *half) *Request {
	p := c.slot(m.End)
	if s := c.scratch; s != nil {
		if p.store == nil {
			p.store = s.body()
		}
		if p.hdrs == nil {
			p.hdrs = s.headerList()
		}
	}
	need := len(h.blk) + len(m.Body)
	if cap(p.store) < need {
		// Grow once to a comfortable size rather than through every
		// power of two: a fresh slot would otherwise pay several copies.
		p.store = make([]byte, 0, max(need+need/2, 1024))
	}
	st := append(p.store[:0], h.blk...)
	st = append(st, m.Body...)
	if cap(p.hdrs) < len(h.hdr) {
		p.hdrs = make([]Header, 0, max(len(h.hdr), 16))
	}
	hv := p.hdrs[:0]
	for _, f := range h.hdr {
		hv = append(hv, Header{Name: st[f.ns:f.ne:f.ne], Value: st[f.vs:f.ve:f.ve]})
	}
	p.req = Request{Message: *m, Method: h.method, Target: st[h.tgt[0]:h.tgt[1]:h.tgt[1]]}
	p.req.Headers = hv
	if h.hostHdr >= 0 {
		f := h.hdr[h.hostHdr]
		p.req.Authority = st[f.vs:f.ve:f.ve]
	}
	p.req.Body = nil
	if len(m.Body) > 0 {
		p.req.Body = st[len(h.blk):len(st):len(st)]
	}
	p.store, p.hdrs = st, hv
	return &p.req
}

// copyRequest copies src into dst, with every byte in *store; the slices
// are reused across calls.
func copyRequest(dst, src *Request, store *[]byte, offs *[]hdrOff, hdrs *[]Header) {
	st := (*store)[:0]
	of := (*offs)[:0]
	// Offsets first: appending may move store.
	for _, f := range src.Headers {
		ns := len(st)
		st = append(st, f.Name...)
		vs := len(st)
		st = append(st, f.Value...)
		of = append(of, hdrOff{int32(ns), int32(vs), int32(vs), int32(len(st))})
	}
	var spans [4][2]int
	for i, b := range [4][]byte{src.Target, src.Authority, src.Scheme, src.Body} {
		spans[i][0] = len(st)
		st = append(st, b...)
		spans[i][1] = len(st)
	}
	hv := (*hdrs)[:0]
	for _, o := range of {
		hv = append(hv, Header{Name: st[o.ns:o.ne:o.ne], Value: st[o.vs:o.ve:o.ve]})
	}
	*dst = *src
	dst.Headers = hv
	views := [4]*[]byte{&dst.Target, &dst.Authority, &dst.Scheme, &dst.Body}
	for i, v := range views {
		*v = nil
		if spans[i][0] != spans[i][1] {
			*v = st[spans[i][0]:spans[i][1]:spans[i][1]]
		}
	}
	*store, *offs, *hdrs = st, of, hv
}
