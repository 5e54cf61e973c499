package inventory

import (
	"strings"
	"testing"
)

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
