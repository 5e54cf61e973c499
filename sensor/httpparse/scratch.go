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
	bodies [][]byte
	views  []Header
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

// SetScratch makes c borrow its in-flight buffers from s, which the other
// Conns of the same goroutine may share; nil (the default) gives c buffers
// of its own. Call it between connections (after NewConn or Reset).
func (c *Conn) SetScratch(s *Scratch) {
	for i := range c.half {
		c.half[i].dropBody()
	}
	c.scratch = s
}

// dropBody gives the body buffers back to the Scratch, or keeps them for
// reuse when there is none.
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
		return
	}
	h.body = h.body[:0]
	h.raw = h.raw[:0]
}

// bodyBuf returns the buffer to append body bytes to, lent by the Scratch
// when the half holds none.
func (h *half) bodyBuf(b []byte) []byte {
	if b == nil && h.c.scratch != nil {
		return h.c.scratch.body()
	}
	return b
}
