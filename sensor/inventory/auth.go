package inventory

import (
	"strings"

	"github.com/apitap/apitap/sensor/exchange"
)

// Query parameter and header names that carry API keys or sessions.
var (
	apiKeyHeaders = map[string]bool{"x-api-key": true, "api-key": true, "apikey": true,
		"x-auth-token": true, "x-access-token": true, "x-apikey": true, "x-token": true}
	apiKeyQuery = map[string]bool{"api_key": true, "apikey": true, "api-key": true,
		"key": true, "access_token": true, "token": true, "auth": true}
)

// authSchemes appends the credential schemes the request carried (never the
// values) to out and returns it; "none" when there is none.
func authSchemes(ex *exchange.Exchange, out []string) []string {
	n := len(out)
	for i := range ex.Request.Headers {
		h := &ex.Request.Headers[i]
		switch {
		case h.Name == "authorization" || h.Name == "proxy-authorization":
			out = append(out, authorizationScheme(h.Value))
		case mayNameKey(h.Name) && apiKeyHeaders[h.Name]:
			out = append(out, "api-key-header")
		case h.Name == "cookie":
			out = cookieSchemes(h.Value, out)
		}
	}
	for _, k := range ex.QueryKeys {
		if apiKeyQuery[strings.ToLower(k)] {
			out = append(out, "api-key-query")
			break
		}
	}
	if len(out) == n {
		out = append(out, "none")
	}
	return out
}

// mayNameKey is a cheap test before the map lookup: every name in
// apiKeyHeaders is 6 to 14 bytes long and ends in "key" or "token", and
// most headers do not, so a length and a last-byte check rule them out
// without scanning the name.
func mayNameKey(name string) bool {
	n := len(name)
	return n >= 6 && n <= 14 && (name[n-1] == 'y' || name[n-1] == 'n')
}

func authorizationScheme(v string) string {
	v = strings.TrimSpace(v)
	scheme, cred, _ := strings.Cut(v, " ")
	// EqualFold, not ToLower: the common schemes must not allocate.
	switch {
	case strings.EqualFold(scheme, "basic"):
		return "basic"
	case strings.EqualFold(scheme, "bearer"):
		if looksJWT(strings.TrimSpace(cred)) {
			return "jwt"
		}
		return "bearer"
	case scheme == "":
		return "unknown"
	}
	s := strings.ToLower(scheme)
	if len(s) > 24 {
		return "unknown"
	}
	return s
}

func looksJWT(s string) bool {
	return strings.HasPrefix(s, "eyJ") && strings.Count(s, ".") == 2
}

// cookieSchemes looks at cookie names only.
func cookieSchemes(v string, out []string) []string {
	session, key := false, false
	for part := range strings.SplitSeq(v, ";") {
		name, _, _ := strings.Cut(strings.TrimSpace(part), "=")
		name = strings.ToLower(name)
		switch {
		case strings.Contains(name, "sess") || name == "sid" || name == "connect.sid" ||
			strings.HasSuffix(name, "_session") || name == "auth" || name == "jwt":
			session = true
		case apiKeyQuery[name] || apiKeyHeaders[name]:
			key = true
		}
	}
	if session {
		out = append(out, "session-cookie")
	}
	if key {
		out = append(out, "api-key-cookie")
	}
	return out
}
