package httpparse

// finish reports the current message and readies the half for the next.
func (h *half) finish() {
	if !h.inMsg {
		h.clear()
		return
	}
	c := h.c

	body := h.body
	if h.view != nil {
		body = h.view
	}
	enc := ""
	if h.decode {
		var fl Flags
		body, fl = c.dec.run(h.raw, h.hval(h.encHdr), c.cfg.maxBodyPrefix(), h.bodyBuf(h.body)[:0])
		h.body = body[:0] // keep the grown buffer for the next message
		if h.rawFull || h.flags&FlagGap != 0 {
			// A cut input ends early by design: that is truncation, not
			// a decoding error.
			if fl&FlagDecodeError != 0 {
				fl = fl&^FlagDecodeError | FlagTruncated
			}
		}
		if fl&FlagDecodeError != 0 {
			c.stats.Errors[ReasonDecode]++
		}
		h.flags |= fl
		enc = internEncoding(h.hval(h.encHdr))
	}

	m := Message{
		Proto: h.proto, ContentLength: h.clen, Chunked: h.chunked,
		BodyBytes: h.bodyBytes, Body: body, Encoding: enc,
		Start: h.start, End: h.end, Flags: h.flags,
	}

	if h.isReq {
		c.stats.Requests++
		if c.pendLen < c.cfg.maxPending() {
			// The usual case: the request is copied into its pending slot
			// first and the handler sees that copy, so the header views
			// are built once, on bytes that outlive the caller's chunk.
			c.h.Request(c.push(&m, h))
			h.done()
			return
		}
		// The ring is full and push evicts the oldest request: the
		// handler sees this one first, as it arrived first.
		m.Headers = h.views()
		r := &c.req
		*r = Request{Message: m, Method: h.method, Target: h.blk[h.tgt[0]:h.tgt[1]]}
		if h.hostHdr >= 0 {
			r.Authority = h.hval(h.hostHdr)
		}
		c.h.Request(r)
		c.push(&m, h)
		h.done()
		return
	}

	m.Headers = h.views()
	if h.status < 200 && h.status != 101 {
		// RFC 9110 §15.2: interim responses precede the final one, which
		// is the one paired with the request.
		c.h.Event(Event{Kind: EventInterim, Dir: h.dir, Time: h.end, Status: h.status})
		h.done()
		return
	}
	req := c.popPending(h)
	r := c.response()
	*r = Response{Message: m, Status: h.status, Reason: h.blk[h.rsn[0]:h.rsn[1]], Request: req}
	c.stats.Responses++
	c.h.Response(r)

	switch {
	case h.status == 101:
		// RFC 9110 §7.8: after 101 the connection speaks the protocol
		// named in the response's Upgrade field.
		var proto []byte
		if h.upgHdr >= 0 {
			proto = h.hval(h.upgHdr)
		} else if req != nil {
			proto, _ = req.Header("upgrade")
		}
		if hasToken(proto, "h2c") {
			c.startH2(h.dir, 0, req)
			c.h2upgraded(req)
			c.releasePopped()
			h.done()
			return
		}
		c.h.Event(Event{Kind: EventUpgrade, Dir: h.dir, Time: h.end, Status: h.status,
			Proto: proto, Request: req})
		c.stopHTTP()
	case req != nil && req.Method == "CONNECT" && h.status/100 == 2:
		// RFC 9110 §9.3.6: after a 2xx the connection is a tunnel.
		c.h.Event(Event{Kind: EventTunnel, Dir: h.dir, Time: h.end, Status: h.status,
			Request: req})
		c.stopHTTP()
	}
	c.releasePopped()
	h.done()
}

// views returns the header fields of the current block as views into it,
// in the Conn's reused slice.
func (h *half) views() []Header {
	views := &h.c.hviews
	if s := h.c.scratch; s != nil {
		views = &s.views
	}
	hv := (*views)[:0]
	for _, f := range h.hdr {
		hv = append(hv, Header{Name: h.blk[f.ns:f.ne:f.ne], Value: h.blk[f.vs:f.ve:f.ve]})
	}
	*views = hv
	return hv
}

// done clears the message and, unless the connection changed protocol,
// expects the next start line.
func (h *half) done() {
	h.clear()
	if h.st != stIgnore && h.st != stH2 {
		h.st = stStart
	}
}

// stopHTTP ends HTTP parsing on both directions (upgrade or tunnel).
func (c *Conn) stopHTTP() {
	for i := range c.half {
		c.half[i].st = stIgnore
		c.half[i].buf = c.half[i].buf[:0]
	}
}

// internEncoding returns Content-Encoding values as strings without
// allocating for the single codings.
func internEncoding(v []byte) string {
	for _, e := range [...]string{"gzip", "deflate", "br", "zstd", "x-gzip"} {
		if equalFold(v, e) {
			return e
		}
	}
	return string(v)
}
