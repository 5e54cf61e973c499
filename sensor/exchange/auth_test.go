package exchange

import (
	"slices"
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
		{"k3yW1thoutAScheme", "unknown", CredUnknown},
		{"Custom", "unknown", CredUnknown},
		{"Sig=abc def", "unknown", CredUnknown},
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

// FuzzCredentials: any header values and query names give an answer, never
// a panic; the string and byte forms of IsSessionCookie agree; a scheme is
// lower case and bounded, so that no credential is echoed as its scheme.
func FuzzCredentials(f *testing.F) {
	f.Add("Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2ln", "JSESSIONID=1; apikey=2", "sig")
	f.Add(" ba\u017fic x", "__Secure-next-auth.session-token=x", "")
	f.Add("", "=; ;=;", "API_KEY")
	f.Fuzz(func(t *testing.T, authz, cookie, query string) {
		m := Message{Headers: []Header{{"authorization", authz}, {"cookie", cookie}}}
		auth, creds := Credentials(&m, []string{query})
		if auth == "" {
			t.Fatalf("a request with a cookie has no auth")
		}
		if creds&CredCookie != 0 {
			t.Fatalf("creds %v hold the fallback-only cookie bit", creds)
		}
		if creds&CredOther != 0 && (auth != strings.ToLower(auth) || len(auth) > maxSchemeLen) {
			t.Fatalf("scheme %q from %q: not a lower-case word of at most %d bytes", auth, authz,
				maxSchemeLen)
		}
		// A scheme nobody registered is named only with a credential after
		// it: one word alone is the credential.
		if creds&CredOther != 0 && !slices.Contains(registeredSchemes, auth) &&
			!strings.Contains(strings.TrimSpace(authz), " ") {
			t.Fatalf("%q, a bare credential, echoed as the scheme %q", authz, auth)
		}
		for part := range strings.SplitSeq(cookie, ";") {
			name, _, _ := strings.Cut(part, "=")
			if IsSessionCookie(name) != IsSessionCookie([]byte(name)) {
				t.Fatalf("IsSessionCookie(%q): string and bytes disagree", name)
			}
		}
		_ = creds.AppendNames(nil)
	})
}
