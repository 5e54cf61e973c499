package exchange

// Names that carry credentials by convention. The core labels an exchange's
// credential (Exchange.Auth) and the inventory records an endpoint's schemes
// from the same names, so that an exchange and its endpoint never disagree;
// they live here, beside the type both read.

// apiKeyHeaders are lower-cased header field names that carry an API key.
var apiKeyHeaders = []string{"x-api-key", "api-key", "apikey", "x-apikey", "x-auth-token",
	"x-access-token", "x-token", "x-goog-api-key", "ocp-apim-subscription-key",
	"x-functions-key", "private-token"}

// credentialQueryKeys are lower-cased query parameter names that carry a
// credential: API keys, OAuth tokens, signatures, passwords.
var credentialQueryKeys = []string{"api_key", "apikey", "api-key", "x-api-key", "key",
	"access_token", "token", "auth", "sig", "signature", "client_secret", "password"}

// maxNameLen bounds the names above; byLen indexes them by length, so that
// a name is compared with the two or three of its length at most. These run
// on every header of every request.
const maxNameLen = 32

var apiKeyHeadersByLen, credentialQueryKeysByLen = byLen(apiKeyHeaders),
	byLen(credentialQueryKeys)

func byLen(names []string) (t [maxNameLen][]string) {
	for _, n := range names {
		t[len(n)] = append(t[len(n)], n)
	}
	return t
}

// APIKeyHeaders returns the lower-cased header names that carry an API key.
func APIKeyHeaders() []string { return append([]string(nil), apiKeyHeaders...) }

// IsAPIKeyHeader reports whether name, a lower-cased header field name (as
// Message.Headers holds them), carries an API key by convention.
func IsAPIKeyHeader(name string) bool {
	if len(name) >= maxNameLen {
		return false
	}
	for _, n := range apiKeyHeadersByLen[len(name)] {
		if n == name {
			return true
		}
	}
	return false
}

// IsCredentialQueryKey reports whether a query parameter name carries a
// credential. Case is ignored, in ASCII only: parameter names are bytes to
// the servers that read them.
func IsCredentialQueryKey(name string) bool { return foldIn(&credentialQueryKeysByLen, name) }

// foldIn reports whether name is one of the names in t, ignoring ASCII
// case.
func foldIn(t *[maxNameLen][]string, name string) bool {
	if len(name) >= maxNameLen {
		return false
	}
	for _, n := range t[len(name)] {
		if asciiFoldEqual(name, n) {
			return true
		}
	}
	return false
}

// asciiFoldEqual reports whether s equals lower, a lower-case ASCII word of
// the same length, ignoring ASCII case.
func asciiFoldEqual(s, lower string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != lower[i] {
			return false
		}
	}
	return true
}
