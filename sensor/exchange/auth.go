package exchange

import "strings"

// Creds is the set of kinds of credential a request carried, never their
// values. The core works it out once per exchange (Exchange.Creds), from the
// header positions it found while parsing; the inventory keeps it per
// endpoint, and Exchange.Auth is its one-word summary.
type Creds uint16

const (
	CredBasic         Creds = 1 << iota // Authorization: Basic
	CredBearer                          // Authorization: Bearer with an opaque token
	CredJWT                             // Authorization: Bearer with a JWT
	CredAPIKeyHeader                    // a header that carries an API key by convention
	CredAPIKeyQuery                     // a query parameter that carries a credential
	CredAPIKeyCookie                    // a cookie named like an API key
	CredSessionCookie                   // a cookie named like a session id
	CredProxy                           // Proxy-Authorization, a credential for a proxy
	CredUnknown                         // an Authorization value with no scheme word
	// CredOther is an Authorization scheme without a bit of its own
	// (digest, ntlm, aws4-hmac-sha256, …); Exchange.Auth names it.
	CredOther
)

// credNames are the names of the bits below CredOther, in bit order.
var credNames = [...]string{"basic", "bearer", "jwt", "api-key-header", "api-key-query",
	"api-key-cookie", "session-cookie", "proxy", "unknown"}

// AppendNames appends the name of each kind in c except CredOther, in a
// fixed order, and returns dst.
func (c Creds) AppendNames(dst []string) []string {
	for i, n := range credNames {
		if c&(1<<i) != 0 {
			dst = append(dst, n)
		}
	}
	return dst
}

// Credentials works out Exchange.Auth and Exchange.Creds from a request's
// headers and query parameter names. Auth is the Authorization scheme
// ("basic", "bearer", "digest", …, "unknown" for a value without one), or
// failing that "proxy", "api-key", "query" or "cookie", or "" for none.
//
// The core does the same from the header positions it indexed while
// parsing (its tests hold the two to the same answers); this one is for
// exchanges built some other way.
func Credentials(m *Message, queryKeys []string) (auth string, creds Creds) {
	if v, ok := m.Header("authorization"); ok {
		auth, creds = AuthorizationHeader(v)
	}
	for i := range m.Headers {
		switch h := &m.Headers[i]; {
		case h.Name == "proxy-authorization":
			creds |= CredProxy
		case h.Name == "cookie":
			creds |= CredCookie | CookieCreds(h.Value)
		case IsAPIKeyHeader(h.Name):
			creds |= CredAPIKeyHeader
		}
	}
	if QueryCarriesCredential(queryKeys) {
		creds |= CredAPIKeyQuery
	}
	if auth == "" {
		auth = FallbackAuth(creds)
	}
	return auth, creds &^ CredCookie
}

// AuthorizationHeader is the Auth and Creds of an Authorization header
// alone: an empty value names no scheme, but still counts as unknown.
func AuthorizationHeader(v string) (string, Creds) {
	if v == "" {
		return "", CredUnknown
	}
	return AuthorizationScheme(v)
}

// CredCookie marks, for FallbackAuth only, a request that sent any cookie;
// it is never part of Exchange.Creds.
const CredCookie Creds = 1 << 15

// FallbackAuth is Exchange.Auth for a request with no Authorization
// scheme, from the kinds it carried, in this order of precedence: proxy,
// api-key (header), query, cookie (any, with CredCookie); "" for none.
func FallbackAuth(c Creds) string {
	switch {
	case c&CredProxy != 0:
		return "proxy"
	case c&CredAPIKeyHeader != 0:
		return "api-key"
	case c&CredAPIKeyQuery != 0:
		return "query"
	case c&CredCookie != 0:
		return "cookie"
	}
	return ""
}

// QueryCarriesCredential reports whether any query parameter name carries
// a credential (IsCredentialQueryKey).
func QueryCarriesCredential(keys []string) bool {
	for _, k := range keys {
		if IsCredentialQueryKey(k) {
			return true
		}
	}
	return false
}

// registeredSchemes are the common Authorization schemes, lower-cased (the
// IANA HTTP Authentication Scheme Registry, plus AWS signatures), which
// AuthorizationScheme returns without allocating.
var registeredSchemes = []string{"bearer", "basic", "digest", "negotiate", "ntlm", "hoba",
	"mutual", "scram-sha-256", "aws4-hmac-sha256", "token", "dpop"}

// maxSchemeLen bounds a scheme word: a longer one is not a scheme but a
// credential sent without one, and must not be echoed.
const maxSchemeLen = 24

// AuthorizationScheme names the scheme of an Authorization (or
// Proxy-Authorization) value in lower case, and the kind of credential it
// carries: a Bearer token that is a JWT is CredJWT, named "bearer". A value
// with no scheme word, or one that is a single word not registered as a
// scheme (a bare credential), is "unknown".
func AuthorizationScheme(v string) (string, Creds) {
	// The usual header, "Bearer <token>" with nothing to trim, takes a
	// path of its own: it is on nearly every request of most APIs.
	const bearer = "Bearer "
	if len(v) > len(bearer) && v[:len(bearer)] == bearer && plainEdge(v[len(bearer)]) &&
		plainEdge(v[len(v)-1]) {
		if looksJWT(v[len(bearer):]) {
			return "bearer", CredJWT
		}
		return "bearer", CredBearer
	}
	v = trimSpace(v)
	scheme, cred := v, ""
	if i := strings.IndexByte(v, ' '); i >= 0 {
		scheme, cred = v[:i], v[i+1:]
	}
	// Case-folded by hand, not ToLower: the common schemes must not
	// allocate, and EqualFold's Unicode path is more than these need.
	switch {
	case scheme == "":
		return "unknown", CredUnknown
	case foldEqual(scheme, "basic"):
		return "basic", CredBasic
	case foldEqual(scheme, "bearer"):
		if looksJWT(trimSpace(cred)) {
			return "bearer", CredJWT
		}
		return "bearer", CredBearer
	}
	for _, s := range registeredSchemes {
		if foldEqual(scheme, s) {
			return s, CredOther
		}
	}
	// Any other word is a scheme only when a credential follows it and it
	// is shaped like one: a value of one word is the credential itself,
	// sent without a scheme ("Authorization: k3y..."), and must never be
	// echoed into a record as if it were a scheme's name.
	if trimSpace(cred) == "" || len(scheme) > maxSchemeLen || !schemeToken(scheme) {
		return "unknown", CredUnknown
	}
	return strings.ToLower(scheme), CredOther
}

// schemeToken reports whether s is made of the letters, digits and marks
// that scheme names use (RFC 9110 token characters, without the rarer
// punctuation).
func schemeToken(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
			c == '-' || c == '_' || c == '.') {
			return false
		}
	}
	return true
}

// CookieCreds returns the kinds of credential a Cookie header's names
// suggest; the values are not read.
func CookieCreds(v string) Creds {
	var c Creds
	for part := range strings.SplitSeq(v, ";") {
		name, _, _ := strings.Cut(trimSpace(part), "=")
		switch {
		case IsSessionCookie(name):
			c |= CredSessionCookie
		case IsCredentialQueryKey(name) || foldIn(&apiKeyHeadersByLen, name):
			// Cookie names, unlike the header names the parser hands
			// over, keep their case.
			c |= CredAPIKeyCookie
		}
	}
	return c
}

// maxCookieName bounds the cookie names IsSessionCookie reads; a longer
// one is not a framework's session cookie.
const maxCookieName = 64

// IsSessionCookie reports whether a cookie name is a well-known session
// cookie of a web framework, or built like one ("_myapp_session"). Case and
// punctuation are ignored: "PHPSESSID", "connect.sid" and "__Secure-next-
// auth.session-token" are all recognised. It takes the name as a string
// or as bytes, so that a scanner of raw headers need not copy it.
func IsSessionCookie[T string | []byte](name T) bool {
	if len(name) > maxCookieName {
		return false
	}
	// Lower-cased letters and digits only, in a buffer on the stack.
	var buf [maxCookieName]byte
	n := 0
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case 'A' <= c && c <= 'Z':
			buf[n] = c + 'a' - 'A'
		case 'a' <= c && c <= 'z', '0' <= c && c <= '9':
			buf[n] = c
		default:
			continue
		}
		n++
	}
	k := buf[:n]
	switch string(k) {
	case "sessionid", "session", "sess", "sessid", "phpsessid", "jsessionid", "connectsid",
		"sid", "aspnetsessionid", "aspnetcoresession", "laravelsession", "cisession",
		"racksession", "sessiontoken", "sessionkey", "ghsess", "usersession", "authsession",
		"expresssid", "expresssess", "shinyapps", "sailssid", "koasess", "djangosessionid",
		"flasksession", "nextauthsessiontoken", "securenextauthsessiontoken", "appsession",
		"auth", "jwt":
		return true
	}
	return hasSuffix(k, "session") && len(k) > len("session") || hasSuffix(k, "sessionid") ||
		hasSuffix(k, "sessiontoken") ||
		hasPrefix(k, "sess") && len(k) > 20 || // Drupal: SESS + 32 hex
		hasPrefix(k, "wordpressloggedin") || hasPrefix(k, "wordpresssec")
}

// hasPrefix and hasSuffix are strings.HasPrefix and HasSuffix on a byte
// slice, compared without converting (and so copying) it.
func hasPrefix(b []byte, s string) bool { return len(b) >= len(s) && string(b[:len(s)]) == s }

func hasSuffix(b []byte, s string) bool {
	return len(b) >= len(s) && string(b[len(b)-len(s):]) == s
}

// foldEqual is strings.EqualFold(s, lower) for a lower-case ASCII word,
// with the ASCII comparison (asciiFoldEqual) done first; only a non-ASCII s,
// which might fold into lower (the Kelvin sign, the long s), takes the
// Unicode path.
func foldEqual(s, lower string) bool {
	if len(s) == len(lower) && asciiFoldEqual(s, lower) {
		return true
	}
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return strings.EqualFold(s, lower)
		}
	}
	return false
}

// trimSpace is strings.TrimSpace with a test for the usual case first: a
// value the parser already trimmed.
func trimSpace(s string) string {
	if s == "" || plainEdge(s[0]) && plainEdge(s[len(s)-1]) {
		return s
	}
	return strings.TrimSpace(s)
}

// plainEdge reports a byte that strings.TrimSpace keeps at either end of a
// string: neither an ASCII space nor the start or end of a Unicode one.
func plainEdge(c byte) bool { return c > ' ' && c < 0x80 }

func looksJWT(s string) bool {
	return strings.HasPrefix(s, "eyJ") && strings.Count(s, ".") == 2
}
