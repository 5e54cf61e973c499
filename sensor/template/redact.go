package template

import "strings"

// Redact returns path with the values of its parameters replaced by their
// names from s, the path's shape ("/users/{userId}/keys/{keyId}"), except
// integers and dates, which are kept: a path is output, and a value in it
// may be a credential (a reset token, a webhook secret, a key that is a
// UUID) or personal data (an email). Integers and dates are the ids and
// days that make an example path worth reading; a secret is never one.
//
// It returns path itself, without allocating, when nothing is replaced,
// and the template when path and template do not line up segment by
// segment.
func Redact(path string, s *Shape) string {
	if len(s.Params) == 0 {
		return path
	}
	tmpl := s.Template
	var out []byte // nil until a value is replaced
	copied := 0    // path[:copied] is in out
	p, t := skipSlash(path), skipSlash(tmpl)
	for {
		pe, te := segEnd(path, p), segEnd(tmpl, t)
		seg, tseg := path[p:pe], tmpl[t:te]
		if IsParam(tseg) && seg != tseg {
			if k := Classify(seg, false); k != KindInteger && k != KindDate {
				out = append(out, path[copied:p]...)
				out = append(out, tseg...)
				copied = pe
			}
		}
		pathDone, tmplDone := pe == len(path), te == len(tmpl)
		if pathDone != tmplDone {
			return tmpl
		}
		if pathDone {
			break
		}
		p, t = pe+1, te+1
	}
	if out == nil {
		return path
	}
	return string(append(out, path[copied:]...))
}

func skipSlash(s string) int {
	if strings.HasPrefix(s, "/") {
		return 1
	}
	return 0
}

// segEnd returns the end of the segment of s that starts at i.
func segEnd(s string, i int) int {
	if j := strings.IndexByte(s[i:], '/'); j >= 0 {
		return i + j
	}
	return len(s)
}

// PlainName reports a name made of lower-case letters, at most three
// capitals and the punctuation names use (_ - . [ ] $), at most 24 bytes:
// the common case, which NameOrKind returns unchanged without a closer
// look. Digits, or more capitals (a key of mixed-case letters), send a
// name to Classify. It takes a string or bytes, so that a scanner of raw
// JSON keys need not copy them.
func PlainName[T string | []byte](name T) bool {
	if len(name) > 24 {
		return false
	}
	capitals := 0
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case 'a' <= c && c <= 'z', c == '_', c == '-', c == '.', c == '[', c == ']', c == '$':
		case 'A' <= c && c <= 'Z':
			if capitals++; capitals > 3 {
				return false
			}
		default:
			return false
		}
	}
	return true
}

// NameOrKind returns name, a query parameter or JSON field name, unless it
// reads like a value: then the placeholder of the value's kind ("{email}",
// "{token}"). Names are output, and one that is really a value — a key sent
// as a bare query string, an object keyed by emails or tokens — must not be
// echoed. Brackets ("ids[0]") are not part of what is judged, and opaque
// text counts as a value only when long and mixed like a key ("abc123secret",
// not "sha256").
func NameOrKind(name string) string {
	if PlainName(name) {
		return name
	}
	base := name
	if i := strings.IndexByte(base, '['); i > 0 {
		base = base[:i]
	}
	switch k := Classify(base, false); k {
	case KindLiteral, KindInteger, KindDate:
		return name
	case KindString:
		if len(base) < 12 || !mixed(base) {
			return name
		}
		return k.Placeholder()
	default:
		return k.Placeholder()
	}
}

// mixed reports whether s holds both letters and digits.
func mixed(s string) bool {
	var letter, digit bool
	for i := 0; i < len(s); i++ {
		c := s[i]
		letter = letter || 'a' <= c|0x20 && c|0x20 <= 'z'
		digit = digit || '0' <= c && c <= '9'
	}
	return letter && digit
}
