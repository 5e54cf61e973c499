package exchange

import (
	"strings"
	"testing"
)

// TestAuthorizationScheme pins the scheme labels, including the Unicode
// spellings that strings.EqualFold folds into the ASCII names.
func TestAuthorizationScheme(t *testing.T) {
	tests := []struct {
		value, want string
		kind        Creds
	}{
		{"Bearer abc.def", "bearer", CredBearer},
		{"BEARER eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2ln", "bearer", CredJWT},
		{"bearer   eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2ln  ", "bearer", CredJWT},
		{" Basic dXNlcjpwYXNz", "basic", CredBasic},
		{"ba\u017fic dXNlcjpwYXNz", "basic", CredBasic},
		{"Digest username=x", "digest", CredOther},
		{"AWS4-HMAC-SHA256 Credential=x", "aws4-hmac-sha256", CredOther},
		{"MyScheme x", "myscheme", CredOther},
		{"", "unknown", CredUnknown},
		{" token", "token", CredOther},
		{"Bearer", "bearer", CredBearer},
		{"Negotiate" + strings.Repeat("x", 30) + " y", "unknown", CredUnknown},
		{"\u00a0Basic x", "basic", CredBasic},
	}
	for _, tt := range tests {
		got, kind := AuthorizationScheme(tt.value)
		if got != tt.want || kind != tt.kind {
			t.Errorf("AuthorizationScheme(%q) = %q, %v; want %q, %v", tt.value, got,
				kind.AppendNames(nil), tt.want, tt.kind.AppendNames(nil))
		}
	}
}

// TestRegisteredSchemesDoNotAllocate: the scheme of nearly every request
// is one of these, and the core names it for every exchange.
func TestRegisteredSchemesDoNotAllocate(t *testing.T) {
	for _, s := range registeredSchemes {
		v := strings.ToUpper(s[:1]) + s[1:] + " credential"
		if n := testing.AllocsPerRun(10, func() { AuthorizationScheme(v) }); n != 0 {
			t.Errorf("AuthorizationScheme(%q): %v allocations", v, n)
		}
	}
}

func TestCredentials(t *testing.T) {
	tests := []struct {
		name    string
		headers []Header
		query   []string
		auth    string
		creds   Creds
	}{
		{"none", nil, nil, "", 0},
		{"basic", []Header{{"authorization", "Basic dTpw"}}, nil, "basic", CredBasic},
		{"jwt", []Header{{"authorization", "Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.sig"}},
			nil, "bearer", CredJWT},
		{"api key in query", nil, []string{"page", "api_key"}, "query", CredAPIKeyQuery},
		{"session cookie", []Header{{"cookie", "theme=dark; JSESSIONID=1"}}, nil, "cookie",
			CredSessionCookie},
		{"api key cookie", []Header{{"cookie", "apikey=1"}}, nil, "cookie", CredAPIKeyCookie},
		{"a cookie that carries nothing", []Header{{"cookie", "theme=dark"}}, nil, "cookie", 0},
		{"proxy", []Header{{"proxy-authorization", "Basic x"}}, nil, "proxy", CredProxy},
		{"key header and authorization", []Header{{"x-api-key", "k"},
			{"authorization", "Digest u"}}, nil, "digest", CredAPIKeyHeader | CredOther},
		{"empty authorization", []Header{{"authorization", ""}, {"x-api-key", "k"}}, nil,
			"api-key", CredUnknown | CredAPIKeyHeader},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := Message{Headers: tt.headers}
			auth, creds := Credentials(&m, tt.query)
			if auth != tt.auth || creds != tt.creds {
				t.Errorf("Credentials = %q, %v; want %q, %v", auth, creds.AppendNames(nil),
					tt.auth, tt.creds.AppendNames(nil))
			}
		})
	}
}

func TestIsSessionCookie(t *testing.T) {
	for name, want := range map[string]bool{
		"PHPSESSID": true, "connect.sid": true, "__Secure-next-auth.session-token": true,
		"_myapp_session": true, "SESSd41d8cd98f00b204e9800998ecf8427e": true, "jwt": true,
		"theme": false, "session_theme": false, "sessions_count": false, "": false,
		strings.Repeat("a", 70) + "session": false,
	} {
		if got := IsSessionCookie(name); got != want {
			t.Errorf("IsSessionCookie(%q) = %v; want %v", name, got, want)
		}
		if got := IsSessionCookie([]byte(name)); got != want {
			t.Errorf("IsSessionCookie([]byte(%q)) = %v; want %v", name, got, want)
		}
	}
}
