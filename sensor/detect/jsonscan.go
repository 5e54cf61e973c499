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
	s.idle[0] = true
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
			if obj {
				s.idle[d] = true
			} else {
				s.idle[d] = idleKey(s.ctxKind[d], s.ctxKind[max(d-1, 0)])
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
			end, seen := jsonStringEnd(b, start)
			if end < 0 {
				return // truncated
			}
			i = end + 1
			// Step over the ':' or ',' that follows here rather than
			// through the switch.
			for i < len(b) && jsonSkip[b[i]] {
				i++
			}
			if d > 0 && s.isObj[d] && s.wantKey[d] {
				s.wantKey[d] = false
				s.curKey[d] = [2]int{start, end}
				s.curKind[d] = s.kindOf(b[start:end])
				s.idle[d] = idleKey(s.curKind[d], s.ctxKind[d])
				continue
			}
			s.valueDone(d)
			if s.idle[d] && seen&inertEscape == 0 && (start == end || inertSeen(seen)) {
				continue // the common case jsonValue would drop: see there
			}
			s.jsonValue(&c, b, d, start, end, seen)
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
			j, plain := i+1, isDigit(ch)
			for j < len(b) && numChar[b[j]] {
				plain = plain && isDigit(b[j])
				j++
			}
			if j == len(b) && d > 0 {
				return // the prefix may have cut the number short
			}
			s.valueDone(d)
			if !(plain && s.idle[d]) { // digits alone are inert
				s.jsonValue(&c, b, d, i, j, inertUnknown)
			}
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

// jsonValue scans the string or number b[start:end] found at depth d; seen
// holds the inertClass bits of its bytes, or inertUnknown.
func (s *Scanner) jsonValue(c *scanCtx, b []byte, d, start, end int, seen uint8) {
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
	esc := seen&inertEscape != 0
	if !esc && idleKey(c.kind, c.parent) &&
		(len(v) == 0 || seen != inertUnknown && inertSeen(seen) || inertShape(v)) {
		// Nothing to find: no key that keyed would judge it by, and a
		// shape no detector matches (trimming spaces, as scanValue does,
		// keeps it inert).
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

// idleKey reports whether keyed does nothing for a value under a key of
// kind k in a container named by a key of kind parent.
func idleKey(k, parent keyKind) bool {
	switch k {
	case keyNone, keyPerson, keyVersion:
		return true
	case keyName, keyID:
		return parent != keyPerson
	}
	return false
}

// Extra bits of the classes jsonStringEnd reports next to inertClass's.
const (
	inertEscape  uint8 = 1 << 6    // the string holds a backslash escape
	inertUnknown uint8 = 1<<7 | 15 // not classified: read the bytes again
)

// strClass is inertClass with strEnd set for the bytes that end the plain
// run of a string, so that jsonStringEnd loads one table entry per byte.
var strClass = func() (t [256]uint8) {
	t = inertClass
	t['"'] |= strEnd
	t['\\'] |= strEnd
	return t
}()

const strEnd uint8 = 1 << 5

// inertSeen is inertWords over the bits a scan of the bytes collected.
func inertSeen(seen uint8) bool {
	return seen&inertOther == 0 && seen&(inertDigit|inertSpace) != inertDigit|inertSpace
}

// jsonStringEnd returns the index of the quote that closes the string whose
// content starts at b[start], or -1 when the input ends first, and the
// inertClass bits of the string's bytes (with inertEscape when it holds an
// escape), or inertUnknown for a long string.
func jsonStringEnd(b []byte, start int) (end int, seen uint8) {
	// Fast paths: most strings are short and hold no escape. The byte loop
	// classifies what it passes, so that jsonValue need not read the
	// bytes again to know an inert value.
	j, lim := start, min(len(b), start+shortString)
	for j < lim {
		x := strClass[b[j]]
		if x&strEnd != 0 {
			break
		}
		seen |= x
		j++
	}
	if j < lim && b[j] == '"' {
		return j, seen
	}
	if j == lim {
		q := bytes.IndexByte(b[j:], '"')
		if q >= 0 && bytes.IndexByte(b[j:j+q], '\\') < 0 {
			return j + q, inertUnknown
		}
	}
	esc := false
	for j := start; j < len(b); j++ {
		switch b[j] {
		case '\\':
			esc = true
			j++ // skip the escaped byte
		case '"':
			if esc {
				return j, inertUnknown | inertEscape
			}
			return j, inertUnknown
		}
	}
	return -1, 0
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
