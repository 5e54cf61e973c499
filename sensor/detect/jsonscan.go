package detect

import "bytes"

// ScanJSON runs the detectors over a JSON document, or the prefix of one.
// Each string and number value is scanned with the nearest key as its key
// and the key that named its enclosing object as context (so "name" under
// "customer" reads as a person's name).
//
// It reads the document exactly as a Tokenizer does (the same leniency, the
// same stops at malformed input, truncation and MaxJSONDepth), but in one
// loop: bodies are most of the bytes classification reads, and a call per
// token with its state kept in a struct cost more than the detectors on
// the typical number or lower-case word. TestScanJSONMatchesTokenizer holds
// the two readings together.
func (s *Scanner) ScanJSON(dir Direction, body []byte, fn func(*Match)) {
	c := scanCtx{pos: PosBody, dir: dir, fn: fn}
	b := body
	d := 0
	for i := 0; i < len(b); {
		ch := b[i]
		switch ch {
		case ' ', '\t', '\r', '\n', ',', ':':
			i++
		case '{', '[':
			if d == MaxJSONDepth {
				return
			}
			d++
			obj := ch == '{'
			s.isObj[d], s.wantKey[d] = obj, obj
			s.curKey[d], s.curKind[d] = [2]int{}, keyNone
			switch {
			case d > 1 && s.isObj[d-1]:
				s.ctxKey[d], s.ctxKind[d] = s.curKey[d-1], s.curKind[d-1]
			case d > 1:
				s.ctxKey[d], s.ctxKind[d] = s.ctxKey[d-1], s.ctxKind[d-1]
			default:
				s.ctxKey[d], s.ctxKind[d] = [2]int{}, keyNone
			}
			i++
		case '}', ']':
			if d == 0 || s.isObj[d] != (ch == '}') {
				return
			}
			d--
			s.valueDone(d)
			i++
		case '"':
			start := i + 1
			end, esc := jsonStringEnd(b, start)
			if end < 0 {
				return // truncated
			}
			i = end + 1
			if d > 0 && s.isObj[d] && s.wantKey[d] {
				s.wantKey[d] = false
				s.curKey[d] = [2]int{start, end}
				s.curKind[d] = s.kindOf(b[start:end])
				continue
			}
			s.valueDone(d)
			s.jsonValue(&c, b, d, start, end, esc)
		case 't', 'f', 'n':
			n := jsonLiteral(b[i:])
			if n <= 0 {
				return // malformed or truncated
			}
			i += n
			s.valueDone(d)
		default:
			if ch != '-' && !isDigit(ch) {
				return
			}
			j := i + 1
			for j < len(b) && numChar[b[j]] {
				j++
			}
			if j == len(b) && d > 0 {
				return // the prefix may have cut the number short
			}
			s.valueDone(d)
			s.jsonValue(&c, b, d, i, j, false)
			i = j
		}
	}
}

// valueDone records that a value ended in the container at depth d.
func (s *Scanner) valueDone(d int) {
	if d > 0 && s.isObj[d] {
		s.wantKey[d] = true
	}
}

// jsonValue scans the string or number b[start:end] found at depth d.
func (s *Scanner) jsonValue(c *scanCtx, b []byte, d, start, end int, esc bool) {
	switch {
	case d == 0:
		c.key, c.kind, c.parent = nil, keyNone, keyNone
	case s.isObj[d]:
		kk := s.curKey[d]
		c.key, c.kind, c.parent = b[kk[0]:kk[1]], s.curKind[d], s.ctxKind[d]
	default:
		kk := s.ctxKey[d]
		c.key, c.kind, c.parent = b[kk[0]:kk[1]], s.ctxKind[d], s.ctxKind[max(d-1, 0)]
	}
	v := b[start:end]
	if !esc && c.kind == keyNone && (len(v) == 0 || inertShape(v)) {
		// Nothing to find: no key to judge it by, and a shape no detector
		// matches (trimming spaces, as scanValue does, keeps it inert).
		return
	}
	c.base, c.encoded = start, false
	if esc {
		c.encoded, c.encLen = true, len(v)
		s.val = Unescape(s.val[:0], v)
		v = s.val
	}
	s.scanValue(c, v)
}

// jsonStringEnd returns the index of the quote that closes the string whose
// content starts at b[start], and whether the string holds an escape; end is
// -1 when the input ends first.
func jsonStringEnd(b []byte, start int) (end int, esc bool) {
	// Fast paths: most strings are short and hold no escape.
	j, lim := start, min(len(b), start+shortString)
	for j < lim && !strStop[b[j]] {
		j++
	}
	if j < lim && b[j] == '"' {
		return j, false
	}
	if j == lim {
		q := bytes.IndexByte(b[j:], '"')
		if q >= 0 && bytes.IndexByte(b[j:j+q], '\\') < 0 {
			return j + q, false
		}
	}
	for j := start; j < len(b); j++ {
		switch b[j] {
		case '\\':
			esc = true
			j++ // skip the escaped byte
		case '"':
			return j, esc
		}
	}
	return -1, esc
}

// jsonLiteral returns the length of the literal (true, false, null) that b
// starts with, or 0 when b is malformed or ends inside it.
func jsonLiteral(b []byte) int {
	for _, lit := range [...]string{"true", "false", "null"} {
		if lit[0] != b[0] {
			continue
		}
		if len(b) < len(lit) || string(b[:len(lit)]) != lit {
			return 0
		}
		return len(lit)
	}
	return 0
}
