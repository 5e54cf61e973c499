package dataflow

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/apitap/apitap/sensor/detect"
	"github.com/apitap/apitap/sensor/exchange"
	"github.com/apitap/apitap/sensor/finding"
	"github.com/apitap/apitap/sensor/secret"
)

// Test values are fake and generated at test time: shape-valid, never real.

var testKey, _ = secret.NewKey(bytes.Repeat([]byte{0x5a}, secret.KeySize))

var t0 = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

const alnum = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

type fakes struct{ r *rand.Rand }

func newFakes(seed uint64) *fakes { return &fakes{rand.New(rand.NewPCG(seed, 99))} }

func (f *fakes) str(n int, alphabet string) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = alphabet[f.r.IntN(len(alphabet))]
	}
	return string(b)
}

func (f *fakes) mixed(n int) string {
	for {
		s := f.str(n, alnum)
		if strings.ContainsAny(s, "0123456789") && strings.ContainsAny(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") &&
			strings.ContainsAny(s, "abcdefghijklmnopqrstuvwxyz") {
			return s
		}
	}
}

// github returns a fake ghp_ token with a valid checksum.
func (f *fakes) github() string {
	body := f.mixed(30)
	return "ghp_" + string(detect.AppendBase62CRC32([]byte(body), []byte(body)))
}

func (f *fakes) openai() string { return "sk-proj-" + f.mixed(48) }

func jwt(header, claims string) string {
	e := base64.RawURLEncoding.EncodeToString
	return e([]byte(header)) + "." + e([]byte(claims)) + "." + strings.Repeat("S", 43)
}

// resolver is a small fake of the vendor package: a fixed table of hosts.
func resolver(ex *exchange.Exchange) Destination {
	switch ex.Host {
	case "api.github.com":
		return Destination{Host: ex.Host, VendorID: "github", VendorName: "GitHub", Tier: "approved",
			TierWeight: 1, External: true, Declared: true, CredentialTypes: []string{"github_token", "github_pat"}}
	case "api.openai.com":
		return Destination{Host: ex.Host, VendorID: "openai", VendorName: "OpenAI", Tier: "approved",
			TierWeight: 1, External: true, Declared: true, CredentialTypes: []string{"openai_api_key"}}
	case "api.segment.io":
		return Destination{Host: ex.Host, VendorID: "segment", VendorName: "Segment", Tier: "analytics",
			TierWeight: 2, External: true, Declared: true}
	case "collector.tracker.example":
		return Destination{Host: ex.Host, VendorID: "tracker", VendorName: "Tracker", Tier: "analytics",
			TierWeight: 2, External: true, Declared: false}
	case "orders.internal", "auth.internal":
		return Destination{Host: ex.Host, Tier: "internal", TierWeight: 0.5}
	}
	return Destination{Host: ex.Host, External: true}
}

type exOpt func(*exchange.Exchange)

func newEx(host, path string, opts ...exOpt) *exchange.Exchange {
	ex := &exchange.Exchange{
		Start: t0, End: t0.Add(10 * time.Millisecond),
		Client: netip.MustParseAddrPort("10.0.0.5:41000"), Server: netip.MustParseAddrPort("203.0.113.10:443"),
		Direction: exchange.DirOutbound, Protocol: exchange.ProtoHTTP11 + exchange.SuffixTLS,
		Method: "GET", Host: host, Path: path, Status: 200,
	}
	for _, o := range opts {
		o(ex)
	}
	return ex
}

func header(name, value string) exOpt {
	return func(ex *exchange.Exchange) {
		ex.Request.Headers = append(ex.Request.Headers, exchange.Header{Name: name, Value: value})
	}
}
func query(q string) exOpt { return func(ex *exchange.Exchange) { ex.RawQuery = q } }
func clear() exOpt         { return func(ex *exchange.Exchange) { ex.Protocol = exchange.ProtoHTTP11 } }
func at(d time.Duration) exOpt {
	return func(ex *exchange.Exchange) { ex.Start, ex.End = t0.Add(d), t0.Add(d+time.Millisecond) }
}
func client(ip string) exOpt {
	return func(ex *exchange.Exchange) { ex.Client = netip.AddrPortFrom(netip.MustParseAddr(ip), 40000) }
}
func inbound() exOpt {
	return func(ex *exchange.Exchange) {
		ex.Direction = exchange.DirInbound
		ex.Client, ex.Server = netip.MustParseAddrPort("198.51.100.7:50000"), netip.MustParseAddrPort("10.0.0.9:8080")
	}
}
func reqJSON(body string) exOpt {
	return func(ex *exchange.Exchange) {
		ex.Method = "POST"
		ex.Request.ContentType, ex.Request.Body = "application/json", []byte(body)
	}
}
func respJSON(body string) exOpt {
	return func(ex *exchange.Exchange) {
		ex.Response.ContentType, ex.Response.Body = "application/json", []byte(body)
	}
}

func findingsOf(a *Analyzer, typ string) []finding.Finding {
	var out []finding.Finding
	for _, f := range a.Findings() {
		if f.Type == typ {
			out = append(out, f)
		}
	}
	return out
}

func TestFindings(t *testing.T) {
	fk := newFakes(1)
	gh, oa := fk.github(), fk.openai()
	tests := []struct {
		name  string
		cfg   Config
		exs   []*exchange.Exchange
		typ   string
		count int64 // of the single expected finding; 0 means none expected
	}{
		{"github token to its vendor is fine", Config{},
			[]*exchange.Exchange{newEx("api.github.com", "/user", header("authorization", "token "+gh))},
			finding.CredentialWrongIssuer, 0},
		{"github token to another vendor", Config{},
			[]*exchange.Exchange{newEx("api.openai.com", "/v1/models", header("authorization", "Bearer "+gh))},
			finding.CredentialWrongIssuer, 1},
		{"local JWT to a third party", Config{LocalIssuers: []string{"auth.corp.example"}},
			[]*exchange.Exchange{newEx("api.segment.io", "/v1/track", header("authorization", "Bearer "+
				jwt(`{"alg":"RS256"}`, `{"iss":"https://auth.corp.example/","exp":1767323045,"iat":1767319445}`)))},
			finding.CredentialWrongIssuer, 1},
		{"vendor JWT to its own API is fine", Config{LocalIssuers: []string{"auth.corp.example"}},
			[]*exchange.Exchange{newEx("api.segment.io", "/v1/track", header("authorization", "Bearer "+
				jwt(`{"alg":"RS256"}`, `{"iss":"https://idp.segment.example/","exp":1767323045,"iat":1767319445}`)))},
			finding.CredentialWrongIssuer, 0},
		{"credential in the query, twice", Config{}, []*exchange.Exchange{
			newEx("api.openai.com", "/v1/models", query("api_key="+oa)),
			newEx("api.openai.com", "/v1/models", query("api_key="+oa), at(time.Minute)),
		}, finding.CredentialInURL, 2},
		{"credential in plaintext to an external host", Config{},
			[]*exchange.Exchange{newEx("api.openai.com", "/v1/models", clear(), header("authorization", "Bearer "+oa))},
			finding.CredentialPlaintext, 1},
		{"plaintext to an internal host is not a finding", Config{},
			[]*exchange.Exchange{newEx("orders.internal", "/v1/orders", clear(), header("authorization", "Bearer "+oa))},
			finding.CredentialPlaintext, 0},
		{"new client after the learning window", Config{LearningWindow: time.Hour}, []*exchange.Exchange{
			newEx("api.openai.com", "/v1/models", header("authorization", "Bearer "+oa)),
			newEx("api.openai.com", "/v1/models", header("authorization", "Bearer "+oa), client("10.0.0.6"), at(30*time.Minute)),
			newEx("api.openai.com", "/v1/models", header("authorization", "Bearer "+oa), client("10.0.0.7"), at(2*time.Hour)),
			newEx("api.openai.com", "/v1/models", header("authorization", "Bearer "+oa), client("10.0.0.7"), at(3*time.Hour)),
		}, finding.CredentialNewClient, 1},
		{"shared by more than N clients", Config{SharedClients: 3, LearningWindow: 1000 * time.Hour},
			func() []*exchange.Exchange {
				var out []*exchange.Exchange
				for i := 0; i < 5; i++ {
					out = append(out, newEx("api.openai.com", "/v1/models", header("authorization", "Bearer "+oa),
						client(fmt.Sprintf("10.0.1.%d", i+1)), at(time.Duration(i)*time.Minute)))
				}
				return out
			}(), finding.CredentialShared, 2},
		{"clients spread beyond the window are not shared", Config{SharedClients: 3, SharedWindow: time.Minute,
			LearningWindow: 1000 * time.Hour},
			func() []*exchange.Exchange {
				var out []*exchange.Exchange
				for i := 0; i < 6; i++ {
					out = append(out, newEx("api.openai.com", "/v1/models", header("authorization", "Bearer "+oa),
						client(fmt.Sprintf("10.0.1.%d", i+1)), at(time.Duration(i)*time.Hour)))
				}
				return out
			}(), finding.CredentialShared, 0},
		{"jwt alg none", Config{}, []*exchange.Exchange{newEx("orders.internal", "/v1/orders",
			header("authorization", "Bearer "+jwt(`{"alg":"none"}`, `{"sub":"1","exp":1767323045}`)))},
			finding.JWTWeak, 1},
		{"jwt without exp", Config{}, []*exchange.Exchange{newEx("orders.internal", "/v1/orders",
			header("authorization", "Bearer "+jwt(`{"alg":"HS256"}`, `{"sub":"1"}`)))},
			finding.JWTWeak, 1},
		{"jwt lifetime over the limit", Config{JWTMaxLifetime: time.Hour}, []*exchange.Exchange{
			newEx("orders.internal", "/v1/orders", header("authorization", "Bearer "+
				jwt(`{"alg":"HS256"}`, `{"sub":"1","iat":1767000000,"exp":1767100000}`)))},
			finding.JWTWeak, 1},
		{"jwt within limits", Config{}, []*exchange.Exchange{newEx("orders.internal", "/v1/orders",
			header("authorization", "Bearer "+jwt(`{"alg":"ES256"}`, `{"sub":"1","iat":1767000000,"exp":1767003600}`)))},
			finding.JWTWeak, 0},
		{"pii in a response to an unauthenticated request", Config{}, []*exchange.Exchange{
			newEx("shop.example", "/api/users/7", inbound(), respJSON(`{"email":"jane@example.com","name":"x"}`)),
			newEx("shop.example", "/api/users/8", inbound(), respJSON(`{"email":"bob@example.com"}`)),
		}, finding.PIIUnauthenticated, 2},
		{"pii in a response to an authenticated request", Config{}, []*exchange.Exchange{
			newEx("shop.example", "/api/users/7", inbound(), header("authorization", "Bearer "+oa),
				respJSON(`{"email":"jane@example.com"}`)),
		}, finding.PIIUnauthenticated, 0},
		{"analytics tier may not receive pii", Config{Policy: Policy{Tiers: map[string][]string{
			"analytics": {"identifier"}}}}, []*exchange.Exchange{
			newEx("api.segment.io", "/v1/identify", reqJSON(`{"userId":"u_123","traits":{"email":"jane@example.com"}}`)),
		}, finding.DataPolicyViolation, 1},
		{"vendor override allows it", Config{Policy: Policy{Tiers: map[string][]string{"analytics": {"identifier"}},
			Vendors: map[string][]string{"segment": {"identifier", "email"}}}}, []*exchange.Exchange{
			newEx("api.segment.io", "/v1/identify", reqJSON(`{"userId":"u_123","traits":{"email":"jane@example.com"}}`)),
		}, finding.DataPolicyViolation, 0},
		{"own credential always allowed", Config{Policy: Policy{Default: []string{}}}, []*exchange.Exchange{
			newEx("api.openai.com", "/v1/models", header("authorization", "Bearer "+oa)),
		}, finding.DataPolicyViolation, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := New(tt.cfg, testKey, resolver)
			for _, ex := range tt.exs {
				a.Exchange(ex)
			}
			got := findingsOf(a, tt.typ)
			if tt.count == 0 {
				if len(got) != 0 {
					t.Fatalf("%s: got %d findings (%+v); want none", tt.typ, len(got), got[0])
				}
				return
			}
			if len(got) != 1 {
				t.Fatalf("%s: got %d findings (all: %v); want 1", tt.typ, len(got), types(a.Findings()))
			}
			f := got[0]
			if f.Count != tt.count {
				t.Errorf("%s count: got %d; want %d", tt.typ, f.Count, tt.count)
			}
			if len(f.UID) != 32 {
				t.Errorf("%s: uid %q; want 32 hex chars", tt.typ, f.UID)
			}
			if f.Risk <= 0 || f.Severity == finding.SevUnknown || f.Destination == "" || f.FirstSeen.IsZero() {
				t.Errorf("%s: incomplete finding %+v", tt.typ, f)
			}
			if _, ok := f.Evidence["fingerprint"]; !ok {
				t.Errorf("%s: evidence without fingerprint: %v", tt.typ, f.Evidence)
			}
		})
	}
}

func types(fs []finding.Finding) []string {
	var out []string
	for _, f := range fs {
		out = append(out, f.Type)
	}
	return out
}

// TestFindingUIDStable checks that re-running the same traffic gives the
// same ids, so consumers can de-duplicate.
func TestFindingUIDStable(t *testing.T) {
	fk := newFakes(2)
	ex := newEx("api.openai.com", "/v1/models", clear(), query("key="+fk.openai()))
	a, b := New(Config{}, testKey, resolver), New(Config{}, testKey, resolver)
	a.Exchange(ex)
	b.Exchange(ex)
	b.Exchange(ex)
	fa, fb := a.Findings(), b.Findings()
	if len(fa) == 0 || len(fa) != len(fb) {
		t.Fatalf("findings: got %d and %d; want equal and non-zero", len(fa), len(fb))
	}
	for i := range fa {
		if fa[i].UID != fb[i].UID {
			t.Errorf("finding %s: uid %s then %s", fa[i].Type, fa[i].UID, fb[i].UID)
		}
		if fb[i].Count != 2*fa[i].Count {
			t.Errorf("finding %s: count %d after two sightings; want %d", fb[i].Type, fb[i].Count, 2*fa[i].Count)
		}
	}
}

func TestDataFlowsAndRisk(t *testing.T) {
	fk := newFakes(3)
	a := New(Config{}, testKey, resolver)
	a.Exchange(newEx("collector.tracker.example", "/t", clear(), query("email=jane%40example.com")))
	a.Exchange(newEx("collector.tracker.example", "/t", clear(), query("email=jane%40example.com"), at(time.Hour)))
	a.Exchange(newEx("api.segment.io", "/v1/track", reqJSON(`{"userId":"u_1"}`)))
	a.Exchange(newEx("api.github.com", "/user", header("authorization", "token "+fk.github())))

	flows := a.DataFlows()
	byClass := map[string]Flow{}
	for _, f := range flows {
		byClass[f.DataClass] = f
	}
	em := byClass["email"]
	// email: sensitivity 3 × weight 2 × URL 2 × plaintext 1.5 × undeclared 1.5 = 27.
	if em.Count != 2 || !em.Plaintext || em.Risk != 27 || em.Position != "query" || em.Direction != "request" ||
		em.Vendor != "tracker" || !em.FirstSeen.Equal(t0) || !em.LastSeen.Equal(t0.Add(time.Hour)) {
		t.Errorf("email flow: got %+v; want count 2, plaintext, risk 27, query/request, first/last t0/t0+1h", em)
	}
	// user_id: 2 × weight 2, declared, TLS, body = 4.
	if u := byClass["user_id"]; u.Risk != 4 || u.Plaintext || u.Position != "body" {
		t.Errorf("user_id flow: got %+v; want risk 4, not plaintext, body", u)
	}
	if flows[0].DataClass != "email" {
		t.Errorf("DataFlows order: got %s first; want the highest risk (email)", flows[0].DataClass)
	}

	creds := a.Credentials()
	if len(creds) != 1 || creds[0].Type != "github_token" || creds[0].Issuer != "github" ||
		creds[0].Clients != 1 || len(creds[0].Destinations) != 1 || creds[0].Destinations[0] != "api.github.com" {
		t.Errorf("Credentials: got %+v; want one github_token from github to api.github.com, 1 client", creds)
	}

	// The JSON contract: exact field names.
	checkFields(t, flows[0], "destination", "vendor", "data_class", "position", "direction", "count", "risk",
		"plaintext", "first_seen", "last_seen")
	checkFields(t, creds[0], "fingerprint", "type", "issuer", "destinations", "clients", "first_seen", "last_seen")
}

func checkFields(t *testing.T, v any, want ...string) {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	for _, k := range want {
		if _, ok := m[k]; !ok {
			t.Errorf("%T JSON: field %q missing in %s", v, k, b)
		}
	}
	if len(m) != len(want) {
		t.Errorf("%T JSON: got %d fields; want %d (%s)", v, len(m), len(want), b)
	}
}

func TestBounds(t *testing.T) {
	a := New(Config{MaxFlows: 3, MaxCredentials: 2, MaxFindings: 2}, testKey, nil)
	fk := newFakes(4)
	for i := 0; i < 10; i++ {
		a.Exchange(newEx(fmt.Sprintf("h%d.example", i), "/", clear(), query("token="+fk.mixed(32))))
	}
	st := a.Stats()
	if len(a.DataFlows()) != 3 || len(a.Credentials()) != 2 || len(a.Findings()) != 2 {
		t.Errorf("table sizes: got %d flows, %d credentials, %d findings; want 3, 2, 2",
			len(a.DataFlows()), len(a.Credentials()), len(a.Findings()))
	}
	if st.DroppedFlows != 7 || st.DroppedCredentials != 8 || st.DroppedFindings == 0 {
		t.Errorf("Stats: got %+v; want 7 dropped flows, 8 dropped credentials, some dropped findings", st)
	}
}
