package inventory

import (
	"bytes"
	"strings"

	"github.com/apitap/apitap/sensor/detect"
	"github.com/apitap/apitap/sensor/template"
)

// isJSON reports media types whose bodies are parsed for field names.
func isJSON(mt string) bool {
	return mt == "application/json" || strings.HasSuffix(mt, "+json") ||
		mt == "application/problem+json" || mt == "text/json"
}

// maxArrayElems is how many elements of an array are looked at: arrays
// repeat one shape, and the rest would only cost time.
const maxArrayElems = 3

// jsonFields records the field paths and types of a JSON body prefix into
// fields, down to maxDepth and up to maxFields names in the map. A
// truncated prefix yields the fields before the cut. Values are never kept.
//
// The grammar is sensor/detect's streaming tokenizer's (lenient about
// commas and colons, stopping at the first byte it cannot read), but the
// walk has a lexer of its own: most of a body sits below the depth limit
// or past the first elements of an array, where nothing is recorded, and
// the lexer skips such a container in one tight loop instead of token by
// token. It still checks every byte it skips as the tokenizer would, so
// malformed input ends the walk at the same place. A value without a name
// (a second top-level value, or a value in an object with no key before
// it) records nothing. Only a field seen for the first time costs the
// string of its path.
func jsonFields(body []byte, fields map[string]string, maxDepth, maxFields int) {
	var w fieldWalker
	w.walk(body, fields, maxDepth, maxFields)
}

// frame is one open container on the walk's stack.
type frame struct {
	plen  int  // length of the container's own path
	array bool // an array, whose elements share the path "p[]"
	elems int  // elements seen, for arrays
	named bool // an object whose last key has not been used by a value yet
}

type fieldWalker struct {
	lx    lexer
	path  []byte
	stack [detect.MaxJSONDepth + 2]frame
}

func (w *fieldWalker) walk(body []byte, fields map[string]string, maxDepth, maxFields int) {
	w.lx.reset(body)
	w.path = w.path[:0]
	depth := 0 // w.stack[depth] is the innermost open container; 0 is the top level
	w.stack[0] = frame{}
	for {
		kind := w.lx.next()
		switch kind {
		case detect.TokEnd, detect.TokError:
			return
		case detect.TokKey:
			top := &w.stack[depth]
			w.path = w.path[:top.plen]
			if top.plen > 0 {
				w.path = append(w.path, '.')
			}
			// A key that reads like a value (an object keyed by emails or
			// tokens) is recorded as its kind: field names are output.
			if key := body[w.lx.start:w.lx.end]; template.PlainName(key) {
				w.path = append(w.path, key...)
			} else {
				w.path = append(w.path, template.NameOrKind(string(key))...)
			}
			top.named = true
			continue
		case detect.TokObjectClose, detect.TokArrayClose:
			if depth > 0 {
				depth--
			}
			continue
		}
		// A value: its path is the key just read, or "p[]" in an array.
		top := &w.stack[depth]
		open := kind == detect.TokObjectOpen || kind == detect.TokArrayOpen
		switch {
		case top.array:
			top.elems++
			if top.elems > maxArrayElems {
				// Nothing more of this array is recorded: skip the element
				// and the rest of the array, up to and including its ']'.
				if !w.lx.skipTo(depth - 1) {
					return
				}
				depth--
				continue
			}
			w.path = append(w.path[:top.plen], "[]"...)
		case depth == 0:
			// A top-level value has no name; its fields start the paths.
			w.path = w.path[:0]
		case !top.named:
			// A value without a key (the grammar is lenient about what sits
			// in an object) has no name of its own: record nothing of it
			// rather than put it under the previous key.
			if open && !w.lx.skipTo(depth) {
				return
			}
			continue
		default:
			top.named = false
		}
		if depth > maxDepth {
			// Below the depth limit nothing is recorded either.
			if open && !w.lx.skipTo(depth) {
				return
			}
			continue
		}
		if len(w.path) > 0 {
			record(fields, w.path, valueType(kind, body[w.lx.start:w.lx.end]), maxFields)
		}
		if open {
			if depth+1 >= len(w.stack) {
				return
			}
			depth++
			w.stack[depth] = frame{plen: len(w.path), array: kind == detect.TokArrayOpen}
		}
	}
}

// lexer reads the token grammar of detect.Tokenizer: the same tokens, the
// same errors, the same handling of a truncated prefix. skipTo is what it
// adds.
type lexer struct {
	b     []byte
	i     int
	depth int
	// object[d] says whether the container at depth d is an object;
	// wantKey[d] whether its next string is a key.
	object  [detect.MaxJSONDepth + 1]bool
	wantKey [detect.MaxJSONDepth + 1]bool
	// start and end delimit the last token: for strings the content
	// without quotes, for others the token bytes.
	start, end int
}

func (l *lexer) reset(b []byte) {
	l.b, l.i, l.depth = b, 0, 0
}

// next returns the next token; TokEnd also when the input stops inside a
// token.
func (l *lexer) next() detect.TokenKind {
	b := l.b
	for l.i < len(b) {
		c := b[l.i]
		switch c {
		case ' ', '\t', '\r', '\n', ',', ':':
			l.i++
			continue
		case '{', '[':
			if l.depth == detect.MaxJSONDepth {
				return detect.TokError
			}
			l.start, l.end = l.i, l.i+1
			l.i++
			l.depth++
			l.object[l.depth] = c == '{'
			l.wantKey[l.depth] = c == '{'
			if c == '{' {
				return detect.TokObjectOpen
			}
			return detect.TokArrayOpen
		case '}', ']':
			if l.depth == 0 || l.object[l.depth] != (c == '}') {
				return detect.TokError
			}
			l.start, l.end = l.i, l.i+1
			l.i++
			l.depth--
			l.valueDone()
			if c == '}' {
				return detect.TokObjectClose
			}
			return detect.TokArrayClose
		case '"':
			end, ok := stringEnd(b, l.i)
			if !ok {
				return detect.TokEnd
			}
			l.start, l.end = l.i+1, end
			l.i = end + 1
			if l.depth > 0 && l.object[l.depth] && l.wantKey[l.depth] {
				l.wantKey[l.depth] = false
				return detect.TokKey
			}
			l.valueDone()
			return detect.TokString
		case 't', 'f', 'n':
			end, kind := literalEnd(b, l.i)
			if kind != detect.TokLiteral {
				return kind
			}
			l.start, l.end = l.i, end
			l.i = end
			l.valueDone()
			return detect.TokLiteral
		default:
			if c != '-' && !isDigit(c) {
				return detect.TokError
			}
			j := numberEnd(b, l.i)
			if j == len(b) && l.depth > 0 {
				return detect.TokEnd // the prefix may have cut the number short
			}
			l.start, l.end = l.i, j
			l.i = j
			l.valueDone()
			return detect.TokNumber
		}
	}
	return detect.TokEnd
}

// valueDone records that a value ended in the current container.
func (l *lexer) valueDone() {
	if l.depth > 0 && l.object[l.depth] {
		l.wantKey[l.depth] = true
	}
}

// skipTo reads on, without reporting tokens, until a close brings the depth
// down to depth, and reports whether it got there; false means the input
// ended or was malformed on the way, where next would have returned TokEnd
// or TokError. Which strings inside are keys does not matter to what
// follows, so only the containers are tracked.
func (l *lexer) skipTo(depth int) bool {
	b := l.b
	i := l.i
	for i < len(b) {
		c := b[i]
		switch jsonClass[c] {
		case jsSpace:
			i++
		case jsString:
			// Inline, not stringEnd: skipped strings are short and many, and
			// a call per string costs more than the loop.
			i++
			for i < len(b) {
				c := b[i]
				if !stringStop[c] {
					i++
					continue
				}
				if c == '"' {
					break
				}
				i += 2 // a backslash: skip the escaped byte
			}
			if i >= len(b) {
				return false
			}
			i++
		case jsNumber:
			i++
			for i < len(b) && numberByte[b[i]] {
				i++
			}
			if i == len(b) && l.depth > 0 {
				return false
			}
		case jsOpen:
			if l.depth == detect.MaxJSONDepth {
				return false
			}
			i++
			l.depth++
			l.object[l.depth] = c == '{'
			l.wantKey[l.depth] = c == '{'
		case jsClose:
			if l.depth == 0 || l.object[l.depth] != (c == '}') {
				return false
			}
			i++
			l.depth--
			if l.depth == depth {
				l.i = i
				l.valueDone()
				return true
			}
		case jsLiteral:
			end, kind := literalEnd(b, i)
			if kind != detect.TokLiteral {
				return false
			}
			i = end
		default:
			return false
		}
	}
	return false
}

// Byte classes of skipTo's dispatch table.
const (
	jsError = iota
	jsSpace // white space, ',' and ':', which the grammar passes over
	jsString
	jsNumber
	jsOpen
	jsClose
	jsLiteral
)

var jsonClass = func() (t [256]uint8) {
	for _, c := range " \t\r\n,:" {
		t[c] = jsSpace
	}
	for _, c := range "-0123456789" {
		t[c] = jsNumber
	}
	t['"'] = jsString
	t['{'], t['['] = jsOpen, jsOpen
	t['}'], t[']'] = jsClose, jsClose
	t['t'], t['f'], t['n'] = jsLiteral, jsLiteral, jsLiteral
	return t
}()

// stringStop marks the bytes that end a run of plain string content.
var stringStop = [256]bool{'"': true, '\\': true}

// numberByte marks the bytes of a number-like run (numberEnd).
var numberByte = func() (t [256]bool) {
	for _, c := range "0123456789-+.eE" {
		t[c] = true
	}
	return t
}()

// stringEnd returns the index of the quote that closes the string opening
// at b[i]; false when the input ends first.
func stringEnd(b []byte, i int) (int, bool) {
	j := i + 1
	// Keys and most values end within a few bytes, where a table loop costs
	// less than setting up a vectorised search.
	stop := min(len(b), j+32)
	for j < stop && !stringStop[b[j]] {
		j++
	}
	if j == stop && j < len(b) {
		// A long string: search for its end, then make sure no escape
		// comes before it.
		q := bytes.IndexByte(b[j:], '"')
		if q >= 0 && bytes.IndexByte(b[j:j+q], '\\') < 0 {
			return j + q, true
		}
	}
	for ; j < len(b); j++ {
		switch b[j] {
		case '\\':
			j++ // skip the escaped byte; \uXXXX digits are plain bytes
		case '"':
			return j, true
		}
	}
	return 0, false
}

// literalEnd checks the literal starting at b[i] (true, false or null) and
// returns its end; the kind is TokLiteral, or TokEnd for a cut prefix of
// one, or TokError.
func literalEnd(b []byte, i int) (int, detect.TokenKind) {
	var lit string
	switch b[i] {
	case 't':
		lit = "true"
	case 'f':
		lit = "false"
	default:
		lit = "null"
	}
	if len(b)-i < len(lit) {
		if string(b[i:]) == lit[:len(b)-i] {
			return 0, detect.TokEnd
		}
		return 0, detect.TokError
	}
	if string(b[i:i+len(lit)]) != lit {
		return 0, detect.TokError
	}
	return i + len(lit), detect.TokLiteral
}

// numberEnd returns the end of the number-like run starting at b[i].
func numberEnd(b []byte, i int) int {
	for i < len(b) {
		c := b[i]
		if isDigit(c) || c == '-' || c == '+' || c == '.' || c == 'e' || c == 'E' {
			i++
			continue
		}
		break
	}
	return i
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

// valueType names a JSON value's type as OpenAPI does.
func valueType(kind detect.TokenKind, tok []byte) string {
	switch kind {
	case detect.TokObjectOpen:
		return "object"
	case detect.TokArrayOpen:
		return "array"
	case detect.TokString:
		return "string"
	case detect.TokNumber:
		if bytes.ContainsAny(tok, ".eE") {
			return "number"
		}
		return "integer"
	}
	switch {
	case len(tok) > 0 && tok[0] == 'n':
		return "null"
	default:
		return "boolean"
	}
}

// record notes that path holds a value of typ, widening on conflict.
func record(fields map[string]string, path []byte, typ string, maxFields int) {
	old, ok := fields[string(path)]
	switch {
	case !ok && len(fields) < maxFields:
		fields[string(path)] = typ
	case ok && old != typ:
		// null says little; integer widens to number; others conflict.
		switch {
		case old == "null":
			fields[string(path)] = typ
		case typ == "null":
		case old == "integer" && typ == "number":
			fields[string(path)] = typ
		case old == "number" && typ == "integer":
		default:
			fields[string(path)] = "mixed"
		}
	}
}
