package httpparse

import (
	"bytes"
	"time"
)

// state is where a half (one direction) is in its byte stream.
type state uint8

const (
	stStart     state = iota // expecting a start line
	stSync                   // lost sync: scanning for a plausible start
	stHeader                 // header block spans chunks: accumulating in buf
	stBody                   // Content-Length body: remain bytes left
	stChunkSize              // reading a chunk-size line
	stChunkData              // inside chunk data: remain bytes left
	stChunkCRLF              // the CRLF after chunk data
	stTrailer                // trailer section after the last chunk
	stCloseBody              // close-delimited response body
	stIgnore                 // upgraded or tunnelled: bytes are not HTTP
	stH2                     // HTTP/2 frames
)

// maxChunkLine bounds a chunk-size line with its extensions.
const maxChunkLine = 4 << 10

// hdrOff locates one header field in the current header block. Offsets
// rather than slices let the block move (into own) when the message spans
// Feed calls without fixing up every field.
type hdrOff struct{ ns, ne, vs, ve int32 }

// half parses one direction of a connection.
type half struct {
	c   *Conn
	dir Dir
	st  state

	// synced is set once a message parsed cleanly since the last loss of
	// sync; while it is false, starts must use a known method and
	// failures are not counted (they are the expected cost of searching).
	synced bool
	// fresh: nothing was discarded since the connection began, so the
	// first bytes are taken to be a message start even with an unknown
	// method (the start line must still parse).
	fresh      bool
	lineOK     bool   // the buffered start line was checked
	skipped    int64  // bytes discarded while searching for a start
	lostReason Reason // why sync was last lost (for EventResync)

	buf   []byte // header block or resync carry spanning chunks; reused
	spare []byte // second buffer for refeed
	own   []byte // owned copy of blk when a message outlives its chunk
	blk   []byte // header block of the current message
	ext   bool   // blk points into the caller's chunk
	hdr   []hdrOff
	line  []byte // chunk-size line spanning chunks

	// The current message. Fields below are reset by clear.
	inMsg        bool
	isReq        bool
	method       string
	tgt, rsn     [2]int32 // target and reason-phrase offsets in blk
	status       int
	proto        string
	clen         int64
	chunked      bool
	remain       int64
	bodyBytes    int64
	body         []byte // owned body prefix; reused
	view         []byte // body seen whole inside one chunk: no copy
	raw          []byte // encoded body prefix, decoded by finish; reused
	rawFull      bool   // raw stopped at the limit
	prefixDone   bool   // a gap made further body bytes non-contiguous
	decode       bool
	encHdr       int // index in hdr of Content-Encoding, -1
	hostHdr      int
	upgHdr       int
	flags        Flags
	start, end   time.Time
	pairSeq      uint64 // pending request this response answers; 0 none
	tlineBody    bool   // trailer: current line has content
	trailerBytes int
	crSeen       bool
}

// feed runs the state machine over one chunk.
func (h *half) feed(data []byte, ts time.Time) {
	idle := 0 // passes in a row that consumed nothing
	for len(data) > 0 {
		st := h.st
		var n int
		switch st {
		case stStart:
			n = h.onStart(data, ts)
		case stSync:
			n = h.onSync(data, ts)
		case stHeader:
			n = h.onHeader(data, ts)
		case stBody:
			n = h.onBody(data, ts)
		case stChunkSize:
			n = h.onChunkSize(data, ts)
		case stChunkData:
			n = h.onChunkData(data, ts)
		case stChunkCRLF:
			n = h.onChunkCRLF(data, ts)
		case stTrailer:
			n = h.onTrailer(data, ts)
		case stCloseBody:
			h.end = ts
			h.addBody(data, false)
			n = len(data)
		case stH2:
			n = h.c.h2feed(h.dir, data, ts)
		default: // stIgnore
			return
		}
		if n == 0 {
			// States hand over without consuming, but a cycle of such
			// hand-overs must not spin: after a few, drop a byte and
			// search again. This only guards against parser bugs.
			if idle++; idle > 8 {
				h.loseSync(ReasonBadStartLine)
				h.buf = h.buf[:0]
				n = 1
			}
		} else {
			idle = 0
		}
		data = data[n:]
	}

	// The chunk is about to go away: keep what the message still needs.
	if h.inMsg && h.ext {
		h.own = append(h.bodyBuf(h.own)[:0], h.blk...)
		h.blk = h.own
		h.ext = false
	}
}

// onStart expects a start line at data[0].
func (h *half) onStart(data []byte, ts time.Time) int {
	// RFC 9112 §2.2: a server SHOULD ignore at least one empty line
	// received before the request-line; clients see stray CRLFs too.
	i := 0
	for i < len(data) && (data[i] == '\r' || data[i] == '\n') {
		i++
	}
	if i > 0 {
		return i
	}
	ok, maybe := plausible(data, h.strict())
	if !ok && !maybe {
		h.loseSync(ReasonBadStartLine)
		return 0
	}
	h.start = ts
	h.buf = h.buf[:0]
	h.lineOK = false
	h.st = stHeader
	return 0
}

// strict says whether a start must use a known method: while searching
// after a loss of sync, anything else is more likely body bytes.
func (h *half) strict() bool { return !h.synced && !h.fresh }

// onHeader gathers a header block. When the whole block is in data, it is
// parsed in place; otherwise it is copied into buf until complete.
func (h *half) onHeader(data []byte, ts time.Time) int {
	max := h.c.cfg.maxHeaderBytes()
	if len(h.buf) == 0 {
		e, scanned := h.scanBlock(data, max)
		if !scanned {
			h.hdr = h.hdr[:0]
			e = findHeaderEnd(data, 0)
		}
		if e > 0 && e <= max {
			h.blk, h.ext = data[:e], true
			if !h.parseHead(ts, scanned) {
				h.skipped++
				return 1 // rescan from the next byte
			}
			return e
		}
		if e < 0 && len(data) < max {
			if ok, maybe := plausible(data, h.strict()); !ok && !maybe {
				h.loseSync(ReasonBadStartLine)
				return 0
			}
			// A complete first line that is no start line is rejected now,
			// not after buffering up to MaxHeaderBytes of body bytes.
			if i := bytes.IndexByte(data, '\n'); i >= 0 {
				if !startLineOK(data[:i]) {
					// Like a failed parse: search again from the next byte.
					h.loseSync(ReasonBadStartLine)
					h.skipped++
					return 1
				}
				h.lineOK = true
			}
			h.buf = append(h.buf, data...)
			return len(data)
		}
		h.tooLarge(data)
		h.skipped++
		return 1
	}

	prev := len(h.buf)
	take := len(data)
	if prev+take > max {
		take = max - prev
	}
	h.buf = append(h.buf, data[:take]...)
	if prev < 16 {
		if ok, maybe := plausible(h.buf, h.strict()); !ok && !maybe {
			// As onStart does: search from this very byte.
			h.loseSync(ReasonBadStartLine)
			h.refeed(0, ts)
			return take
		}
	}
	if !h.lineOK {
		if i := bytes.IndexByte(h.buf, '\n'); i >= 0 {
			if !startLineOK(h.buf[:i]) {
				h.loseSync(ReasonBadStartLine)
				h.skipped++
				h.refeed(1, ts)
				return take
			}
			h.lineOK = true
		}
	}
	from := prev - 3
	if from < 0 {
		from = 0
	}
	e := findHeaderEnd(h.buf, from)
	if e < 0 {
		if len(h.buf) >= max {
			h.tooLarge(h.buf)
			h.skipped++
			h.refeed(1, ts)
		}
		return take
	}
	h.blk, h.ext = h.buf[:e], false
	// blk keeps the bytes: buf is not appended to until the message ends,
	// and then blk is no longer needed.
	h.buf = h.buf[:0]
	if !h.parseHead(ts, false) {
		h.skipped++
		h.buf = h.blk
		h.refeed(1, ts)
	}
	return e - prev
}

// tooLarge rejects a header block over MaxHeaderBytes that begins b. When
// its start line parses, the message is counted and paired like any other
// rejected head (see rejectHead).
func (h *half) tooLarge(b []byte) {
	h.clear()
	if i := bytes.IndexByte(b, '\n'); i > 0 {
		line := b[:i]
		if line[len(line)-1] == '\r' {
			line = line[:len(line)-1]
		}
		// The HTTP/2 preface line is never too large: keep parseStartLine
		// from switching protocols on it here.
		if !bytes.HasPrefix(line, h2Preface[:4]) && h.parseStartLine(line) == ReasonNone {
			h.rejectHead(ReasonHeaderTooLarge)
			return
		}
	}
	h.loseSync(ReasonHeaderTooLarge)
}

// refeed runs the bytes of buf from off through the state machine again,
// as the whole-chunk path does after a failed start: every path then
// resumes the search at the same byte, however the input was split. buf
// is swapped with a spare first, so the nested feed may buffer freely.
// The nesting is at most two deep: inside, bytes are parsed in place and
// only an incomplete tail is buffered again.
func (h *half) refeed(off int, ts time.Time) {
	tmp := h.buf
	h.buf = h.spare[:0]
	h.spare = nil
	if off < len(tmp) {
		h.feed(tmp[off:], ts)
	}
	h.spare = tmp[:0]
}

// onSync scans for a plausible start after a loss of sync. Bytes that may
// hold the beginning of a start line are carried to the next chunk in buf.
func (h *half) onSync(data []byte, ts time.Time) int {
	wantReq, wantResp := true, true
	if cl := h.c.client; cl >= 0 {
		wantReq = Dir(cl) == h.dir
		wantResp = !wantReq
	}
	prev := len(h.buf)
	b := data
	if prev > 0 {
		h.buf = append(h.buf, data...)
		b = h.buf
	}
	// skipped counts each byte once, when it is dropped from b (carried
	// bytes were not counted when they were kept).
	p := findStart(b, wantReq, wantResp)
	if p < 0 {
		// A start line not found yet begins after the last LF, and its
		// version has not fully arrived: keep that tail only.
		s := bytes.LastIndexByte(b, '\n') + 1
		if len(b)-s > maxStartLine {
			s = len(b) - maxStartLine
		}
		h.skipped += int64(s)
		if prev > 0 {
			n := copy(h.buf, h.buf[s:])
			h.buf = h.buf[:n]
		} else {
			h.buf = append(h.buf[:0], b[s:]...)
		}
		return len(data)
	}
	h.skipped += int64(p)
	h.st = stStart
	if prev == 0 {
		return p
	}
	if p >= prev {
		h.buf = h.buf[:0]
		return p - prev
	}
	// The start lies in the carried bytes: parse from there, carried and
	// new bytes alike.
	h.refeed(p, ts)
	return len(data)
}

// loseSync drops the direction into resynchronisation. A loss while in
// sync is counted as an error with reason.
func (h *half) loseSync(reason Reason) {
	if h.synced {
		h.c.countError(reason, h.dir, h.end)
		h.lostReason = reason
	}
	if h.st != stSync && h.dir == h.serverDir() {
		h.c.respLost = true
	}
	h.synced = false
	h.fresh = false
	h.st = stSync
	h.clear()
}

func (h *half) serverDir() Dir {
	if h.c.client < 0 {
		return 2 // unknown: matches no direction
	}
	return 1 - Dir(h.c.client)
}

// onBody consumes a Content-Length body.
func (h *half) onBody(data []byte, ts time.Time) int {
	n := len(data)
	if int64(n) > h.remain {
		n = int(h.remain)
	}
	whole := h.bodyBytes == 0 && int64(n) == h.remain
	h.addBody(data[:n], whole)
	h.remain -= int64(n)
	h.end = ts
	if h.remain == 0 {
		h.finish()
	}
	return n
}

// addBody counts body bytes and keeps a bounded prefix of them. A body
// that arrived whole inside one chunk is viewed in place, not copied.
func (h *half) addBody(p []byte, whole bool) {
	h.bodyBytes += int64(len(p))
	if h.prefixDone || len(p) == 0 {
		return
	}
	max := h.c.cfg.maxBodyPrefix()
	if h.decode {
		room := max - len(h.raw)
		if len(p) > room {
			p = p[:room]
			h.rawFull = true
		}
		h.raw = append(h.bodyBuf(h.raw), p...)
		return
	}
	if whole && len(h.body) == 0 {
		if len(p) > max {
			p = p[:max]
			h.flags |= FlagTruncated
		}
		h.view = p
		return
	}
	room := max - len(h.body)
	if len(p) > room {
		p = p[:room]
		h.flags |= FlagTruncated
	}
	h.body = append(h.bodyBuf(h.body), p...)
}

// onChunkSize reads "chunk-size [chunk-ext] CRLF" (RFC 9112 §7.1).
func (h *half) onChunkSize(data []byte, ts time.Time) int {
	h.end = ts
	i := bytes.IndexByte(data, '\n')
	if i < 0 {
		if len(h.line)+len(data) > maxChunkLine {
			h.badFraming(ReasonBadChunk)
			return len(data)
		}
		h.line = append(h.line, data...)
		return len(data)
	}
	ln := data[:i]
	if len(h.line) > 0 {
		h.line = append(h.line, ln...)
		ln = h.line
	}
	size, ok := parseChunkSize(ln)
	h.line = h.line[:0]
	if !ok {
		h.badFraming(ReasonBadChunk)
		return i + 1
	}
	if size == 0 {
		h.st = stTrailer
		h.trailerBytes = 0
		h.tlineBody = false
	} else {
		h.remain = size
		h.st = stChunkData
	}
	return i + 1
}

// parseChunkSize parses the hex size of a chunk line and accepts any
// chunk-ext after it (RFC 9112 §7.1.1: a recipient ignores unknown
// extensions); BWS before ';' is tolerated.
func parseChunkSize(ln []byte) (int64, bool) {
	if len(ln) > 0 && ln[len(ln)-1] == '\r' {
		ln = ln[:len(ln)-1]
	}
	var n int64
	i := 0
	for ; i < len(ln); i++ {
		c := ln[i]
		var d byte
		switch {
		case '0' <= c && c <= '9':
			d = c - '0'
		case 'a' <= c && c <= 'f':
			d = c - 'a' + 10
		case 'A' <= c && c <= 'F':
			d = c - 'A' + 10
		default:
			goto rest
		}
		if n > (1<<58)-1 {
			return 0, false
		}
		n = n<<4 | int64(d)
	}
rest:
	if i == 0 {
		return 0, false
	}
	if i < len(ln) && ln[i] != ';' && ln[i] != ' ' && ln[i] != '\t' {
		return 0, false
	}
	return n, true
}

func (h *half) onChunkData(data []byte, ts time.Time) int {
	n := len(data)
	if int64(n) > h.remain {
		n = int(h.remain)
	}
	h.addBody(data[:n], false)
	h.remain -= int64(n)
	h.end = ts
	if h.remain == 0 {
		h.st = stChunkCRLF
		h.crSeen = false
	}
	return n
}

// onChunkCRLF expects the CRLF closing chunk data (RFC 9112 §7.1); a bare
// LF is tolerated.
func (h *half) onChunkCRLF(data []byte, ts time.Time) int {
	h.end = ts
	switch c := data[0]; {
	case c == '\r' && !h.crSeen:
		h.crSeen = true
	case c == '\n':
		h.st = stChunkSize
	default:
		h.badFraming(ReasonBadChunk)
		return 0
	}
	return 1
}

// onTrailer skips the trailer section (RFC 9112 §7.1.2) up to its empty
// line. Trailer fields are bounded by MaxHeaderBytes but not reported.
func (h *half) onTrailer(data []byte, ts time.Time) int {
	h.end = ts
	for i, c := range data {
		switch c {
		case '\n':
			if !h.tlineBody {
				h.finish()
				return i + 1
			}
			h.tlineBody = false
		case '\r':
		default:
			h.tlineBody = true
		}
		h.trailerBytes++
		if h.trailerBytes > h.c.cfg.maxHeaderBytes() {
			h.badFraming(ReasonBadTrailer)
			return i + 1
		}
	}
	return len(data)
}

// badFraming ends the current message as incomplete and loses sync.
func (h *half) badFraming(reason Reason) {
	h.flags |= FlagIncomplete
	h.finish()
	h.loseSync(reason)
}

// gap handles n lost bytes (n < 0: unknown count).
func (h *half) gap(n int, ts time.Time) {
	h.c.stats.Gaps++
	switch h.st {
	case stIgnore:
		return
	case stH2:
		h.c.h2lost(h.dir, ts)
		return
	case stCloseBody:
		if n > 0 {
			h.bodyBytes += int64(n)
		}
		h.flags |= FlagGap
		h.prefixDone = true
		return
	case stBody, stChunkData:
		if n >= 0 && int64(n) < h.remain {
			// RFC 9112 framing still holds: skip the lost bytes.
			h.remain -= int64(n)
			h.bodyBytes += int64(n)
			h.flags |= FlagGap
			h.prefixDone = true
			if n > 0 && h.view == nil && len(h.body)+len(h.raw) < h.c.cfg.maxBodyPrefix() {
				h.flags |= FlagTruncated
			}
			return
		}
		if h.st == stBody && int64(n) == h.remain {
			h.bodyBytes += h.remain
			h.flags |= FlagGap | FlagTruncated
			h.end = ts
			h.finish()
			return // the next byte starts a message: still in sync
		}
		if h.st == stBody {
			h.bodyBytes += h.remain
			h.flags |= FlagGap | FlagTruncated
			h.finish()
		} else {
			h.flags |= FlagGap | FlagIncomplete
			h.finish()
		}
	default:
		if h.inMsg {
			h.flags |= FlagGap | FlagIncomplete
			h.finish()
		} else if h.c.client >= 0 && Dir(h.c.client) == h.dir && h.synced {
			// A request head was lost: hold its place in the queue so its
			// response does not take the next request.
			h.c.pushLost()
		}
	}
	h.synced = true // count every loss of framing to a gap, once
	h.loseSync(ReasonGap)
	h.buf = h.buf[:0]
}

// close ends the direction at connection end.
func (h *half) close() {
	switch h.st {
	case stCloseBody:
		h.flags |= FlagCloseDelimited
		h.finish()
	case stBody, stChunkSize, stChunkData, stChunkCRLF, stTrailer:
		if h.inMsg {
			h.flags |= FlagIncomplete
			h.finish()
		}
	}
	h.st = stIgnore
}

// clear resets the per-message fields, keeping buffers.
func (h *half) clear() {
	h.inMsg = false
	h.isReq = false
	h.method = ""
	h.status = 0
	h.proto = ""
	h.clen = -1
	h.chunked = false
	h.remain = 0
	h.bodyBytes = 0
	h.dropBody()
	h.view = nil
	h.rawFull = false
	h.prefixDone = false
	h.decode = false
	h.encHdr, h.hostHdr, h.upgHdr = -1, -1, -1
	h.flags = 0
	h.pairSeq = 0
}

// hval returns the value of header i of the current block.
func (h *half) hval(i int) []byte {
	f := h.hdr[i]
	return h.blk[f.vs:f.ve]
}
