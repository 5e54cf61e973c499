package vendor

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

func TestDefaultCatalogSchema(t *testing.T) {
	vs, err := ParseVendors("catalog.yaml", catalogYAML)
	if err != nil {
		t.Fatalf("ParseVendors(catalog.yaml): %v", err)
	}
	if _, err := NewCatalog(vs); err != nil {
		t.Fatalf("NewCatalog(catalog.yaml): %v", err)
	}
	if len(vs) < 300 {
		t.Errorf("catalog has %d vendors; want at least 300", len(vs))
	}
	seen := make(map[Category]int)
	for _, v := range vs {
		seen[v.Category]++
	}
	for _, c := range Categories {
		if seen[c] == 0 {
			t.Errorf("category %q has no vendor", c)
		}
	}
}

func TestMatch(t *testing.T) {
	c := Default()
	tests := []struct {
		host, want string // want is a vendor id, "" for none
	}{
		{"o123.ingest.sentry.io", "sentry"},
		{"o450.ingest.us.sentry.io", "sentry"},
		{"sentry.io", "sentry"},
		{"api.openai.com", "openai"},
		{"API.OpenAI.com.", "openai"},
		{"openai.com", "openai"},
		{"evilopenai.com", ""},
		{"openai.com.evil.net", ""},
		{"api.mixpanel.com", "mixpanel"},
		{"api-js.mixpanel.com", "mixpanel"},
		{"generativelanguage.googleapis.com", "google-gemini"},
		{"storage.googleapis.com", "google-cloud-storage"},
		{"pubsub.googleapis.com", "google-cloud"},
		{"acct.blob.core.windows.net", "azure-storage"},
		{"blob.core.windows.net", "azure"}, // "*." needs a label in front
		{"myres.openai.azure.com", "azure-openai"},
		{"login.microsoftonline.com", "microsoft-entra"},
		{"cognito-identity.us-east-1.amazonaws.com", "aws-cognito"},
		{"sts.us-east-1.amazonaws.com", "aws"},
		{"hooks.slack.com", "slack-webhooks"},
		{"api.stripe.com", "stripe"},
		{"googleads.g.doubleclick.net", "google-ads"},
		{"stats.g.doubleclick.net", "doubleclick"},
		{"myapp.herokuapp.com", ""}, // a customer's app, not Heroku
		{"ec2-1-2-3-4.compute-1.amazonaws.com", ""},
		{"com", ""},
		{"", ""},
		{".", ""},
		{"localhost", ""},
		{"1.2.3.4", ""},
	}
	for _, tt := range tests {
		t.Run(tt.host, func(t *testing.T) {
			got := ""
			if v := c.Match(tt.host); v != nil {
				got = v.ID
			}
			if got != tt.want {
				t.Errorf("Match(%q) = %q; want %q", tt.host, got, tt.want)
			}
		})
	}
}

func TestHostedOn(t *testing.T) {
	c := Default()
	tests := []struct{ host, want string }{
		{"myapp.herokuapp.com", "heroku"},
		{"user.github.io", "github"},
		{"abc.ngrok-free.app", "ngrok"},
		{"api.github.com", ""},
		{"unknown.example", ""},
	}
	for _, tt := range tests {
		t.Run(tt.host, func(t *testing.T) {
			got := ""
			if v := c.HostedOn(tt.host); v != nil {
				got = v.ID
			}
			if got != tt.want {
				t.Errorf("HostedOn(%q) = %q; want %q", tt.host, got, tt.want)
			}
		})
	}
}

func TestMatchAllocs(t *testing.T) {
	if testing.Short() {
		t.Skip("allocation counts are checked in full runs")
	}
	c := Default()
	n := testing.AllocsPerRun(100, func() {
		c.Match("o123.ingest.sentry.io")
		c.Match("unknown.host.example.org")
	})
	if n != 0 {
		t.Errorf("Match allocates %.1f times per call; want 0", n)
	}
}

func TestNewCatalogRejects(t *testing.T) {
	ok := Vendor{ID: "a", Name: "A", Category: CatAI, Tier: TierLimited, Domains: []string{"a.com"}}
	with := func(f func(v *Vendor)) []Vendor {
		v := ok
		v.Domains = append([]string{}, ok.Domains...)
		f(&v)
		return []Vendor{v}
	}
	tests := []struct {
		name    string
		vendors []Vendor
		wantErr string
	}{
		{"bad id", with(func(v *Vendor) { v.ID = "A B" }), "id must be"},
		{"no name", with(func(v *Vendor) { v.Name = " " }), "name is empty"},
		{"bad category", with(func(v *Vendor) { v.Category = "toys" }), "unknown category"},
		{"no tier", with(func(v *Vendor) { v.Tier = TierUnknown }), "tier must be"},
		{"no domains", with(func(v *Vendor) { v.Domains = nil }), "no domains"},
		{"upper-case domain", with(func(v *Vendor) { v.Domains = []string{"A.com"} }), "invalid domain"},
		{"single label", with(func(v *Vendor) { v.Domains = []string{"com"} }), "invalid domain"},
		{"path in domain", with(func(v *Vendor) { v.Domains = []string{"a.com/x"} }), "invalid domain"},
		{"covered domain", with(func(v *Vendor) { v.Domains = []string{"a.com", "api.a.com"} }),
			"already covered"},
		{"bad credential", with(func(v *Vendor) { v.Credentials = []string{"Bad Key"} }),
			"invalid credential"},
		{"duplicate id", []Vendor{ok, ok}, "id also used"},
		{"duplicate domain", []Vendor{ok, {ID: "b", Name: "B", Category: CatAI, Tier: TierLimited,
			Domains: []string{"a.com"}}}, "also belongs to"},
		{"wildcard under plain", []Vendor{ok, {ID: "b", Name: "B", Category: CatAI,
			Tier: TierLimited, Domains: []string{"*.a.com"}}}, "also belong to"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewCatalog(tt.vendors)
			if err == nil || !errors.Is(err, ErrInvalidCatalog) ||
				!strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("NewCatalog() error = %v; want ErrInvalidCatalog containing %q",
					err, tt.wantErr)
			}
		})
	}
	good := []Vendor{ok, {ID: "b", Name: "B", Category: CatAI, Tier: TierLimited,
		Domains: []string{"*.b.com", "api.a.com"}, Credentials: []string{"jwt:login.b.com", "b_key"}}}
	c, err := NewCatalog(good)
	if err != nil {
		t.Fatalf("NewCatalog(valid) error = %v", err)
	}
	for host, want := range map[string]string{"x.a.com": "a", "api.a.com": "b", "v1.api.a.com": "b",
		"b.com": "", "x.b.com": "b"} {
		got := ""
		if v := c.Match(host); v != nil {
			got = v.ID
		}
		if got != want {
			t.Errorf("Match(%q) = %q; want %q", host, got, want)
		}
	}
}

func TestMerge(t *testing.T) {
	base := Default()
	over, err := ParseVendors("overrides.yaml", []byte(`
- id: sentry
  name: Sentry (self-hosted relay)
  category: observability
  tier: trusted
  domains: [sentry.io]
- id: acme-ml
  name: Acme ML
  category: ai
  tier: limited
  domains: [api.openai.com, acme-ml.example]
`))
	if err != nil {
		t.Fatalf("ParseVendors: %v", err)
	}
	m, err := base.Merge(over)
	if err != nil {
		t.Fatalf("Merge: %v", err)
	}
	if got := m.Match("o1.ingest.sentry.io"); got == nil || got.Tier != TierTrusted {
		t.Errorf("Match(sentry) after override = %+v; want tier trusted", got)
	}
	if got := m.Match("sentry-cdn.com"); got != nil {
		t.Errorf("Match(sentry-cdn.com) after override = %q; want nil (domains replaced)", got.ID)
	}
	if got := m.Match("api.openai.com"); got == nil || got.ID != "acme-ml" {
		t.Errorf("Match(api.openai.com) = %v; want acme-ml (re-homed by override)", got)
	}
	if got := m.Match("chat.openai.com"); got == nil || got.ID != "openai" {
		t.Errorf("Match(chat.openai.com) = %v; want openai", got)
	}
	if m.Len() != base.Len()+1 {
		t.Errorf("merged Len = %d; want %d", m.Len(), base.Len()+1)
	}
	if got := base.Match("api.openai.com"); got == nil || got.ID != "openai" {
		t.Errorf("base catalog changed by Merge: Match(api.openai.com) = %v", got)
	}

	_, err = base.Merge([]Vendor{{ID: "x", Name: "X", Category: "nope", Tier: TierMinimal,
		Domains: []string{"x.example"}}})
	if err == nil {
		t.Errorf("Merge(invalid category) error = nil; want error")
	}
	_, err = ParseVendors("o.yaml", []byte("- id: x\n  colour: red\n"))
	if err == nil || !strings.Contains(err.Error(), "line 2") {
		t.Errorf("ParseVendors(unknown key) error = %v; want one naming line 2", err)
	}
}

func TestTier(t *testing.T) {
	tests := []struct {
		in     string
		want   Tier
		weight float64
	}{
		{"critical", TierCritical, 0.25},
		{"1", TierCritical, 0.25},
		{"trusted", TierTrusted, 0.5},
		{"limited", TierLimited, 0.75},
		{"minimal", TierMinimal, 1},
		{"4", TierMinimal, 1},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseTier(tt.in)
			if err != nil || got != tt.want || got.Weight() != tt.weight {
				t.Errorf("ParseTier(%q) = %v (weight %v), %v; want %v (weight %v)",
					tt.in, got, got.Weight(), err, tt.want, tt.weight)
			}
		})
	}
	if _, err := ParseTier("gold"); err == nil {
		t.Errorf("ParseTier(gold) error = nil; want error")
	}
	if TierUnknown.Weight() != 1 {
		t.Errorf("TierUnknown.Weight() = %v; want 1", TierUnknown.Weight())
	}
}

func TestSearchAndTable(t *testing.T) {
	tests := []struct {
		query  string
		wantID string
	}{
		{"mixpanel", "mixpanel"},
		{"ANTHROPIC", "anthropic"},
		{"ingest.io", "logrocket"}, // by domain lr-ingest.io
		{"session_replay", "fullstory"},
		{"herokuapp", "heroku"}, // hosting domains are searchable
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			got := Search(tt.query)
			if !slices.ContainsFunc(got, func(v Vendor) bool { return v.ID == tt.wantID }) {
				t.Errorf("Search(%q) = %d vendors without %q", tt.query, len(got), tt.wantID)
			}
		})
	}
	if n := len(Search("")); n != Default().Len() {
		t.Errorf("len(Search(\"\")) = %d; want %d", n, Default().Len())
	}
	if n := len(Search("no-such-vendor-zzz")); n != 0 {
		t.Errorf("len(Search(no match)) = %d; want 0", n)
	}

	var b strings.Builder
	if err := WriteTable(&b, Search("stripe")); err != nil {
		t.Fatalf("WriteTable: %v", err)
	}
	lines := strings.Split(strings.TrimSpace(b.String()), "\n")
	if len(lines) < 2 || !strings.HasPrefix(lines[0], "ID ") {
		t.Fatalf("WriteTable output:\n%s\nwant a header and rows", b.String())
	}
	col := strings.Index(lines[0], "CATEGORY")
	for _, l := range lines[1:] {
		if len(l) <= col || l[col-1] != ' ' || l[col] == ' ' {
			t.Errorf("row %q: CATEGORY column not aligned at %d", l, col)
		}
	}
}

func BenchmarkMatch(b *testing.B) {
	c := Default()
	hosts := []string{"o123.ingest.sentry.io", "api.openai.com", "unknown.host.example.org",
		"acct.blob.core.windows.net", "www.google.com", "a.b.c.d.e.f.example.net"}
	b.ReportAllocs()
	for b.Loop() {
		for _, h := range hosts {
			c.Match(h)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(hosts)), "ns/host")
}
