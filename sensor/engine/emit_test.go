package engine

import (
	"fmt"
	"testing"

	"github.com/apitap/apitap/sensor/exchange"
	"github.com/apitap/apitap/sensor/httpparse"
)

// TestHeaderIndex checks that the fields emit finds while copying headers
// are the ones the general lookups (Message.Header, exchange.Credentials)
// find.
func TestHeaderIndex(t *testing.T) {
	for _, tc := range []struct {
		name    string
		headers []string // name, value, …
		qkeys   []string
	}{
		{"bearer token", []string{"Host", "a", "Authorization", "Bearer x", "User-Agent", "ua"}, nil},
		{"unusual scheme keeps its case folded", []string{"authorization", "MyScheme x"}, nil},
		{"empty authorization falls through to the cookie",
			[]string{"Authorization", "", "Cookie", "a=b"}, nil},
		{"only the first authorization counts",
			[]string{"Authorization", "", "Authorization", "Basic x"}, nil},
		{"api key header", []string{"X-Api-Key", "k", "Cookie", "a=b"}, nil},
		{"api key beats a query credential", []string{"Private-Token", "k"}, []string{"token"}},
		{"proxy authorization", []string{"Proxy-Authorization", "Basic x"}, nil},
		{"query credential", []string{"Accept", "*/*"}, []string{"page", "API_KEY"}},
		{"content types, first wins",
			[]string{"Content-Type", "application/json", "content-type", "text/plain"}, nil},
		{"nothing", []string{"Accept", "*/*", "X-Request-Id", "1"}, nil},
		{"jwt", []string{"Authorization", "Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2ln"}, nil},
		{"every kind at once", []string{"Authorization", "Digest u=1", "Proxy-Authorization",
			"Basic x", "X-Api-Key", "k", "Cookie", "JSESSIONID=1; apikey=2"}, []string{"sig"}},
		{"cookies split over fields, as HTTP/2 sends them",
			[]string{"cookie", "theme=dark", "accept", "*/*", "cookie", "sid=1"}, nil},
		{"an empty authorization is unknown", []string{"Authorization", ""}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var hs []httpparse.Header
			for i := 0; i < len(tc.headers); i += 2 {
				hs = append(hs, httpparse.Header{Name: []byte(tc.headers[i]),
					Value: []byte(tc.headers[i+1])})
			}
			var a strArena
			var spans []hdrSpan
			var x hdrIndex
			sp := a.headers(&spans, hs, &x)
			var dst []exchange.Header
			m := exchange.Message{Headers: materialize(&dst, sp, string(a.buf))}

			auth, creds := x.credentials(m.Headers, tc.qkeys)
			wantAuth, wantCreds := exchange.Credentials(&m, tc.qkeys)
			if auth != wantAuth || creds != wantCreds {
				t.Errorf("credentials: got %q %v; want %q %v", auth,
					creds.AppendNames(nil), wantAuth, wantCreds.AppendNames(nil))
			}
			for _, f := range []struct {
				name string
				i    int
			}{{"content-type", x.contentType}, {"user-agent", x.userAgent}} {
				want, ok := m.Header(f.name)
				got := ""
				if f.i >= 0 {
					got = m.Headers[f.i].Value
				}
				if (f.i >= 0) != ok || got != want {
					t.Errorf("%s: got %q (index %d); want %q (found %v)", f.name, got, f.i,
						want, ok)
				}
			}
		})
	}
}

// TestLowerInto checks the word-at-a-time folding against bytes.ToLower's
// ASCII rule for every byte value in every position of a word and its tail.
func TestLowerInto(t *testing.T) {
	want := func(c byte) byte {
		if 'A' <= c && c <= 'Z' {
			return c + 'a' - 'A'
		}
		return c
	}
	for n := 1; n <= 19; n++ {
		for pos := range n {
			for v := range 256 {
				in := make([]byte, n)
				for i := range in {
					in[i] = byte('Z' + i) // neighbours that must stay put
				}
				in[pos] = byte(v)
				got := lowerInto(make([]byte, n), in)
				for i := range in {
					if got[i] != want(in[i]) {
						t.Fatalf("lowerInto(%q)[%d] = %#x; want %#x", in, i, got[i], want(in[i]))
					}
				}
			}
		}
	}
}

// TestQueryKeys: names are kept once each, in order; a name that reads like
// a value (a key sent as a bare query string) is given as its kind.
func TestQueryKeys(t *testing.T) {
	for _, tt := range []struct{ q, want string }{
		{"page=1&limit=20&page=2", "[page limit]"},
		{"fields[]=a&fields[]=b&filter[name]=x&$top=5", "[fields[] filter[name] $top]"},
		{"k3yW1thoutAScheme", "[{token}]"},
		{"cb=1&sk_live_4eC39HqLyjWDarjtT1zdp7dc", "[cb {token}]"},
		{"user@example.com=1&3f2a9c8b7d6e5f4a9b8c", "[{email} {hex}]"},
		{"sha256=x&x509=y&abc123secret", "[sha256 x509 {string}]"},
		{"include_deleted_records_after=2024-01-01&utm_source=x&12=3",
			"[include_deleted_records_after utm_source 12]"},
		{"&&=x&", "[]"},
	} {
		if got := fmt.Sprint(queryKeys(nil, tt.q)); got != tt.want {
			t.Errorf("queryKeys(%q) = %s; want %s", tt.q, got, tt.want)
		}
	}
}
