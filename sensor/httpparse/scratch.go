package httpparse

// maxScratchBodies bounds the free body buffers a Scratch keeps.
const maxScratchBodies = 64

// Scratch is memory that the Conns driven by one goroutine share: body
// buffers, which a message needs only while it is in flight, and the
// header views handed to the Handler. A Conn of its own would keep such
// buffers for each connection, and with hundreds of connections they fall
// out of the CPU cache between two uses; shared, the buffer given back last
// is lent first, still warm. A Scratch is not safe for concurrent use.
type Scratch struct {
	bodies [][]byte   // body prefixes, header block copies, request copies
	lists  [][]Header // header views of pending requests
	offs   [][]hdrOff // field offsets of messages being parsed
	views  []Header
	resp   Response
}

// NewScratch returns an empty Scratch.
func NewScratch() *Scratch { return &Scratch{} }

// body lends a buffer for a body prefix.
func (s *Scratch) body() []byte {
	if n := len(s.bodies); n > 0 {
		b := s.bodies[n-1]
		s.bodies = s.bodies[:n-1]
		return b
	}
	return make([]byte, 0, 4<<10)
}

// giveBody takes back a buffer lent by body.
func (s *Scratch) giveBody(b []byte) {
	if cap(b) > 0 && len(s.bodies) < maxScratchBodies {
		s.bodies = append(s.bodies, b[:0])
	}
}

// headerList lends a slice for the header views of a pending request.
func (s *Scratch) headerList() []Header {
	if n := len(s.lists); n > 0 {
		l := s.lists[n-1]
		s.lists = s.lists[:n-1]
		return l
	}
	return make([]Header, 0, 16)
}

// giveHeaderList takes back a slice lent by headerList.
func (s *Scratch) giveHeaderList(l []Header) {
	if cap(l) > 0 && len(s.lists) < maxScratchBodies {
		s.lists = append(s.lists, l[:0])
	}
}

// offsets returns the field offset slice to parse a header block into:
// hdr itself, or one lent by the Scratch when the half holds none.
func (h *half) offsets(hdr []hdrOff) []hdrOff {
	if hdr == nil {
		if s := h.c.scratch; s != nil {
			if n := len(s.offs); n > 0 {
				hdr = s.offs[n-1]
				s.offs = s.offs[:n-1]
			} else {
				hdr = make([]hdrOff, 0, 32)
			}
		}
	}
	return hdr[:0]
}

// response returns the Response value handed to the Handler.
func (c *Conn) response() *Response {
	if s := c.scratch; s != nil {
		return &s.resp
	}
	return &c.resp
}

// SetScratch makes c borrow its in-flight buffers from s, which the other
// Conns of the same goroutine may share; nil (the default) gives c buffers
// of its own. Call it between connections (after NewConn or Reset).
func (c *Conn) SetScratch(s *Scratch) {
	for i := range c.half {
		c.half[i].dropBody()
	}
	c.scratch = s
}

// dropBody gives the buffers of the message that just ended (body, header
// block copy, field offsets) back to the Scratch, or keeps them for reuse
// when there is none.
func (h *half) dropBody() {
	if s := h.c.scratch; s != nil {
		if h.body != nil {
			s.giveBody(h.body)
			h.body = nil
		}
		if h.raw != nil {
			s.giveBody(h.raw)
			h.raw = nil
		}
		if h.own != nil {
			s.giveBody(h.own)
			h.own = nil
		}
		if h.hdr != nil {
			if len(s.offs) < maxScratchBodies {
				s.offs = append(s.offs, h.hdr[:0])
			}
			h.hdr = nil
		}
		return
	}
	h.body = h.body[:0]
	h.raw = h.raw[:0]
	h.hdr = h.hdr[:0]
}

// release gives a pending slot's copy back to the Scratch once its request
// was reported for the last time. Without a Scratch the slot keeps it.
func (c *Conn) release(p *pending) {
	if s := c.scratch; s != nil && p != nil {
		if p.store != nil {
			s.giveBody(p.store)
			p.store = nil
		}
		if p.hdrs != nil {
			s.giveHeaderList(p.hdrs)
			p.hdrs = nil
		}
	}
}

// releasePopped releases the slot popPending removed last, after the
// handlers saw its request.
func (c *Conn) releasePopped() {
	c.release(c.popped)
	c.popped = nil
}

// bodyBuf returns the buffer to append body bytes to, lent by the Scratch
// when the half holds none.
func (h *half) bodyBuf(b []byte) []byte {
	if b == nil && h.c.scratch != nil {
		return h.c.scratch.body()
	}
	return b
}
