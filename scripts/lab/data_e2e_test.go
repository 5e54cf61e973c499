//go:build e2e

package lab

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math/big"
	"net/netip"
	"testing"
	"time"
)

// The data lab's destinations. The analytics vendor and Anthropic are in the
// catalog; the shipping partner and the unknown SaaS are not.
var (
	dataAnalytics = site{"api.segment.io", netip.MustParseAddr("198.51.100.13")}
	dataPartner   = site{"api.shipping-partner.example", netip.MustParseAddr("198.51.100.21")}
	dataUnknown   = site{"api.some-unknown-saas.example", netip.MustParseAddr("203.0.113.17")}
	dataNotOpenAI = site{"api.anthropic.com", netip.MustParseAddr("198.51.100.12")}
)

// localIdP is the JWT issuer of the monitored organisation: a .internal name,
// which apitap counts as local without configuration.
const localIdP = "https://auth.shop.internal"

// dataSecrets are the sensitive values the data lab's traffic carries, made
// up at run time so that no test file holds them.
type dataSecrets struct {
	Email      string // PII, in a JSON body to the analytics vendor
	UserID     string // identifier, same body
	JWT        string // bearer token of the local IdP, to the partner
	JWTSubject string // the token's sub claim
	QueryKey   string // OpenAI-shaped key in ?api_key= to the unknown SaaS
	HeaderKey  string // OpenAI-shaped key in Authorization to Anthropic
	JWTSignKey string // the HMAC key that signed the JWT (never sent)
	// Sent only in the leak test's capture (recordDataLab with extra):
	PathToken   string // a reset token as a path segment, to the partner
	BareKey     string // a short key as the whole Authorization value
	QueryName   string // a key sent as a bare query string: a name, no value
	jwtPayloads []string
}

// randString returns n characters drawn from chars with crypto/rand.
func randString(t *testing.T, n int, chars string) string {
	t.Helper()
	b := make([]byte, n)
	for i := range b {
		k, err := rand.Int(rand.Reader, big.NewInt(int64(len(chars))))
		if err != nil {
			t.Fatal(err)
		}
		b[i] = chars[k.Int64()]
	}
	return string(b)
}

const (
	lower  = "abcdefghijklmnopqrstuvwxyz"
	upper  = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	digits = "0123456789"
)

// openAIKey makes an OpenAI-shaped project key: "sk-proj-" then 56 mixed
// letters and digits (the real ones also hold '-' and '_'), with every
// character class present so that detectors that want entropy see it.
func openAIKey(t *testing.T) string {
	t.Helper()
	return "sk-proj-" + randString(t, 4, upper) + randString(t, 4, digits) +
		randString(t, 4, lower) + randString(t, 44, upper+lower+digits)
}

// newDataSecrets makes the lab's values.
func newDataSecrets(t *testing.T) *dataSecrets {
	t.Helper()
	s := &dataSecrets{
		Email:      "jordan." + randString(t, 8, lower+digits) + "@example.org",
		UserID:     "usr_" + randString(t, 20, lower+digits),
		JWTSubject: "cust-" + randString(t, 16, lower+digits),
		QueryKey:   openAIKey(t),
		HeaderKey:  openAIKey(t),
		JWTSignKey: randString(t, 32, upper+lower+digits),
		PathToken:  randString(t, 26, upper+digits),
		BareKey:    "k" + randString(t, 15, lower+digits),
		QueryName: "q" + randString(t, 4, upper) + randString(t, 4, digits) +
			randString(t, 15, upper+lower+digits),
	}
	// An HS256 token from the local IdP with no exp claim: it never
	// expires, which is what jwt_weak (no_exp) is about.
	enc := base64.RawURLEncoding
	header := enc.EncodeToString([]byte(`{"alg":"HS256","typ":"JWT","kid":"lab-1"}`))
	claims, err := json.Marshal(map[string]any{
		"iss": localIdP, "sub": s.JWTSubject, "aud": "shop-api",
		"iat": time.Now().Unix(), "scope": "orders:read orders:write",
	})
	if err != nil {
		t.Fatal(err)
	}
	payload := enc.EncodeToString(claims)
	mac := hmac.New(sha256.New, []byte(s.JWTSignKey))
	mac.Write([]byte(header + "." + payload))
	s.JWT = header + "." + payload + "." + enc.EncodeToString(mac.Sum(nil))
	s.jwtPayloads = []string{payload}
	return s
}

// recordDataLab sends the data lab's four calls over plain HTTP from the
// service namespace and returns the capture and the values it carries.
// With extra it also sends what only the leak test looks for: a token in a
// path and a key sent as the whole Authorization value.
func recordDataLab(t *testing.T, extra bool) (string, *dataSecrets) {
	t.Helper()
	in := newInternet(t, []site{dataAnalytics, dataPartner, dataUnknown, dataNotOpenAI})
	s := newDataSecrets(t)

	body, err := json.Marshal(map[string]any{
		"userId": s.UserID, "event": "Order Completed",
		"traits":     map[string]any{"email": s.Email, "plan": "gold"},
		"properties": map[string]any{"total": 42.5, "currency": "EUR"},
	})
	if err != nil {
		t.Fatal(err)
	}
	calls := [][]string{
		// PII to an analytics vendor (tier minimal: may receive nothing).
		{"-X", "POST", "-H", "Content-Type: application/json", "-d", string(body),
			"http://" + dataAnalytics.name + "/v1/track"},
		// The local IdP's bearer token to an unrelated external host.
		{"-H", "Authorization: Bearer " + s.JWT,
			"http://" + dataPartner.name + "/v2/rates?from=DE&to=FR"},
		// An API key in the query string.
		{"http://" + dataUnknown.name + "/v1/lookup?sku=A1&api_key=" + s.QueryKey},
		// An OpenAI key sent to a host that is not OpenAI.
		{"-X", "POST", "-H", "Authorization: Bearer " + s.HeaderKey,
			"-H", "Content-Type: application/json", "-d", `{"model":"lab","max_tokens":8}`,
			"http://" + dataNotOpenAI.name + "/v1/messages"},
	}
	if extra {
		calls = append(calls,
			[]string{"http://" + dataPartner.name + "/v1/password-reset/" + s.PathToken},
			[]string{"-H", "Authorization: " + s.BareKey, "http://" + dataPartner.name + "/v1/ping"},
			[]string{"http://" + dataPartner.name + "/v1/callback?" + s.QueryName})
	}
	for _, c := range calls {
		if code := in.curl(t, c...); code != "200" {
			t.Fatalf("%s: status %s; want 200", c[len(c)-1], code)
		}
	}
	return in.stop(t), s
}

func TestData(t *testing.T) {
	pcap, _ := recordDataLab(t, false)
	bin := buildApitap(t)
	rep := decodeReport(t, runApitap(t, bin, "read", "-r", pcap, "--format", "json"))
	t.Logf("summary: %d packets, %d exchanges; %d data flows, %d findings",
		rep.Summary.Packets, rep.Summary.Exchanges, len(rep.DataFlows), len(rep.Findings))
	if rep.Summary.Exchanges != 4 {
		t.Errorf("exchanges = %d; want 4", rep.Summary.Exchanges)
	}

	flows := []struct{ dest, class, pos string }{
		{dataAnalytics.name, "email", "body"},
		{dataAnalytics.name, "user_id", "body"},
		{dataPartner.name, "jwt", "header"},
		{dataUnknown.name, "openai_api_key", "query"},
		{dataNotOpenAI.name, "openai_api_key", "header"},
	}
	for _, w := range flows {
		t.Run(fmt.Sprintf("flow/%s/%s/%s", w.dest, w.class, w.pos), func(t *testing.T) {
			for _, f := range rep.DataFlows {
				if f.Destination == w.dest && f.DataClass == w.class && f.Position == w.pos {
					if f.Direction != "request" {
						t.Errorf("direction = %q; want request", f.Direction)
					}
					if !f.Plaintext {
						t.Error("plaintext = false; every lab call is plain HTTP")
					}
					if f.Count != 1 {
						t.Errorf("count = %d; want 1", f.Count)
					}
					return
				}
			}
			t.Errorf("data_flows has no %s %s in %s", w.dest, w.class, w.pos)
		})
	}

	// Each finding: type, destination, and evidence fields that must match.
	findings := []struct {
		name, typ, dest string
		ev              map[string]string
	}{
		{"email to analytics", "data_policy_violation", dataAnalytics.name,
			map[string]string{"data_class": "email", "position": "body", "direction": "request"}},
		{"user id to analytics", "data_policy_violation", dataAnalytics.name,
			map[string]string{"data_class": "user_id", "position": "body",
				"direction": "request"}},
		{"local JWT to partner", "credential_wrong_issuer", dataPartner.name,
			map[string]string{"data_class": "jwt", "position": "header", "issuer": localIdP}},
		{"JWT in plaintext", "credential_plaintext", dataPartner.name,
			map[string]string{"data_class": "jwt", "position": "header"}},
		{"JWT without exp", "jwt_weak", dataPartner.name,
			map[string]string{"data_class": "jwt", "reason": "no_exp"}},
		{"key in URL", "credential_in_url", dataUnknown.name,
			map[string]string{"data_class": "openai_api_key", "position": "query"}},
		{"key in URL in plaintext", "credential_plaintext", dataUnknown.name,
			map[string]string{"data_class": "openai_api_key", "position": "query"}},
		{"OpenAI key to Anthropic", "credential_wrong_issuer", dataNotOpenAI.name,
			map[string]string{"data_class": "openai_api_key", "position": "header",
				"issuer": "openai"}},
		{"OpenAI key in plaintext", "credential_plaintext", dataNotOpenAI.name,
			map[string]string{"data_class": "openai_api_key", "position": "header"}},
	}
	for _, w := range findings {
		t.Run("finding/"+w.name, func(t *testing.T) {
			var near []string
			for _, f := range rep.Findings {
				if f.Type != w.typ || f.Destination != w.dest {
					continue
				}
				ok := true
				for k, v := range w.ev {
					if got := fmt.Sprint(f.Evidence[k]); got != v {
						ok = false
						near = append(near, fmt.Sprintf("%s=%q", k, got))
					}
				}
				if ok {
					if f.Count != 1 {
						t.Errorf("count = %d; want 1", f.Count)
					}
					if !isServiceAddr(f.Source) {
						t.Errorf("source = %q; want the service's address", f.Source)
					}
					return
				}
			}
			t.Errorf("no %s finding for %s with evidence %v (same type and destination "+
				"differed in: %v)", w.typ, w.dest, w.ev, near)
		})
	}

	// Every call goes to one of four external hosts, so every finding names
	// one of them (data findings by host, vendor findings by registrable
	// domain).
	for _, f := range rep.Findings {
		switch f.Destination {
		case dataAnalytics.name, dataPartner.name, dataUnknown.name, dataNotOpenAI.name,
			"segment.io", "shipping-partner.example", "some-unknown-saas.example",
			"anthropic.com":
		default:
			t.Errorf("finding %s names destination %q, none of the lab's hosts", f.Type,
				f.Destination)
		}
	}
}

// isServiceAddr reports whether s is a service-side address of a lab link
// (10.203.N.2): findings must name the local client as their source.
func isServiceAddr(s string) bool {
	a, err := netip.ParseAddr(s)
	if err != nil || !a.Is4() {
		return false
	}
	b := a.As4()
	return b[0] == 10 && b[1] == 203 && b[3] == 2
}
