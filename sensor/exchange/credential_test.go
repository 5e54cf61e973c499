package exchange

import "testing"

func TestIsAPIKeyHeader(t *testing.T) {
	for _, n := range APIKeyHeaders() {
		if !IsAPIKeyHeader(n) {
			t.Errorf("IsAPIKeyHeader(%q) = false; want true", n)
		}
	}
	for _, n := range []string{"", "accept", "x-api-keys", "X-Api-Key", "authorization", "cookie",
		"ocp-apim-subscription-key-and-then-some-more"} {
		if IsAPIKeyHeader(n) {
			t.Errorf("IsAPIKeyHeader(%q) = true; want false", n)
		}
	}
}

func TestIsCredentialQueryKey(t *testing.T) {
	for _, n := range credentialQueryKeys {
		for _, v := range []string{n, upper(n)} {
			if !IsCredentialQueryKey(v) {
				t.Errorf("IsCredentialQueryKey(%q) = false; want true", v)
			}
		}
	}
	for _, n := range []string{"", "limit", "cursor", "keys", "q", "signed", "\u212aey"} {
		if IsCredentialQueryKey(n) {
			t.Errorf("IsCredentialQueryKey(%q) = true; want false", n)
		}
	}
}

func upper(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'a' <= c && c <= 'z' {
			b[i] = c - ('a' - 'A')
		}
	}
	return string(b)
}
