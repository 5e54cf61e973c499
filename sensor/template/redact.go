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
