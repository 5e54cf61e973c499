package inventory

import (
	"strings"

	"github.com/apitap/apitap/sensor/exchange"
)

// Bits for the schemes that authSchemes names with a constant, so that an
// endpoint tells by one mask test whether a request's schemes are all known
// to it. authOther stands for a scheme the request named itself, which no
// mask can hold.
const (
	authNone uint16 = 1 << iota
	authBasic
	authBearer
	authJWT
	authAPIKeyHeader
	authAPIKeyQuery
	authAPIKeyCookie
	authSessionCookie
	authUnknown
	authOther
)

// authSchemes appends the credential schemes the request carried (never the
// values) to out and returns it; "none" when there is none.
func authSchemes(ex *exchange.Exchange, out []string) []string {
	out, _ = authSchemeSet(ex, out)
	return out
}

// authSchemeSet is authSchemes that also returns the bits of the schemes it
// appended.
//
// It runs on every header of every exchange, and nearly every header
// carries nothing: credHint rules those out by length and first and last
// byte before any string is compared. The loop is all that runs for most
// headers, and the names are told apart out of line, so that the code an
// exchange runs through stays small.
func authSchemeSet(ex *exchange.Exchange, out []string) ([]string, uint16) {
	var bits uint16
	hs := ex.Request.Headers
	for i := range hs {
		if credHint.maybe(hs[i].Name) {
			out = credHeader(&hs[i], out, &bits)
		}
	}
	if len(ex.QueryKeys) > 0 && credentialQuery(ex.QueryKeys) {
		out = append(out, "api-key-query")
		bits |= authAPIKeyQuery
	}
	if bits == 0 {
		out = append(out, "none")
		bits = authNone
	}
	return out, bits
}

// credHeader appends the schemes header h carries, if any, and adds their
// bits to bits.
//
//go:noinline
func credHeader(h *exchange.Header, out []string, bits *uint16) []string {
	switch h.Name {
	case "authorization", "proxy-authorization":
		s, b := authorization(h.Value)
		*bits |= b
		return append(out, s)
	case "cookie":
		out, b := cookieSchemes(h.Value, out)
		*bits |= b
		return out
	}
	if exchange.IsAPIKeyHeader(h.Name) {
		*bits |= authAPIKeyHeader
		return append(out, "api-key-header")
	}
	return out
}

// credentialQuery reports whether any query parameter carries a
// credential.
//
//go:noinline
func credentialQuery(keys []string) bool {
	for _, k := range keys {
		if exchange.IsCredentialQueryKey(k) {
			return true
		}
	}
	return false
}

// nameHint is a filter over lower-case header names: per name length, the
// first and last bytes (folded to 5 bits) of the names it was built from.
// maybe is true for every one of those names, and for few others.
type nameHint struct{ first, last [32]uint32 }

func newNameHint(names ...string) *nameHint {
	h := new(nameHint)
	for _, n := range names {
		if n == "" || len(n) >= len(h.first) {
			panic("inventory: header name out of hint range: " + n)
		}
		h.first[len(n)] |= 1 << (n[0] & 31)
		h.last[len(n)] |= 1 << (n[len(n)-1] & 31)
	}
	return h
}

func (h *nameHint) maybe(name string) bool {
	l := len(name)
	return l > 0 && l < len(h.first) && h.first[l]&(1<<(name[0]&31)) != 0 &&
		h.last[l]&(1<<(name[l-1]&31)) != 0
}

// credHint covers the headers authSchemes reads.
var credHint = newNameHint(append(exchange.APIKeyHeaders(),
	"authorization", "proxy-authorization", "cookie")...)

// deprecHint covers the response headers that mark an endpoint deprecated.
var deprecHint = newNameHint("deprecation", "sunset")

// hasDeprecation reports whether a response carries Deprecation or Sunset,
// in one pass over its headers.
func hasDeprecation(m *exchange.Message) bool {
	for i := range m.Headers {
		if name := m.Headers[i].Name; deprecHint.maybe(name) &&
			(name == "deprecation" || name == "sunset") {
			return true
		}
	}
	return false
}

func authorizationScheme(v string) string {
	s, _ := authorization(v)
	return s
}

// authorization names the scheme of an Authorization value and returns its
// bit.
func authorization(v string) (string, uint16) {
	// The usual header, "Bearer <token>" with nothing to trim, takes a
	// path of its own: it is on nearly every request of most APIs.
	if len(v) > len("Bearer ") && v[:len("Bearer ")] == "Bearer " &&
		plainEdge(v[len("Bearer ")]) && plainEdge(v[len(v)-1]) {
		if looksJWT(v[len("Bearer "):]) {
			return "jwt", authJWT
		}
		return "bearer", authBearer
	}
	v = trimSpace(v)
	scheme, cred := v, ""
	if i := strings.IndexByte(v, ' '); i >= 0 {
		scheme, cred = v[:i], v[i+1:]
	}
	// Case-folded by hand, not ToLower: the common schemes must not
	// allocate, and EqualFold's Unicode path is more than these need.
	switch {
	case foldEqual(scheme, "basic"):
		return "basic", authBasic
	case foldEqual(scheme, "bearer"):
		if looksJWT(trimSpace(cred)) {
			return "jwt", authJWT
		}
		return "bearer", authBearer
	case scheme == "":
		return "unknown", authUnknown
	}
	s := strings.ToLower(scheme)
	if len(s) > 24 {
		return "unknown", authUnknown
	}
	return s, authOther
}

// foldEqual is strings.EqualFold(s, lower) for a lower-case ASCII word,
// with the ASCII comparison done first; only a non-ASCII s, which might
// fold into lower (the Kelvin sign, the long s), takes the Unicode path.
func foldEqual(s, lower string) bool {
	if len(s) == len(lower) {
		ascii := true
		for i := 0; i < len(lower); i++ {
			c := s[i]
			if 'A' <= c && c <= 'Z' {
				c += 'a' - 'A'
			}
			if c == lower[i] {
				continue
			}
			if c < 0x80 {
				return false
			}
			ascii = false
		}
		if ascii {
			return true
		}
	}
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return strings.EqualFold(s, lower)
		}
	}
	return false
}

// trimSpace is strings.TrimSpace with a test for the usual case first: a
// header value the parser already trimmed.
func trimSpace(s string) string {
	if s == "" || !isSpaceByte(s[0]) && !isSpaceByte(s[len(s)-1]) && s[0] < 0x80 &&
		s[len(s)-1] < 0x80 {
		return s
	}
	return strings.TrimSpace(s)
}

// plainEdge reports a byte that strings.TrimSpace keeps at either end of a
// string: neither an ASCII space nor the start or end of a Unicode one.
func plainEdge(c byte) bool { return c > ' ' && c < 0x80 }

func isSpaceByte(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'
}

func looksJWT(s string) bool {
	return strings.HasPrefix(s, "eyJ") && strings.Count(s, ".") == 2
}

// cookieSchemes looks at cookie names only.
func cookieSchemes(v string, out []string) ([]string, uint16) {
	session, key := false, false
	for part := range strings.SplitSeq(v, ";") {
		name, _, _ := strings.Cut(strings.TrimSpace(part), "=")
		name = strings.ToLower(name)
		switch {
		case strings.Contains(name, "sess") || name == "sid" || name == "connect.sid" ||
			strings.HasSuffix(name, "_session") || name == "auth" || name == "jwt":
			session = true
		case exchange.IsCredentialQueryKey(name) || exchange.IsAPIKeyHeader(name):
			key = true
		}
	}
	var bits uint16
	if session {
		out = append(out, "session-cookie")
		bits |= authSessionCookie
	}
	if key {
		out = append(out, "api-key-cookie")
		bits |= authAPIKeyCookie
	}
	return out, bits
}
