package httpparse

import (
	"encoding/binary"
	"time"

	"golang.org/x/net/http2/hpack"
)

// HTTP/2 frame types and flags (RFC 9113 §6).
const (
	frameData         = 0x0
	frameHeaders      = 0x1
	frameRSTStream    = 0x3
	frameSettings     = 0x4
	framePushPromise  = 0x5
	frameGoAway       = 0x7
	frameContinuation = 0x9

	flagEndStream  = 0x1
	flagAck        = 0x1
	flagEndHeaders = 0x4
	flagPadded     = 0x8
	flagPriority   = 0x20

	settingHeaderTableSize = 0x1
)

// h2conn holds the HTTP/2 state of a Conn, allocated once when the
// connection turns to HTTP/2 and kept across Reset.
type h2conn struct {
	c       *Conn
	dirs    [2]h2dir
	streams []h2stream
	active  bool
	scratch []byte // decoded bodies
}

// h2dir reads the frames of one direction.
type h2dir struct {
	conn        *h2conn
	dir         Dir
	prefaceLeft int // bytes of the client preface still expected
	dead        bool

	hdr  [9]byte
	hdrN int
	// The current frame.
	length  int
	typ     byte
	flags   byte
	sid     uint32
	needPad bool // the next payload byte is the pad length
	pre     int  // priority or promised-id bytes to skip
	content int  // payload bytes that carry data or a header fragment
	padLeft int  // padding to skip after content
	set     [6]byte
	setN    int

	// The header block being gathered across HEADERS and CONTINUATION.
	block      []byte
	blockSID   uint32
	blockEnd   bool // END_STREAM was set on the HEADERS frame
	blockPush  bool // PUSH_PROMISE: decode for HPACK state only
	continuing bool // a CONTINUATION must come next

	dec *hpack.Decoder
	cur *h2side // where decoded fields go; nil discards
}

// h2side is one half (request or response) of a stream.
type h2side struct {
	store      []byte
	offs       []hdrOff
	hdrs       []Header
	pseudo     [5][2]int32 // method, path, authority, scheme, status in store
	body       []byte
	bodyBytes  int64
	trunc      bool
	headers    bool // the header section was decoded
	incomplete bool // reported before its END_STREAM
	start      time.Time
	end        time.Time
}

const (
	psMethod = iota
	psPath
	psAuthority
	psScheme
	psStatus
)

// h2stream is one stream; side 0 is the request, side 1 the response.
type h2stream struct {
	id      uint32
	used    bool
	reqDone bool // the request was reported; req is valid
	side    [2]h2side
	req     Request
}

func (s *h2side) clear() {
	s.store = s.store[:0]
	s.offs = s.offs[:0]
	s.body = s.body[:0]
	s.bodyBytes = 0
	s.trunc = false
	s.headers = false
	s.incomplete = false
	for i := range s.pseudo {
		s.pseudo[i] = [2]int32{-1, -1}
	}
}

func (s *h2side) get(i int) []byte {
	p := s.pseudo[i]
	if p[0] < 0 {
		return nil
	}
	return s.store[p[0]:p[1]:p[1]]
}

// emit receives one decoded field from HPACK.
func (d *h2dir) emit(f hpack.HeaderField) {
	s := d.cur
	if s == nil {
		return
	}
	ns := len(s.store)
	s.store = append(s.store, f.Name...)
	vs := len(s.store)
	s.store = append(s.store, f.Value...)
	ve := len(s.store)
	if len(f.Name) > 0 && f.Name[0] == ':' {
		i := -1
		switch f.Name {
		case ":method":
			i = psMethod
		case ":path":
			i = psPath
		case ":authority":
			i = psAuthority
		case ":scheme":
			i = psScheme
		case ":status":
			i = psStatus
		}
		if i >= 0 {
			s.pseudo[i] = [2]int32{int32(vs), int32(ve)}
		}
		return
	}
	if len(s.offs) < d.conn.c.cfg.maxHeaders() {
		s.offs = append(s.offs, hdrOff{int32(ns), int32(vs), int32(vs), int32(ve)})
	}
}

func (h *h2conn) reset() {
	h.active = false
	for i := range h.streams {
		h.streams[i].used = false
	}
	for i := range h.dirs {
		d := &h.dirs[i]
		d.hdrN, d.prefaceLeft, d.dead, d.continuing = 0, 0, false, false
		d.block = d.block[:0]
		d.cur = nil
		// A fresh connection starts with an empty dynamic table: shrinking
		// the table to zero evicts every entry, so the decoder is reused.
		if d.dec == nil {
			d.dec = hpack.NewDecoder(4096, d.emit)
			d.dec.SetMaxStringLength(d.conn.c.cfg.maxHeaderBytes())
		} else {
			_ = d.dec.Close() // drops a half-decoded block, if any
			d.dec.SetMaxDynamicTableSize(0)
			d.dec.SetMaxDynamicTableSize(4096)
			d.dec.SetAllowedMaxDynamicTableSize(4096)
		}
	}
}

// startH2 switches direction dir to HTTP/2 frames; preface is the number
// of client preface bytes still to come. The first switch reports
// EventH2C (with req, the request that asked for the upgrade, if any).
func (c *Conn) startH2(dir Dir, preface int, req *Request) {
	if c.h2 == nil {
		c.h2 = &h2conn{c: c, streams: make([]h2stream, c.cfg.maxStreams())}
		for i := range c.h2.dirs {
			c.h2.dirs[i].conn = c.h2
			c.h2.dirs[i].dir = Dir(i)
		}
		c.h2.reset()
	}
	if !c.h2.active {
		c.h2.active = true
		c.h.Event(Event{Kind: EventH2C, Dir: dir, Request: req})
	}
	c.h2.dirs[dir].prefaceLeft = preface
	c.half[dir].st = stH2
	// With prior knowledge the server speaks HTTP/2 from its first byte.
	// Not so when an HTTP/1 request is pending: that is an Upgrade whose
	// 101 has not been parsed yet (the core fed the client side first),
	// and the 101 switches the server side itself.
	if preface > 0 && c.pendLen == 0 && !c.half[1-dir].synced {
		o := &c.half[1-dir]
		if o.st == stStart || (o.st == stSync && o.skipped == 0) || o.st == stHeader {
			replay := o.buf
			o.clear()
			o.st = stH2
			if len(replay) > 0 && o.skipped == 0 {
				c.h2feed(o.dir, replay, o.end)
			}
			o.buf = o.buf[:0]
		}
	}
}

// h2upgraded binds the request that carried "Upgrade: h2c" to stream 1
// (RFC 7540 §3.2), so the response on stream 1 pairs with it.
func (c *Conn) h2upgraded(req *Request) {
	if req == nil || c.h2 == nil {
		return
	}
	s := c.h2.stream(1, true)
	if s == nil {
		return
	}
	sd := &s.side[0]
	copyRequest(&s.req, req, &sd.store, &sd.offs, &sd.hdrs)
	s.reqDone = true
}

// stream finds stream id, or opens it when create is set and a slot is
// free (MaxStreams bounds the table).
func (h *h2conn) stream(id uint32, create bool) *h2stream {
	free := -1
	for i := range h.streams {
		s := &h.streams[i]
		if s.used {
			if s.id == id {
				return s
			}
		} else if free < 0 {
			free = i
		}
	}
	if !create {
		return nil
	}
	if free < 0 {
		h.c.stats.Errors[ReasonTooManyStreams]++
		return nil
	}
	s := &h.streams[free]
	s.id, s.used, s.reqDone = id, true, false
	s.side[0].clear()
	s.side[1].clear()
	return s
}

// h2feed reads frames of direction dir; it always consumes all of data.
func (c *Conn) h2feed(dir Dir, data []byte, ts time.Time) int {
	n := len(data)
	d := &c.h2.dirs[dir]
	for len(data) > 0 && !d.dead {
		if d.prefaceLeft > 0 {
			// RFC 9113 §3.4: the rest of the preface must match exactly.
			off := len(h2Preface) - d.prefaceLeft
			k := min(d.prefaceLeft, len(data))
			if string(data[:k]) != string(h2Preface[off:off+k]) {
				d.fail(ReasonH2Frame, ts)
				break
			}
			d.prefaceLeft -= k
			data = data[k:]
			continue
		}
		if d.hdrN < 9 {
			k := copy(d.hdr[d.hdrN:], data)
			d.hdrN += k
			data = data[k:]
			if d.hdrN == 9 {
				d.startFrame(ts)
			}
			continue
		}
		switch {
		case d.needPad:
			d.needPad = false
			pad := int(data[0])
			data = data[1:]
			d.content -= 1 + pad
			d.padLeft = pad
			// RFC 9113 §6.1: padding that exceeds the payload is a
			// connection error.
			if d.content < 0 {
				d.fail(ReasonH2Frame, ts)
				return n
			}
		case d.pre > 0:
			k := min(d.pre, len(data))
			d.pre -= k
			data = data[k:]
		case d.content > 0:
			k := min(d.content, len(data))
			d.payload(data[:k], ts)
			d.content -= k
			data = data[k:]
		case d.padLeft > 0:
			k := min(d.padLeft, len(data))
			d.padLeft -= k
			data = data[k:]
		}
		if !d.dead && d.hdrN == 9 && !d.needPad && d.pre == 0 && d.content == 0 && d.padLeft == 0 {
			d.endFrame(ts)
		}
	}
	return n
}

// startFrame decodes the 9-byte frame header (RFC 9113 §4.1).
func (d *h2dir) startFrame(ts time.Time) {
	d.length = int(d.hdr[0])<<16 | int(d.hdr[1])<<8 | int(d.hdr[2])
	d.typ, d.flags = d.hdr[3], d.hdr[4]
	d.sid = binary.BigEndian.Uint32(d.hdr[5:]) & 0x7fffffff
	d.needPad, d.pre, d.padLeft, d.setN = false, 0, 0, 0
	d.content = d.length

	// RFC 9113 §6.10: once a header block is open, only its
	// CONTINUATION frames may follow.
	if d.continuing && (d.typ != frameContinuation || d.sid != d.blockSID) {
		d.fail(ReasonH2Frame, ts)
		return
	}
	switch d.typ {
	case frameData, frameHeaders, framePushPromise:
		if d.sid == 0 { // RFC 9113 §6.1, §6.2, §6.6
			d.fail(ReasonH2Frame, ts)
			return
		}
		if d.flags&flagPadded != 0 {
			d.needPad = true
		}
		if d.typ == frameHeaders && d.flags&flagPriority != 0 {
			d.pre = 5
		}
		if d.typ == framePushPromise {
			d.pre = 4
		}
		d.content -= d.pre
		if d.content < 0 || (d.needPad && d.content < 1) {
			d.fail(ReasonH2Frame, ts)
			return
		}
		if d.typ != frameData {
			d.block = d.block[:0]
			d.blockSID = d.sid
			d.blockEnd = d.flags&flagEndStream != 0
			d.blockPush = d.typ == framePushPromise
		}
	case frameContinuation:
		if !d.continuing {
			d.fail(ReasonH2Frame, ts)
			return
		}
	case frameSettings:
		// RFC 9113 §6.5: a multiple of 6 octets on stream 0.
		if d.sid != 0 || d.length%6 != 0 {
			d.fail(ReasonH2Frame, ts)
			return
		}
	}
	if d.length == 0 || (d.content == 0 && !d.needPad && d.pre == 0) {
		d.endFrame(ts)
	}
}

// payload takes content bytes of the current frame.
func (d *h2dir) payload(p []byte, ts time.Time) {
	switch d.typ {
	case frameData:
		s := d.conn.stream(d.sid, false)
		if s == nil {
			return
		}
		sd := &s.side[d.role()]
		sd.bodyBytes += int64(len(p))
		sd.end = ts
		limit := d.conn.c.cfg.maxBodyPrefix()
		if room := limit - len(sd.body); room < len(p) {
			p = p[:max(room, 0)]
			sd.trunc = true
		}
		sd.body = append(sd.body, p...)
	case frameHeaders, frameContinuation, framePushPromise:
		if len(d.block)+len(p) > d.conn.c.cfg.maxHeaderBytes() {
			// HPACK state cannot survive a dropped fragment.
			d.fail(ReasonHeaderTooLarge, ts)
			return
		}
		d.block = append(d.block, p...)
	case frameSettings:
		for _, b := range p {
			d.set[d.setN] = b
			d.setN++
			if d.setN == 6 {
				d.setN = 0
				id := binary.BigEndian.Uint16(d.set[:2])
				v := binary.BigEndian.Uint32(d.set[2:])
				if id == settingHeaderTableSize {
					// The sender's decoder limit binds the encoder of the
					// other direction (RFC 9113 §6.5.2).
					d.conn.dirs[1-d.dir].dec.SetAllowedMaxDynamicTableSize(v)
				}
			}
		}
	}
}

// endFrame acts on a complete frame.
func (d *h2dir) endFrame(ts time.Time) {
	typ, flags, sid := d.typ, d.flags, d.sid
	d.hdrN = 0
	switch typ {
	case frameData:
		if flags&flagEndStream != 0 {
			if s := d.conn.stream(sid, false); s != nil {
				d.conn.endSide(s, d.role(), ts)
			}
		}
	case frameHeaders, frameContinuation, framePushPromise:
		if flags&flagEndHeaders == 0 {
			d.continuing = true
			return
		}
		d.continuing = false
		d.headerBlock(ts)
	case frameRSTStream:
		if s := d.conn.stream(sid, false); s != nil {
			d.conn.dropStream(s, ts)
		}
	case frameGoAway:
		d.conn.c.h.Event(Event{Kind: EventGoAway, Dir: d.dir, Time: ts})
	}
}

// headerBlock decodes a complete header block.
func (d *h2dir) headerBlock(ts time.Time) {
	h := d.conn
	role := d.role()
	var s *h2stream
	if !d.blockPush {
		s = h.stream(d.blockSID, role == 0)
	}
	var sd *h2side
	if s != nil {
		sd = &s.side[role]
		if sd.headers {
			sd = nil // trailers: decoded for HPACK state, not reported
		} else {
			sd.start = ts
		}
	}
	d.cur = sd
	if _, err := d.dec.Write(d.block); err != nil {
		d.fail(ReasonH2HPACK, ts)
		return
	}
	if err := d.dec.Close(); err != nil {
		d.fail(ReasonH2HPACK, ts)
		return
	}
	d.cur = nil
	if sd != nil {
		sd.end = ts
		sd.headers = true
		// RFC 9113 §8.1: an informational (1xx) header section comes
		// before the final one; report it and wait for the next.
		if role == 1 {
			if st := parseStatus(sd.get(psStatus)); st >= 100 && st < 200 {
				h.c.h.Event(Event{Kind: EventInterim, Dir: d.dir, Time: ts, Status: st})
				sd.clear()
				return
			}
		}
	}
	if d.blockEnd && s != nil {
		h.endSide(s, role, ts)
	}
}

// role is 0 for the client direction and 1 for the server.
func (d *h2dir) role() int {
	if d.conn.c.client == int8(d.dir) {
		return 0
	}
	return 1
}

// fail stops HTTP/2 parsing of one direction: after a framing or HPACK
// error the dynamic table cannot be trusted, so nothing after it can be.
func (d *h2dir) fail(r Reason, ts time.Time) {
	if d.dead {
		return
	}
	d.dead = true
	d.cur = nil
	d.conn.c.countError(r, d.dir, ts)
}

// h2lost handles a gap in an HTTP/2 direction.
func (c *Conn) h2lost(dir Dir, ts time.Time) {
	c.h2.dirs[dir].fail(ReasonGap, ts)
}

func parseStatus(b []byte) int {
	if len(b) != 3 || !isDigit(b[0]) || !isDigit(b[1]) || !isDigit(b[2]) {
		return 0
	}
	return int(b[0]-'0')*100 + int(b[1]-'0')*10 + int(b[2]-'0')
}

// endSide reports a request or response whose stream half ended.
func (h *h2conn) endSide(s *h2stream, role int, ts time.Time) {
	c := h.c
	sd := &s.side[role]
	if !sd.headers {
		return
	}
	sd.hdrs = sd.hdrs[:0]
	for _, o := range sd.offs {
		sd.hdrs = append(sd.hdrs, Header{
			Name:  sd.store[o.ns:o.ne:o.ne],
			Value: sd.store[o.vs:o.ve:o.ve],
		})
	}
	m := Message{
		Proto: ProtoH2C, Headers: sd.hdrs, ContentLength: -1, BodyBytes: sd.bodyBytes,
		Body: sd.body, Start: sd.start, End: ts, StreamID: s.id,
	}
	if sd.trunc {
		m.Flags |= FlagTruncated
	}
	if v, ok := m.Header("content-length"); ok {
		if n, ok := parseContentLength(v); ok {
			m.ContentLength = n
		}
	}
	if c.cfg.decodeBodies() {
		if v, ok := m.Header("content-encoding"); ok && decodable(v) {
			var fl Flags
			h.scratch, fl = c.dec.run(sd.body, v, c.cfg.maxBodyPrefix(), h.scratch[:0])
			if sd.trunc && fl&FlagDecodeError != 0 {
				fl = fl&^FlagDecodeError | FlagTruncated
			}
			if fl&FlagDecodeError != 0 {
				c.stats.Errors[ReasonDecode]++
			}
			m.Body, m.Flags, m.Encoding = h.scratch, m.Flags|fl, internEncoding(v)
		}
	}

	if sd.incomplete {
		m.Flags |= FlagIncomplete
	}
	if role == 0 {
		s.req = Request{
			Message: m, Method: c.internMethod(sd.get(psMethod)), Target: sd.get(psPath),
			Authority: sd.get(psAuthority), Scheme: sd.get(psScheme),
		}
		c.stats.Requests++
		c.h.Request(&s.req)
		if m.Encoding != "" {
			// The decoded body lives in scratch, which the response reuses:
			// the view kept for pairing falls back to the wire bytes.
			s.req.Body, s.req.Encoding = sd.body, ""
		}
		s.reqDone = true
		return
	}
	status := parseStatus(sd.get(psStatus))
	if status == 0 {
		// RFC 9113 §8.3.2: a response without a valid :status is
		// malformed. Count it; its request, if any, goes unanswered.
		c.countError(ReasonH2Frame, Dir(1-c.client), ts)
		h.dropStream(s, ts)
		return
	}
	r := &c.resp
	*r = Response{Message: m, Status: status}
	if !s.reqDone && s.side[0].headers {
		// The server answered before the request ended (streaming, or a
		// request that never sets END_STREAM): report the request first.
		s.side[0].incomplete = true
		h.endSide(s, 0, ts)
		r = &c.resp
	}
	if s.reqDone {
		r.Request = &s.req
	}
	c.stats.Responses++
	c.h.Response(r)
	s.used = false
}

// dropStream ends a reset stream: a reported request without a response
// is flushed as unanswered.
func (h *h2conn) dropStream(s *h2stream, ts time.Time) {
	if s.reqDone {
		h.c.stats.Unanswered++
		h.c.h.Event(Event{Kind: EventNoResponse, Dir: Dir(h.c.client), Time: ts, Request: &s.req})
	}
	s.used = false
}

// h2close flushes the streams at connection end.
func (c *Conn) h2close(ts time.Time) {
	for i := range c.h2.streams {
		s := &c.h2.streams[i]
		if !s.used {
			continue
		}
		if !s.reqDone && s.side[0].headers {
			s.side[0].incomplete = true
			c.h2.endSide(s, 0, ts)
		}
		c.h2.dropStream(s, ts)
	}
}
