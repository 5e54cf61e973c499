package httpparse

import (
	"bytes"
	"time"
)

// parseHead parses the complete header block in h.blk and sets up body
// framing. On a malformed block it loses sync and returns false. scanned
// says that scanBlock already found the fields: only the start line is
// left to parse.
func (h *half) parseHead(ts time.Time, scanned bool) bool {
	// The offsets scanBlock found are detached while clear gives the last
	// message's buffers back.
	hdr := h.hdr
	h.hdr = nil
	h.clear()
	var r Reason
	if scanned {
		h.hdr = hdr
		r = h.parseStart(h.blk)
	} else {
		h.hdr = h.offsets(hdr)
		r = h.parseBlock()
	}
	if r != ReasonNone {
		h.rejectHead(r)
		return false
	}
	h.inMsg = true
	h.end = ts
	if h.skipped > 0 || h.lostReason != ReasonNone {
		h.c.stats.Resyncs++
		h.c.h.Event(Event{Kind: EventResync, Reason: h.lostReason, Dir: h.dir, Time: ts})
		h.skipped = 0
		h.lostReason = ReasonNone
	}
	h.synced = true
	if h.st == stH2 {
		return true // the HTTP/2 preface; parseBlock switched modes
	}
	h.frame()
	return true
}

// scanBlock looks for the end of a header block at the start of b, and
// finds its fields in the same pass: one scan instead of one for the end and
// another for the fields. It succeeds (scanned) only for a complete block
// in the common shape: every field a token, a colon and a value, no obs-fold,
// at most MaxHeaders fields, the end within max bytes. Anything else, or an
// incomplete block, returns scanned false, and the caller takes the general
// path (findHeaderEnd, then parseBlock), which decides and counts errors.
// The start line is not parsed here: it has side effects (the role of the
// direction), which must wait until the block is known to be complete.
func (h *half) scanBlock(b []byte, max int) (end int, scanned bool) {
	h.hdr = h.offsets(h.hdr)
	i := bytes.IndexByte(b, '\n')
	if i < 0 {
		return -1, false
	}
	maxFields := h.c.cfg.maxHeaders()
	pos := i + 1
	for pos <= max {
		if pos >= len(b) {
			return -1, false
		}
		switch b[pos] {
		case '\n':
			return pos + 1, true
		case '\r':
			if pos+1 < len(b) && b[pos+1] == '\n' {
				return pos + 2, true
			}
			return -1, false
		}
		n := pos
		for n < len(b) && tchar[b[n]] {
			n++
		}
		if n == pos || n == len(b) || b[n] != ':' || len(h.hdr) >= maxFields {
			return -1, false
		}
		j := bytes.IndexByte(b[n+1:], '\n')
		if j < 0 {
			return -1, false
		}
		le := n + 1 + j // the LF
		e := le
		if b[e-1] == '\r' {
			e--
		}
		vs, ve := trimSpan(b, n+1, e)
		h.hdr = append(h.hdr, hdrOff{int32(pos), int32(n), int32(vs), int32(ve)})
		pos = le + 1
	}
	return -1, false
}

// parseStart parses the start line of block b.
func (h *half) parseStart(b []byte) Reason {
	line := b[:bytes.IndexByte(b, '\n')]
	if len(line) > 0 && line[len(line)-1] == '\r' {
		line = line[:len(line)-1]
	}
	return h.parseStartLine(line)
}

// parseBlock parses the start line and the fields of h.blk.
func (h *half) parseBlock() Reason {
	b := h.blk
	i := bytes.IndexByte(b, '\n')
	if r := h.parseStart(b); r != ReasonNone {
		return r
	}
	if h.st == stH2 {
		return ReasonNone
	}

	max := h.c.cfg.maxHeaders()
	pos := i + 1
	for pos < len(b) {
		j := bytes.IndexByte(b[pos:], '\n')
		if j < 0 {
			break
		}
		le := pos + j // the LF
		next := le + 1
		end := le
		if end > pos && b[end-1] == '\r' {
			end--
		}
		if end == pos {
			break // the empty line that ends the block
		}
		if c := b[pos]; c == ' ' || c == '\t' {
			if len(h.hdr) == 0 {
				// RFC 9112 §2.2: a whitespace-preceded line right after
				// the start line is consumed without further processing.
				pos = next
				continue
			}
			// RFC 9112 §5.2: obs-fold is replaced by SP before the value
			// is interpreted. That writes into the block, so a block
			// borrowed from the caller is copied first (rare).
			if h.ext {
				h.own = append(h.own[:0], b...)
				h.blk, h.ext = h.own, false
				h.hdr = h.hdr[:0]
				return h.parseBlock()
			}
			// Join as "value SP continuation": the continuation moves left
			// over the line break, inside the block this half owns.
			last := &h.hdr[len(h.hdr)-1]
			vs, ve := trimSpan(b, pos, end)
			if ve > vs {
				at := int(last.ve)
				if last.ve > last.vs {
					b[at] = ' '
					at++
				}
				n := copy(b[at:], b[vs:ve])
				last.ve = int32(at + n)
			}
			h.flags |= FlagFolded
			pos = next
			continue
		}
		// field-name is a token (RFC 9110 §5.1) and no whitespace is
		// allowed before the colon (RFC 9112 §5.1): one pass finds the
		// colon and checks the name.
		c := 0
		for pos+c < end && tchar[b[pos+c]] {
			c++
		}
		if c == 0 || pos+c == end || b[pos+c] != ':' {
			return ReasonBadHeader
		}
		if len(h.hdr) >= max {
			return ReasonTooManyHeaders
		}
		vs, ve := trimSpan(b, pos+c+1, end)
		h.hdr = append(h.hdr, hdrOff{int32(pos), int32(pos + c), int32(vs), int32(ve)})
		pos = next
	}
	return ReasonNone
}

// trimSpan returns the bounds of b[s:e] without surrounding SP and HTAB.
func trimSpan(b []byte, s, e int) (int, int) {
	for s < e && (b[s] == ' ' || b[s] == '\t') {
		s++
	}
	for e > s && (b[e-1] == ' ' || b[e-1] == '\t') {
		e--
	}
	return s, e
}

// parseStartLine parses a request-line (RFC 9112 §3) or a status-line
// (RFC 9112 §4), and settles which direction is the client.
func (h *half) parseStartLine(line []byte) Reason {
	isResp := len(line) >= 5 && string(line[:5]) == "HTTP/"
	if isResp {
		// status-line = HTTP-version SP status-code SP [ reason-phrase ]
		// HTTP-version = "HTTP/" DIGIT "." DIGIT (§2.3); only 1.x here.
		if len(line) < 12 || string(line[:7]) != "HTTP/1." || !isDigit(line[7]) ||
			// RFC 9110 §15: status codes are 100 to 599; 6xx-9xx are
			// taken as unknown classes, below 100 is not a status.
			line[8] != ' ' || line[9] < '1' || line[9] > '9' || !isDigit(line[10]) ||
			!isDigit(line[11]) {
			return ReasonBadStartLine
		}
		// A recipient accepts a missing SP before an empty reason.
		if len(line) > 12 && line[12] != ' ' {
			return ReasonBadStartLine
		}
		if !h.c.setRole(h.dir, false) {
			return ReasonBadStartLine
		}
		h.proto = protoOf(line[7])
		h.status = int(line[9]-'0')*100 + int(line[10]-'0')*10 + int(line[11]-'0')
		// line starts the block, so its offsets are block offsets.
		h.rsn = [2]int32{12, 12}
		if len(line) > 13 {
			h.rsn = [2]int32{13, int32(len(line))}
		}
		return ReasonNone
	}

	// request-line = method SP request-target SP HTTP-version
	sp := bytes.IndexByte(line, ' ')
	if sp <= 0 {
		return ReasonBadStartLine
	}
	for _, c := range line[:sp] {
		if !tchar[c] {
			return ReasonBadStartLine
		}
	}
	rest := line[sp+1:]
	sp2 := bytes.LastIndexByte(rest, ' ')
	if sp2 <= 0 {
		return ReasonBadStartLine
	}
	ver := rest[sp2+1:]
	tgt := rest[:sp2]
	for _, c := range tgt {
		// RFC 9112 §3.2 has no SP in a target, and servers answer 400,
		// but attack tools send them ("GET /x;cat /etc/passwd HTTP/1.1"):
		// the request is reported with its whole target.
		if !targetChar[c] && c != ' ' {
			return ReasonBadStartLine
		}
	}
	if string(ver) == "HTTP/2.0" && string(line[:sp]) == "PRI" && string(tgt) == "*" {
		// RFC 9113 §3.4: the connection preface; the block parsed so far
		// is its first 18 bytes, "SM\r\n\r\n" must follow.
		if !h.c.setRole(h.dir, true) {
			return ReasonBadStartLine
		}
		h.c.startH2(h.dir, len(h2Preface)-18, nil)
		return ReasonNone
	}
	if len(ver) != 8 || string(ver[:7]) != "HTTP/1." || !isDigit(ver[7]) {
		return ReasonBadStartLine
	}
	if !h.c.setRole(h.dir, true) {
		return ReasonBadStartLine
	}
	h.isReq = true
	h.proto = protoOf(ver[7])
	h.method = h.c.internMethod(line[:sp])
	h.tgt = [2]int32{int32(sp + 1), int32(sp + 1 + len(tgt))}
	return ReasonNone
}

func protoOf(minor byte) string {
	if minor == '0' {
		return ProtoHTTP10
	}
	return ProtoHTTP11
}

// frame reads the fields that decide body framing (RFC 9112 §6.3) and
// moves to the body state, or finishes a message that has no body.
func (h *half) frame() {
	var (
		te, teOther bool
		badLen      bool
		upgrade     bool
	)
	h.clen = -1
	for i, f := range h.hdr {
		name := h.blk[f.ns:f.ne]
		switch len(name) {
		case 4:
			if tokenIs(name, "host") && h.hostHdr < 0 {
				h.hostHdr = i
			}
		case 7:
			if tokenIs(name, "upgrade") {
				h.upgHdr = i
			}
		case 10:
			if tokenIs(name, "connection") && hasToken(h.hval(i), "upgrade") {
				upgrade = true
			}
		case 14:
			if tokenIs(name, "content-length") {
				n, ok := parseContentLength(h.hval(i))
				// RFC 9112 §6.3 rule 5: invalid, or several differing
				// values, is unrecoverable framing.
				if !ok || (h.clen >= 0 && n != h.clen) {
					badLen = true
				}
				h.clen = n
			}
		case 16:
			if tokenIs(name, "content-encoding") {
				h.encHdr = i
			}
		case 17:
			if tokenIs(name, "transfer-encoding") {
				// RFC 9112 §6.3 rule 4: chunked must be the final coding.
				te = equalFold(lastToken(h.hval(i)), "chunked")
				teOther = !te
			}
		}
	}
	if upgrade && h.upgHdr >= 0 {
		h.flags |= FlagUpgrade
	}

	if h.isReq {
		switch {
		case (te || teOther) && h.proto == ProtoHTTP10:
			// RFC 9112 §6.1: Transfer-Encoding in HTTP/1.0 means faulty
			// framing.
			h.badHead(ReasonBadLength)
			return
		case te:
			// RFC 9112 §6.3 rule 3: Transfer-Encoding overrides
			// Content-Length.
			h.chunked, h.clen = true, -1
		case teOther:
			// RFC 9112 §6.3 rule 4: a request whose final coding is not
			// chunked cannot be framed.
			h.badHead(ReasonBadLength)
			return
		case badLen:
			h.badHead(ReasonBadLength)
			return
		}
		h.startBody()
		return
	}

	// Responses (RFC 9112 §6.3 rules 1 and 2): HEAD, 1xx, 204 and 304
	// have no body, and neither has a 2xx answer to CONNECT.
	req := h.c.peekPending(h)
	noBody := h.status < 200 || h.status == 204 || h.status == 304
	if req != nil && (req.Method == "HEAD" || (req.Method == "CONNECT" && h.status/100 == 2)) {
		noBody = true
	}
	switch {
	case noBody:
		h.clen = -1
		h.finish()
	case (te || teOther) && h.proto == ProtoHTTP10:
		// RFC 9112 §6.1: the framing of an HTTP/1.0 message with
		// Transfer-Encoding is faulty, and the connection closes after
		// it: read the body to the close, as net/http does.
		h.clen = -1
		h.st = stCloseBody
		h.flags |= FlagCloseDelimited | FlagBadFraming
		h.startDecode()
	case te:
		h.chunked, h.clen = true, -1
		h.startBody()
	case teOther:
		// Rule 4: a response with a non-chunked final coding is
		// delimited by the close.
		h.clen = -1
		h.st = stCloseBody
		h.startDecode()
	case badLen:
		h.badHead(ReasonBadLength)
	case h.clen >= 0:
		h.startBody()
	default:
		// Rule 8: no length, the body runs to the close (HTTP/1.0 servers
		// and some HTTP/1.1 ones).
		h.st = stCloseBody
		h.flags |= FlagCloseDelimited
		h.startDecode()
	}
}

// startBody moves into the body of a message whose framing is known.
func (h *half) startBody() {
	h.startDecode()
	switch {
	case h.chunked:
		h.st = stChunkSize
		h.line = h.line[:0]
	case h.clen > 0:
		h.remain = h.clen
		h.st = stBody
	default:
		h.finish()
	}
}

// badHead reports a message whose framing cannot be trusted with its
// head only (a security sensor still wants to see the request), then
// resynchronises: whatever follows is not known to be a message start.
func (h *half) badHead(r Reason) {
	h.flags |= FlagBadFraming
	h.clen = -1
	h.chunked = false
	h.decode = false
	h.finish()
	h.loseSync(r)
}

// rejectHead drops a message whose head did not parse. When its start line
// did parse, a message surely happened there: the error counts even while
// resynchronising, and pairing accounts for it (a placeholder for a
// request, the pending request consumed for a final response).
func (h *half) rejectHead(r Reason) {
	isReq, status := h.isReq, h.status
	if r != ReasonBadStartLine {
		h.synced = true
	}
	h.loseSync(r)
	if r == ReasonBadStartLine {
		return
	}
	c := h.c
	switch {
	case isReq:
		c.pushLost()
	case status >= 200:
		c.respLost = false
		c.peekPending(h)
		if req := c.popPending(h); req != nil {
			c.stats.Unanswered++
			c.h.Event(Event{Kind: EventNoResponse, Dir: Dir(c.client), Time: h.end, Request: req})
		}
		c.releasePopped()
		h.pairSeq = 0
	}
}

// startDecode decides whether the body prefix is decoded at the end.
func (h *half) startDecode() {
	if h.encHdr >= 0 && h.c.cfg.decodeBodies() && decodable(h.hval(h.encHdr)) {
		h.decode = true
	}
}
