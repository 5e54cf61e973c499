package detect

import "bytes"

// TokenKind is the kind of a JSON token.
type TokenKind uint8

const (
	TokEnd         TokenKind = iota // end of input, or input truncated mid-token
	TokError                        // malformed input or depth over the limit
	TokObjectOpen                   // {
	TokObjectClose                  // }
	TokArrayOpen                    // [
	TokArrayClose                   // ]
	TokKey                          // an object key (a string)
	TokString                       // a string value
	TokNumber                       // a number value
	TokLiteral                      // true, false, null
)

// MaxJSONDepth bounds nesting; a Tokenizer reports TokError beyond it.
const MaxJSONDepth = 32

// Tokenizer is a streaming JSON tokenizer over a byte slice that may be a
// truncated prefix of a document. It does not build values: each token is
// reported as offsets into the input. It is lenient where leniency costs
// nothing (it does not insist on commas and colons between tokens) and stops
// at the first byte it cannot read, or when nesting exceeds MaxJSONDepth.
//
// The zero Tokenizer is ready after Reset. A Tokenizer is not safe for
// concurrent use; it never allocates.
type Tokenizer struct {
	b     []byte
	i     int
	depth int
	// object[d] says whether the container at depth d is an object;
	// wantKey[d] whether its next string is a key.
	object  [MaxJSONDepth + 1]bool
	wantKey [MaxJSONDepth + 1]bool

	// Start and End delimit the last token: for strings the content
	// without quotes, for others the token bytes.
	Start, End int
	// Escaped is set when the last string holds a backslash escape, so its
	// bytes must be passed through Unescape before use.
	Escaped bool
	// Truncated is set when TokEnd came in the middle of a token or
	// container rather than after a complete document.
	Truncated bool
}

// Reset starts tokenizing b.
func (t *Tokenizer) Reset(b []byte) {
	*t = Tokenizer{b: b}
}

// Depth returns the nesting depth after the last token (0 at top level).
func (t *Tokenizer) Depth() int { return t.depth }

// InObject reports whether the current container is an object.
func (t *Tokenizer) InObject() bool { return t.depth > 0 && t.object[t.depth] }

// jsonSkip marks the bytes Next passes over between tokens.
var jsonSkip = [256]bool{' ': true, '\t': true, '\r': true, '\n': true, ',': true, ':': true}

// Next returns the next token.
func (t *Tokenizer) Next() TokenKind {
	b := t.b
	i := t.i
	for i < len(b) && jsonSkip[b[i]] {
		i++
	}
	t.i = i
	if i < len(b) {
		c := b[i]
		switch c {
		case '{', '[':
			if t.depth == MaxJSONDepth {
				return TokError
			}
			t.Start, t.End = t.i, t.i+1
			t.i++
			t.depth++
			t.object[t.depth] = c == '{'
			t.wantKey[t.depth] = c == '{'
			if c == '{' {
				return TokObjectOpen
			}
			return TokArrayOpen
		case '}', ']':
			if t.depth == 0 || t.object[t.depth] != (c == '}') {
				return TokError
			}
			t.Start, t.End = t.i, t.i+1
			t.i++
			t.depth--
			t.valueDone()
			if c == '}' {
				return TokObjectClose
			}
			return TokArrayClose
		case '"':
			return t.str()
		case 't', 'f', 'n':
			return t.literal()
		default:
			if c == '-' || isDigit(c) {
				return t.number()
			}
			return TokError
		}
	}
	t.Truncated = t.depth > 0
	return TokEnd
}

// valueDone records that a value ended in the current container.
func (t *Tokenizer) valueDone() {
	if t.depth > 0 && t.object[t.depth] {
		t.wantKey[t.depth] = true
	}
}

// strStop marks the bytes that end the plain run of a string.
var strStop = [256]bool{'"': true, '\\': true}

// shortString is how far str looks with a byte loop before it turns to
// vectorised searches, whose call overhead dominates on short strings.
const shortString = 24

func (t *Tokenizer) str() TokenKind {
	b := t.b
	start := t.i + 1
	esc := false
	// Fast paths: most strings are short and hold no escape.
	j, lim := start, min(len(b), start+shortString)
	for j < lim && !strStop[b[j]] {
		j++
	}
	if j < lim && b[j] == '"' {
		return t.strDone(start, j, false)
	}
	if j == lim {
		q := bytes.IndexByte(b[j:], '"')
		if q >= 0 && bytes.IndexByte(b[j:j+q], '\\') < 0 {
			return t.strDone(start, j+q, false)
		}
	}
	for j := start; j < len(b); j++ {
		switch b[j] {
		case '\\':
			esc = true
			j++ // skip the escaped byte; \uXXXX digits are plain bytes
		case '"':
			return t.strDone(start, j, esc)
		}
	}
	t.i = len(b)
	t.Truncated = true
	return TokEnd
}

// strDone reports the string b[start:end] as a key or a value.
func (t *Tokenizer) strDone(start, end int, esc bool) TokenKind {
	t.Start, t.End, t.Escaped = start, end, esc
	t.i = end + 1
	if t.depth > 0 && t.object[t.depth] && t.wantKey[t.depth] {
		t.wantKey[t.depth] = false
		return TokKey
	}
	t.valueDone()
	return TokString
}

// numChar marks the bytes a number token may hold.
var numChar = func() (t [256]bool) {
	for _, c := range []byte("0123456789-+.eE") {
		t[c] = true
	}
	return t
}()

func (t *Tokenizer) number() TokenKind {
	b := t.b
	j := t.i
	for j < len(b) && numChar[b[j]] {
		j++
	}
	if j == len(b) && t.depth > 0 {
		// The prefix may have cut the number short.
		t.i = j
		t.Truncated = true
		return TokEnd
	}
	t.Start, t.End = t.i, j
	t.i = j
	t.valueDone()
	return TokNumber
}

func (t *Tokenizer) literal() TokenKind {
	b := t.b
	for _, lit := range [...]string{"true", "false", "null"} {
		if lit[0] != b[t.i] {
			continue
		}
		if len(b)-t.i < len(lit) {
			if string(b[t.i:]) == lit[:len(b)-t.i] {
				t.i = len(b)
				t.Truncated = true
				return TokEnd
			}
			return TokError
		}
		if string(b[t.i:t.i+len(lit)]) != lit {
			return TokError
		}
		t.Start, t.End = t.i, t.i+len(lit)
		t.i += len(lit)
		t.valueDone()
		return TokLiteral
	}
	return TokError
}

// Unescape appends the decoded form of the JSON string content s (without
// quotes) to dst. Invalid escapes are copied as they are; lone surrogates
// become U+FFFD.
func Unescape(dst, s []byte) []byte {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '\\' || i+1 == len(s) {
			dst = append(dst, c)
			continue
		}
		i++
		switch s[i] {
		case 'n':
			dst = append(dst, '\n')
		case 't':
			dst = append(dst, '\t')
		case 'r':
			dst = append(dst, '\r')
		case 'b':
			dst = append(dst, '\b')
		case 'f':
			dst = append(dst, '\f')
		case 'u':
			r, n := hex4(s[i+1:])
			if n == 0 {
				dst = append(dst, '\\', 'u')
				continue
			}
			i += 4
			if r >= 0xD800 && r < 0xDC00 && i+2 < len(s) && s[i+1] == '\\' && s[i+2] == 'u' {
				if lo, m := hex4(s[i+3:]); m > 0 && lo >= 0xDC00 && lo < 0xE000 {
					r = 0x10000 + (r-0xD800)<<10 + (lo - 0xDC00)
					i += 6
				}
			}
			dst = appendRune(dst, r)
		default: // " \ / and anything unknown
			dst = append(dst, s[i])
		}
	}
	return dst
}

func hex4(b []byte) (rune, int) {
	if len(b) < 4 {
		return 0, 0
	}
	var r rune
	for _, c := range b[:4] {
		switch {
		case isDigit(c):
			r = r<<4 | rune(c-'0')
		case c >= 'a' && c <= 'f':
			r = r<<4 | rune(c-'a'+10)
		case c >= 'A' && c <= 'F':
			r = r<<4 | rune(c-'A'+10)
		default:
			return 0, 0
		}
	}
	return r, 4
}

func appendRune(dst []byte, r rune) []byte {
	switch {
	case r >= 0xD800 && r < 0xE000:
		r = 0xFFFD
	}
	switch {
	case r < 0x80:
		return append(dst, byte(r))
	case r < 0x800:
		return append(dst, 0xC0|byte(r>>6), 0x80|byte(r)&0x3F)
	case r < 0x10000:
		return append(dst, 0xE0|byte(r>>12), 0x80|byte(r>>6)&0x3F, 0x80|byte(r)&0x3F)
	}
	return append(dst, 0xF0|byte(r>>18), 0x80|byte(r>>12)&0x3F, 0x80|byte(r>>6)&0x3F,
		0x80|byte(r)&0x3F)
}
