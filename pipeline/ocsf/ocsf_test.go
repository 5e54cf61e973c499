package ocsf

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/apitap/apitap/pipeline/ocsf/ocsftest"
	"github.com/apitap/apitap/sensor/finding"
)

var (
	t0  = time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	ids = Identity{VendorName: "apitap", SensorVersion: "0.3.0", Hostname: "web-1", Node: "node-a"}
)

func sampleFinding(typ string) *finding.Finding {
	return &finding.Finding{
		Type:        typ,
		UID:         finding.UID(typ, "svc", "api.stripe.com"),
		Title:       "Undeclared vendor api.stripe.com",
		Severity:    finding.SevHigh,
		Risk:        0.72,
		Source:      "checkout",
		Destination: "api.stripe.com",
		Evidence: map[string]any{
			"credential": "sk_l****abcd", "methods": []string{"GET", "POST"},
			"status": 200, "nested": map[string]any{"quote": "a \"b\"\n", "ok": true},
		},
		FirstSeen: t0,
		LastSeen:  t0.Add(time.Minute),
		Count:     42,
	}
}

func TestEventsMatchSchema(t *testing.T) {
	e := NewEncoder(ids)
	fleet := NewEncoder(Identity{Hostname: "agg", Fleet: true})
	ep := &Endpoint{ID: EndpointID("orders", "GET", "/orders/{id}"), Service: "orders",
		Host: "orders.local", Method: "GET", Template: "/orders/{id}", SpecStatus: "shadow",
		Count: 10, FirstSeen: t0, LastSeen: t0}
	fep := *ep
	fep.Nodes = []NodeState{{Node: "a", SpecStatus: "shadow", Count: 3}, {Node: "b", Count: 7}}
	v := &Vendor{ID: VendorID("api.stripe.com"), Hostname: "api.stripe.com", Vendor: "Stripe",
		Category: "payments", Tier: "1", Declared: true, Count: 5}

	type enc func([]byte) ([]byte, error)
	tests := []struct {
		name     string
		fn       enc
		class    int
		typeUID  int
		activity int
		logName  string
	}{}
	for _, typ := range []string{finding.ShadowAPI, finding.ZombieAPI, finding.UndeclaredVendor,
		finding.UnclassifiedDestination, finding.PlaintextVendor, finding.CredentialInURL,
		finding.JWTWeak, finding.PIIUnauthenticated} {
		for _, act := range []Activity{ActivityCreate, ActivityUpdate, ActivityClose} {
			f := sampleFinding(typ)
			tests = append(tests, struct {
				name     string
				fn       enc
				class    int
				typeUID  int
				activity int
				logName  string
			}{typ + "/" + act.name(), func(b []byte) ([]byte, error) {
				return e.AppendFinding(b, f, act, t0)
			}, 2004, 200400 + int(act), int(act), "apitap.findings"})
		}
	}
	f := sampleFinding(finding.DataPolicyViolation)
	tests = append(tests, []struct {
		name     string
		fn       enc
		class    int
		typeUID  int
		activity int
		logName  string
	}{
		{"data_policy_violation", func(b []byte) ([]byte, error) {
			return e.AppendFinding(b, f, ActivityCreate, t0)
		}, 2006, 200601, 1, "apitap.findings"},
		{"endpoint/create", func(b []byte) ([]byte, error) {
			return e.AppendEndpoint(b, ep, ActivityCreate, t0)
		}, 6003, 600301, 1, "apitap.inventory"},
		{"endpoint/close", func(b []byte) ([]byte, error) {
			return e.AppendEndpoint(b, ep, ActivityClose, t0)
		}, 6003, 600304, 4, "apitap.inventory"},
		{"vendor/update", func(b []byte) ([]byte, error) {
			return e.AppendVendor(b, v, ActivityUpdate, t0)
		}, 6003, 600303, 3, "apitap.inventory"},
		{"fleet endpoint", func(b []byte) ([]byte, error) {
			return fleet.AppendEndpoint(b, &fep, ActivityUpdate, t0)
		}, 6003, 600303, 3, "apitap.fleet.inventory"},
	}...)

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := tt.fn([]byte("prefix"))
			if err != nil {
				t.Fatalf("append: %v", err)
			}
			if !strings.HasPrefix(string(b), "prefix") {
				t.Fatalf("append dropped the existing buffer contents")
			}
			b = b[len("prefix"):]
			if err := ocsftest.Validate(b); err != nil {
				t.Fatalf("schema: %v\n%s", err, b)
			}
			var got struct {
				Class    int `json:"class_uid"`
				TypeUID  int `json:"type_uid"`
				Activity int `json:"activity_id"`
				Time     int64
				Metadata struct {
					Version string `json:"version"`
					LogName string `json:"log_name"`
				}
			}
			if err := json.Unmarshal(b, &got); err != nil {
				t.Fatal(err)
			}
			if got.Class != tt.class || got.TypeUID != tt.typeUID || got.Activity != tt.activity {
				t.Errorf("class/type/activity = %d/%d/%d; want %d/%d/%d", got.Class, got.TypeUID,
					got.Activity, tt.class, tt.typeUID, tt.activity)
			}
			if got.TypeUID != got.Class*100+got.Activity {
				t.Errorf("type_uid %d != class_uid*100+activity_id", got.TypeUID)
			}
			if got.Metadata.LogName != tt.logName {
				t.Errorf("log_name = %q; want %q", got.Metadata.LogName, tt.logName)
			}
		})
	}
}

func TestFindingFields(t *testing.T) {
	f := sampleFinding(finding.ShadowAPI)
	b, err := NewEncoder(ids).AppendFinding(nil, f, ActivityUpdate, t0.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	fi := got["finding_info"].(map[string]any)
	md := got["metadata"].(map[string]any)
	dev := got["device"].(map[string]any)
	checks := []struct {
		name string
		got  any
		want any
	}{
		{"uid", fi["uid"], f.UID},
		{"title", fi["title"], f.Title},
		{"types", fi["types"].([]any)[0], "shadow_api"},
		{"first_seen_time", fi["first_seen_time"], float64(t0.UnixMilli())},
		{"last_seen_time", fi["last_seen_time"], float64(t0.Add(time.Minute).UnixMilli())},
		{"time", got["time"], float64(t0.Add(time.Hour).UnixMilli())},
		{"count", got["count"], float64(42)},
		{"severity_id", got["severity_id"], float64(4)},
		{"severity", got["severity"], "High"},
		{"risk_score", got["risk_score"], float64(72)},
		{"metadata.version", md["version"], "1.5.0"},
		{"product.version", md["product"].(map[string]any)["version"], "0.3.0"},
		{"device.hostname", dev["hostname"], "web-1"},
		{"device.name", dev["name"], "node-a"},
		{"evidence nested", got["evidences"].([]any)[0].(map[string]any)["data"].(map[string]any)["nested"].(map[string]any)["quote"], "a \"b\"\n"},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %v; want %v", c.name, c.got, c.want)
		}
	}

	// The same state encodes to the same bytes (sorted evidence keys) and the
	// same metadata.uid, so duplicates from at-least-once delivery collapse.
	b2, _ := NewEncoder(ids).AppendFinding(nil, f, ActivityUpdate, t0.Add(time.Hour))
	if string(b) != string(b2) {
		t.Errorf("encoding is not deterministic:\n%s\n%s", b, b2)
	}
}

func TestSecretGuard(t *testing.T) {
	tests := []struct {
		name   string
		value  any
		refuse bool
	}{
		{"jwt", "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U", true},
		{"jwt inside text", "token=eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0In0.abc", true},
		{"bearer", "Authorization: Bearer 8f14e45fceea167a5a36dedd4bea2543", true},
		{"basic", "basic dXNlcjpwYXNzd29yZDEyMw==", true},
		{"aws key", "AKIAIOSFODNN7EXAMPLE", true},
		{"stripe", "sk_live_4eC39HqLyjWDarjtT1zdp7dc", true},
		{"github", "ghp_16C7e42F292c6912E7710c838347Ae178B4a", true},
		{"private key", "-----BEGIN RSA PRIVATE KEY-----\nMIIE", true},
		{"nested list", []any{"ok", map[string]any{"k": "AKIAIOSFODNN7EXAMPLE"}}, true},
		{"string slice", []string{"fine", "Bearer abcdefghijklmnopqrstu"}, true},
		{"redacted jwt", "eyJh…(len 143)", false},
		{"masked bearer", "Bearer ****2543", false},
		{"fingerprint", "fp:3a7bd3e2360a3d29eea436fcfb7e44c7", false},
		{"path", "/v1/customers/{id}/charges", false},
		{"short", "Bearer abc", false},
		{"number", 12345, false},
	}
	e := NewEncoder(ids)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := sampleFinding(finding.CredentialPlaintext)
			f.Evidence = map[string]any{"value": tt.value}
			out, err := e.AppendFinding([]byte("x"), f, ActivityCreate, t0)
			if tt.refuse {
				if !errors.Is(err, ErrRawSecret) {
					t.Fatalf("AppendFinding(%v) err = %v; want ErrRawSecret", tt.value, err)
				}
				if string(out) != "x" {
					t.Fatalf("refused event left bytes in the buffer: %q", out)
				}
				return
			}
			if err != nil {
				t.Fatalf("AppendFinding(%v) err = %v; want nil", tt.value, err)
			}
		})
	}
	t.Run("secret in title", func(t *testing.T) {
		f := sampleFinding(finding.CredentialInURL)
		f.Title = "token eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0In0.c2lnbmF0dXJl in URL"
		if _, err := e.AppendFinding(nil, f, ActivityCreate, t0); !errors.Is(err, ErrRawSecret) {
			t.Errorf("AppendFinding with a JWT in the title: err = %v; want ErrRawSecret", err)
		}
	})
	if e.Refused() == 0 {
		t.Errorf("Refused() = 0 after refusals")
	}
}

func TestAppendString(t *testing.T) {
	tests := []struct{ in, want string }{
		{"plain", `"plain"`},
		{"q\"b\\", `"q\"b\\"`},
		{"\x00\x1f\t", `"\u0000\u001f\t"`},
		{"caf\xc3\xa9", `"café"`},
		{"bad\xffutf", `"bad` + "\ufffd" + `utf"`},
		{"ls\u2028", `"ls\u2028"`},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			if got := string(appendString(nil, tt.in)); got != tt.want {
				t.Errorf("appendString(%q) = %s; want %s", tt.in, got, tt.want)
			}
		})
	}
}

func FuzzAppendString(f *testing.F) {
	for _, s := range []string{"", "a\"b", "\x00", "\xff\xfe", "é\u2028", "\\u0000"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		b := appendString(nil, s)
		var got string
		if err := json.Unmarshal(b, &got); err != nil {
			t.Fatalf("appendString(%q) = %s: not JSON: %v", s, b, err)
		}
		// Each invalid byte becomes one U+FFFD.
		var want strings.Builder
		for i := 0; i < len(s); {
			r, n := utf8.DecodeRuneInString(s[i:])
			want.WriteRune(r)
			i += n
		}
		if got != want.String() {
			t.Fatalf("round trip of %q = %q; want %q", s, got, want.String())
		}
	})
}

func TestLifecycle(t *testing.T) {
	l := NewLifecycle(2)
	steps := []struct {
		op   string
		uid  string
		want Activity
	}{
		{"next", "a", ActivityCreate}, {"next", "a", ActivityUpdate}, {"close", "a", ActivityClose},
		{"next", "a", ActivityCreate}, {"next", "b", ActivityCreate}, {"next", "c", ActivityCreate},
		{"next", "c", ActivityUpdate},
	}
	for i, s := range steps {
		var got Activity
		if s.op == "next" {
			got = l.Next(s.uid)
		} else {
			got = l.Close(s.uid)
		}
		if got != s.want {
			t.Errorf("step %d %s(%q) = %v; want %v", i, s.op, s.uid, got, s.want)
		}
	}
}

func TestAppendFindingAllocs(t *testing.T) {
	if testing.Short() {
		t.Skip("allocation counts are checked in the full run")
	}
	e := NewEncoder(ids)
	f := sampleFinding(finding.ShadowAPI)
	f.Evidence = map[string]any{"method": "GET", "template": "/a/{id}", "count": 3}
	buf := make([]byte, 0, 4096)
	allocs := testing.AllocsPerRun(200, func() {
		buf, _ = e.AppendFinding(buf[:0], f, ActivityUpdate, t0)
	})
	// fnv.New64a escapes once per event; everything else appends into buf.
	if allocs > 1 {
		t.Errorf("AppendFinding allocs = %v; want <= 1", allocs)
	}
}

func BenchmarkAppendFinding(b *testing.B) {
	e := NewEncoder(ids)
	f := sampleFinding(finding.ShadowAPI)
	buf, _ := e.AppendFinding(nil, f, ActivityUpdate, t0)
	b.SetBytes(int64(len(buf)))
	b.ReportAllocs()
	for b.Loop() {
		buf, _ = e.AppendFinding(buf[:0], f, ActivityUpdate, t0)
	}
}
