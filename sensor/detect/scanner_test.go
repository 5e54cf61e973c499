package detect

import (
	"net/netip"
	"strings"
	"testing"

	"github.com/apitap/apitap/sensor/exchange"
	"github.com/apitap/apitap/sensor/secret"
)

type found struct {
	class, key string
	pos        Position
	dir        Direction
	text       string // the scanned part between Start and End
}

func TestScanOffsets(t *testing.T) {
	g := newGen(7)
	jwt := g.jwt(`{"iss":"https://idp.example.test","exp":1700000000}`)
	ghp := g.crcToken("ghp_")
	tests := []struct {
		name string
		part string
		scan func(s *Scanner, fn func(*Match))
		want found
	}{
		{"bearer jwt", "Bearer " + jwt, func(s *Scanner, fn func(*Match)) {
			s.ScanHeader(DirRequest, "authorization", "Bearer "+jwt, fn)
		}, found{ClassJWT, "authorization", PosHeader, DirRequest, jwt}},
		{"cookie", "a=1; sessionid=" + ghp[4:] + "; b=2", func(s *Scanner, fn func(*Match)) {
			s.ScanHeader(DirRequest, "cookie", "a=1; sessionid="+ghp[4:]+"; b=2", fn)
		}, found{ClassSessionCookie, "sessionid", PosCookie, DirRequest, ghp[4:]}},
		{"set-cookie attributes ignored", "sid=" + ghp[4:] + "; Path=/; HttpOnly",
			func(s *Scanner, fn func(*Match)) {
				s.ScanHeader(DirResponse, "set-cookie", "sid="+ghp[4:]+"; Path=/; HttpOnly", fn)
			}, found{ClassSessionCookie, "sid", PosCookie, DirResponse, ghp[4:]}},
		{"json value", `{"a":{"token":"x"},"gh":"  ` + ghp + ` "}`, func(s *Scanner, fn func(*Match)) {
			s.ScanJSON(DirResponse, []byte(`{"a":{"token":"x"},"gh":"  `+ghp+` "}`), fn)
		}, found{ClassGitHubToken, "gh", PosBody, DirResponse, ghp}},
		{"json escaped spans the raw string", `{"e":"a\u0040example.com"}`,
			func(s *Scanner, fn func(*Match)) {
				s.ScanJSON(DirRequest, []byte(`{"e":"a\u0040example.com"}`), fn)
			}, found{ClassEmail, "e", PosBody, DirRequest, `a\u0040example.com`}},
		{"query encoded", "x=1&email=a%40example.com", func(s *Scanner, fn func(*Match)) {
			s.ScanQuery(DirRequest, "x=1&email=a%40example.com", fn)
		}, found{ClassEmail, "email", PosQuery, DirRequest, "a%40example.com"}},
		{"path segment", "/v1/users/jane@example.com/orders", func(s *Scanner, fn func(*Match)) {
			s.ScanPath(DirRequest, "/v1/users/jane@example.com/orders", fn)
		}, found{ClassEmail, "", PosPath, DirRequest, "jane@example.com"}},
		{"text", "key: " + ghp + ".", func(s *Scanner, fn func(*Match)) {
			s.ScanBody(DirResponse, "text/plain", []byte("key: "+ghp+"."), fn)
		}, found{ClassGitHubToken, "", PosBody, DirResponse, ghp}},
	}
	sc := NewScanner(secret.Key{})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []found
			tt.scan(sc, func(m *Match) {
				if m.Start < 0 || m.End > len(tt.part) || m.Start > m.End {
					t.Fatalf("match %s: offsets [%d,%d) outside part of %d bytes",
						m.Class, m.Start, m.End, len(tt.part))
				}
				got = append(got, found{m.Class, m.Key, m.Position, m.Direction, tt.part[m.Start:m.End]})
			})
			for _, f := range got {
				if f == tt.want {
					return
				}
			}
			t.Errorf("scan %s: got %+v; want %+v among them", tt.name, got, tt.want)
		})
	}
}

func TestScanExchange(t *testing.T) {
	g := newGen(11)
	gh := g.crcToken("ghp_")
	ex := &exchange.Exchange{
		Client:   netip.MustParseAddrPort("10.0.0.5:40000"),
		Server:   netip.MustParseAddrPort("203.0.113.9:443"),
		Method:   "POST",
		Host:     "api.example.test",
		Path:     "/v1/customers",
		RawQuery: "api_key=" + g.mixed(32, alnum),
		Request: exchange.Message{
			Headers: []exchange.Header{
				{Name: "authorization", Value: "token " + gh},
				{Name: "content-type", Value: "application/json"},
			},
			ContentType: "application/json",
			Body:        []byte(`{"customer":{"name":"Jane Doe","email":"jane@example.com"}}`),
		},
		Response: exchange.Message{
			Headers:     []exchange.Header{{Name: "set-cookie", Value: "sessionid=" + g.mixed(32, alnum)}},
			ContentType: "application/x-www-form-urlencoded",
			Body:        []byte("ssn=123-45-6789&ok=1"),
		},
	}
	var got []string
	NewScanner(secret.Key{}).ScanExchange(ex, func(m *Match) {
		got = append(got, m.Direction.String()+" "+m.Position.String()+" "+m.Class)
	})
	want := []string{
		"request query generic_secret",
		"request header github_token",
		"request body person_name",
		"request body email",
		"response cookie session_cookie",
		"response body us_ssn",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("ScanExchange: got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// TestMatchHoldsNoValue checks that what a match carries (fingerprint,
// preview, key) never includes the secret beyond its public prefix.
func TestMatchHoldsNoValue(t *testing.T) {
	g := newGen(3)
	secrets := []string{g.crcToken("ghp_"), "sk-proj-" + g.mixed(48, alnum), "AKIA" + g.str(16, base32U),
		g.mixed(40, alnum)}
	sc := NewScanner(secret.Key{})
	for _, s := range secrets {
		body := []byte(`{"client_secret":"` + s + `"}`)
		n := 0
		sc.ScanJSON(DirRequest, body, func(m *Match) {
			n++
			for i := 0; i+8 <= len(s); i++ {
				sub := s[i : i+8]
				if strings.Contains(strings.TrimSuffix(m.Preview, secret.Ellipsis), sub) {
					continue // the published vendor prefix may show
				}
				if strings.Contains(m.Fingerprint, sub) || strings.Contains(m.Preview, sub) {
					t.Errorf("match for %s leaks %q in %q / %q", m.Class, sub, m.Fingerprint, m.Preview)
				}
			}
		})
		if n == 0 {
			t.Errorf("no match for secret of %d bytes", len(s))
		}
	}
}

func TestClassInfo(t *testing.T) {
	for _, c := range Classes() {
		info, ok := Info(c)
		if !ok || info.Sensitivity < 1 || info.Sensitivity > 5 || info.Category == 0 {
			t.Errorf("Info(%q): got %+v, %v; want a category and sensitivity 1..5", c, info, ok)
		}
		if (info.Category == CatCredential) != secret.IsCredential(c) {
			t.Errorf("class %q: detect says credential=%v, secret.IsCredential=%v",
				c, info.Category == CatCredential, secret.IsCredential(c))
		}
	}
}
