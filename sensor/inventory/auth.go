package inventory

import "github.com/apitap/apitap/sensor/exchange"

// authNone stands, in an endpoint's known kinds, for requests that carried
// no credential: it is above every exchange.Creds bit.
const authNone exchange.Creds = 1 << 14

// credsOf returns ex's credential kinds, authNone for none.
func credsOf(ex *exchange.Exchange) exchange.Creds {
	if ex.Creds == 0 {
		return authNone
	}
	return ex.Creds
}

// authNames appends the names an endpoint's Auth lists for the kinds in c
// to dst: those of exchange.Creds, "none" for authNone, and for
// exchange.CredOther the scheme itself, which auth (Exchange.Auth) names.
func authNames(c exchange.Creds, auth string, dst []string) []string {
	if c&authNone != 0 {
		dst = append(dst, "none")
	}
	dst = c.AppendNames(dst)
	if c&exchange.CredOther != 0 && auth != "" {
		dst = append(dst, auth)
	}
	return dst
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
