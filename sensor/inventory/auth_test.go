package inventory

import (
	"strings"
	"testing"
)

// TestMayNameKey keeps the cheap pre-check in step with the map it guards:
// a header name it rejects is never looked up.
func TestMayNameKey(t *testing.T) {
	for name := range apiKeyHeaders {
		if !mayNameKey(name) {
			t.Errorf("mayNameKey(%q) = false; want true (it is in apiKeyHeaders)", name)
		}
	}
	for _, name := range []string{"accept", "host", "content-type", "user-agent", "cookie"} {
		if mayNameKey(name) {
			t.Errorf("mayNameKey(%q) = true; want false", name)
		}
	}
}

// TestMayNameQueryKey does the same for the query-parameter pre-check,
// including the upper-case spellings that strings.ToLower folds.
func TestMayNameQueryKey(t *testing.T) {
	for name := range apiKeyQuery {
		for _, n := range []string{name, strings.ToUpper(name), strings.ReplaceAll(name, "k", "\u212a")} {
			if !mayNameQueryKey(n) {
				t.Errorf("mayNameQueryKey(%q) = false; want true (%q is in apiKeyQuery)", n, name)
			}
		}
	}
}

// TestAuthorizationScheme pins the scheme labels, including the Unicode
// spellings that strings.EqualFold folds into the ASCII names.
func TestAuthorizationScheme(t *testing.T) {
	tests := []struct{ value, want string }{
		{"Bearer abc.def", "bearer"},
		{"BEARER eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2ln", "jwt"},
		{"bearer   eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2ln  ", "jwt"},
		{" Basic dXNlcjpwYXNz", "basic"},
		{"ba\u017fic dXNlcjpwYXNz", "basic"},
		{"Digest username=x", "digest"},
		{"", "unknown"},
		{" token", "token"},
		{"Bearer", "bearer"},
		{"Negotiate" + strings.Repeat("x", 30) + " y", "unknown"},
		{"\u00a0Basic x", "basic"},
	}
	for _, tt := range tests {
		if got := authorizationScheme(tt.value); got != tt.want {
			t.Errorf("authorizationScheme(%q) = %q; want %q", tt.value, got, tt.want)
		}
	}
}
