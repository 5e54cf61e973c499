package httpparse

import "bytes"

// tchar is the token alphabet of RFC 9110 §5.6.2, used for methods and
// field names.
var tchar = func() (t [256]bool) {
	for c := '0'; c <= '9'; c++ {
		t[c] = true
	}
	for c := 'a'; c <= 'z'; c++ {
		t[c] = true
		t[c-'a'+'A'] = true
	}
	for _, c := range "!#$%&'*+-.^_`|~" {
		t[c] = true
	}
	return t
}()

// targetChar accepts what may appear in a request-target: visible ASCII
// and obs-text (RFC 9112 §3.2 and RFC 3986; real clients send raw UTF-8).
var targetChar = func() (t [256]bool) {
	for c := 0x21; c < 0x100; c++ {
		t[c] = c != 0x7f
	}
	return t
}()

var (
	http1Prefix = []byte("HTTP/1.")
	// h2Preface is the client connection preface of RFC 9113 §3.4.
	h2Preface = []byte("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n")
)

// findHeaderEnd returns the offset just past the empty line that ends the
// header block in b, searching for line feeds from from; -1 if the block is
// not complete. Bare LF line endings are accepted as real servers do (RFC
// 9112 §2.2 allows a recipient to treat a lone LF as a line terminator).
func findHeaderEnd(b []byte, from int) int {
	for from < len(b) {
		i := bytes.IndexByte(b[from:], '\n')
		if i < 0 {
			return -1
		}
		i += from
		if i+1 < len(b) && b[i+1] == '\n' {
			return i + 2
		}
		if i+2 < len(b) && b[i+1] == '\r' && b[i+2] == '\n' {
			return i + 3
		}
		from = i + 1
	}
	return -1
}

// plausible says whether b may begin a message: a response ("HTTP/1."
// digit), or a method token followed by SP. With strict, the method must be
// a known one (used while resynchronising). It answers maybe=true when b is
// too short to tell.
func plausible(b []byte, strict bool) (ok, maybe bool) {
	if len(b) == 0 {
		return false, true
	}
	if b[0] == 'H' && len(b) >= 5 && string(b[:5]) == "HTTP/" {
		return true, false
	}
	n := len(b)
	if n > 16 {
		n = 16
	}
	for i := 0; i < n; i++ {
		c := b[i]
		if c == ' ' {
			if i == 0 {
				return false, false
			}
			if strict && knownMethod(b[:i]) == "" && string(b[:i]) != "PRI" {
				return false, false
			}
			return true, false
		}
		if !tchar[c] {
			return false, false
		}
	}
	if n < 16 {
		return false, true
	}
	return false, false
}

// findStart looks in b for the earliest plausible message start after a
// loss of sync: a known method, SP, a target, SP, "HTTP/1." (wantReq), or
// "HTTP/1." digit SP 3DIGIT (wantResp). It returns -1 when there is none.
func findStart(b []byte, wantReq, wantResp bool) int {
	from := 0
	for from < len(b) {
		i := bytes.Index(b[from:], http1Prefix)
		if i < 0 {
			return -1
		}
		p := from + i
		from = p + 1
		if p+8 > len(b) || !isDigit(b[p+7]) {
			// Incomplete at the end, or not a version: an incomplete one
			// is found again when more bytes arrive.
			continue
		}
		// A request line ends right after the version. Whether it does is
		// only known once the next byte arrived: deciding earlier would
		// make the result depend on where the input was split.
		if wantReq && p+8 < len(b) && (b[p+8] == '\r' || b[p+8] == '\n') {
			if s := requestStartBefore(b, p); s >= 0 {
				return s
			}
		}
		if wantResp && p+13 <= len(b) && b[p+8] == ' ' &&
			'1' <= b[p+9] && b[p+9] <= '9' && isDigit(b[p+10]) && isDigit(b[p+11]) {
			return p
		}
	}
	return -1
}

// requestStartBefore returns where a request line ending in the version at
// p begins, or -1: it walks back over SP, the target, SP and a known method.
func requestStartBefore(b []byte, p int) int {
	if p < 3 || b[p-1] != ' ' {
		return -1
	}
	lo := p - maxStartLine
	if lo < 0 {
		lo = 0
	}
	j := bytes.LastIndexByte(b[lo:p-1], ' ')
	if j < 0 {
		return -1
	}
	j += lo
	if j+1 == p-1 {
		return -1 // empty target
	}
	for _, c := range b[j+1 : p-1] {
		if !targetChar[c] {
			return -1
		}
	}
	best := -1
	for _, m := range methods {
		if j >= len(m) && string(b[j-len(m):j]) == m {
			if s := j - len(m); best < 0 || s < best {
				best = s
			}
		}
	}
	return best
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

// trimOWS drops optional whitespace (SP, HTAB) and a stray CR at both ends,
// as RFC 9112 §5.1 requires around field values.
func trimOWS(b []byte) []byte {
	for len(b) > 0 && (b[0] == ' ' || b[0] == '\t') {
		b = b[1:]
	}
	for len(b) > 0 {
		c := b[len(b)-1]
		if c != ' ' && c != '\t' && c != '\r' {
			break
		}
		b = b[:len(b)-1]
	}
	return b
}

// parseDec parses a non-empty run of decimal digits; ok is false on any
// other byte or on overflow past 2^62.
func parseDec(b []byte) (n int64, ok bool) {
	if len(b) == 0 {
		return 0, false
	}
	for _, c := range b {
		if !isDigit(c) || n > (1<<62)/10 {
			return 0, false
		}
		n = n*10 + int64(c-'0')
	}
	return n, true
}

// parseContentLength parses a Content-Length value. A list of identical
// values ("42, 42") is accepted as RFC 9110 §8.6 allows; anything else
// that is not a single number is invalid.
func parseContentLength(v []byte) (int64, bool) {
	if len(v) > 0 && len(v) < 19 {
		// The usual value, a plain number, needs none of the list handling
		// (and fits in int64 with 18 digits).
		var n int64
		for _, c := range v {
			if !isDigit(c) {
				goto list
			}
			n = n*10 + int64(c-'0')
		}
		return n, true
	}
list:
	n := int64(-1)
	for len(v) > 0 {
		var part []byte
		if i := bytes.IndexByte(v, ','); i >= 0 {
			part, v = v[:i], v[i+1:]
		} else {
			part, v = v, nil
		}
		x, ok := parseDec(trimOWS(part))
		if !ok || (n >= 0 && x != n) {
			return 0, false
		}
		n = x
	}
	if n < 0 {
		return 0, false
	}
	return n, true
}

// tokenIs reports whether the token b (tchar bytes only, as field names
// are) equals s, which is lower-case letters and '-', ignoring the case of
// b. Setting bit 0x20 lower-cases a letter and leaves '-' alone; among
// tchars only the upper-case letters map onto lower-case ones, so the
// comparison is exact, and cheaper than a general case fold.
func tokenIs(b []byte, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i, c := range b {
		if c|0x20 != s[i] {
			return false
		}
	}
	return true
}

// lastToken returns the last comma-separated element of a list value,
// trimmed (Transfer-Encoding: the final coding decides framing).
func lastToken(v []byte) []byte {
	// RFC 9110 §5.6.1: empty list elements are ignored.
	for {
		v = trimOWS(v)
		if len(v) == 0 || v[len(v)-1] != ',' {
			break
		}
		v = v[:len(v)-1]
	}
	if i := bytes.LastIndexByte(v, ','); i >= 0 {
		v = v[i+1:]
	}
	return trimOWS(v)
}

// hasToken reports whether the comma-separated list v contains tok,
// ignoring ASCII case (Connection: keep-alive, Upgrade).
func hasToken(v []byte, tok string) bool {
	for len(v) > 0 {
		var part []byte
		if i := bytes.IndexByte(v, ','); i >= 0 {
			part, v = v[:i], v[i+1:]
		} else {
			part, v = v, nil
		}
		if equalFold(trimOWS(part), tok) {
			return true
		}
	}
	return false
}

// startLineOK checks the shape of a start line (CR included or not):
// "HTTP/1.d SP 3DIGIT", or token SP target SP "HTTP/1.d" (or the HTTP/2
// preface line). parseStartLine does the full parse.
func startLineOK(line []byte) bool {
	if len(line) > 0 && line[len(line)-1] == '\r' {
		line = line[:len(line)-1]
	}
	if len(line) >= 12 && string(line[:7]) == "HTTP/1." {
		return isDigit(line[7]) && line[8] == ' ' && '1' <= line[9] && line[9] <= '9' &&
			isDigit(line[10]) && isDigit(line[11]) && (len(line) == 12 || line[12] == ' ')
	}
	sp := bytes.IndexByte(line, ' ')
	sp2 := bytes.LastIndexByte(line, ' ')
	if sp <= 0 || sp2 <= sp+1 {
		return false
	}
	for _, c := range line[:sp] {
		if !tchar[c] {
			return false
		}
	}
	for _, c := range line[sp+1 : sp2] {
		if !targetChar[c] && c != ' ' { // see parseStartLine on SP
			return false
		}
	}
	v := line[sp2+1:]
	return (len(v) == 8 && string(v[:7]) == "HTTP/1." && isDigit(v[7])) || string(v) == "HTTP/2.0"
}
