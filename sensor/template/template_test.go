package template

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

func TestClassify(t *testing.T) {
	tests := []struct {
		seg        string
		versionPos bool
		want       Kind
	}{
		{"4711", false, KindInteger},
		{"0", false, KindInteger},
		{"9f0c6b1e-2c3d-4e5f-8a9b-0c1d2e3f4a5b", false, KindUUID},
		{"9F0C6B1E2C3D4E5F8A9B0C1D2E3F4A5B", false, KindUUID},
		{"507f1f77bcf86cd799439011", false, KindObjectID},
		{"deadbeef01", false, KindHex},
		{"01ARZ3NDEKTSV4RRFFQ69G5FAV", false, KindToken},      // ULID
		{"0ujsswThIGTUYm2K8FjOOfXtY1K", false, KindToken},     // KSUID
		{"cus_N8f3kd9QpZx2LmT7", false, KindToken},            // prefixed id
		{"dGhpcyBpcyBhIHRva2VuIHZhbHVl-_x", false, KindToken}, // base64url
		{"eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl", false, KindJWT},
		{"alice@example.com", false, KindEmail},
		{"alice%40example.com", false, KindEmail},
		{"+4930123456789", false, KindPhone},
		{"4111111111111111", false, KindCard},
		{"4111111111111112", false, KindInteger}, // fails Luhn
		{"2024-01-31", false, KindDate},
		{"2024-01-31", true, KindLiteral},
		{"abc123", false, KindString},
		{"sess_JwhWRlRwNcNDNGwtSpHamdSo", false, KindToken}, // base62 without digits
		{"getUserProfileSettings", false, KindLiteral},
		{"my-first-post-2024", false, KindLiteral},
		{"Senseo-Classic-16-antal-p", false, KindLiteral},
		{"tok_a8Fk2LmQ9zXw3RtY7uIo1PqS", false, KindToken},
		{"4701-e14d0481c8fbe8a42795abb879cda2d2", false, KindToken},
		{"9b161be3783e1f509b747facd21e1d33af3117c6.jpg", false, KindHex},
		{"42.json", false, KindInteger},
		{"John%20Doe", false, KindString},
		{"customers", false, KindLiteral},
		{"line-items", false, KindLiteral},
		{"api", false, KindLiteral},
		{"v1", false, KindLiteral},
		{"v2beta1", false, KindLiteral},
		{"1.2", false, KindLiteral},
		{"report.csv", false, KindLiteral},
		{"openapi.json", false, KindLiteral},
		{"oauth2", false, KindLiteral},
		{"getUserProfile", false, KindLiteral},
		{"alice", false, KindLiteral},
		{"my-first-blog-post", false, KindLiteral},
	}
	for _, tt := range tests {
		t.Run(tt.seg, func(t *testing.T) {
			if got := Classify(tt.seg, tt.versionPos); got != tt.want {
				t.Errorf("Classify(%q, %v) = %v; want %v", tt.seg, tt.versionPos, got, tt.want)
			}
		})
	}
}

func TestTemplate(t *testing.T) {
	tests := []struct {
		path, want string
		types      []string
	}{
		{"/api/v2/customers/4711/invoices/9f0c6b1e-2c3d-4e5f-8a9b-0c1d2e3f4a5b",
			"/api/v2/customers/{customerId}/invoices/{invoiceId}", []string{"integer", "uuid"}},
		{"/users/42/addresses/7", "/users/{userId}/addresses/{addressId}",
			[]string{"integer", "integer"}},
		{"/categories/12", "/categories/{categoryId}", []string{"integer"}},
		{"/VA/AUTH-ROOT/0a1b2c3d4e5f", "/VA/AUTH-ROOT/{authRootId}", []string{"hex"}},
		{"/42/7", "/{id}/{id2}", []string{"integer", "integer"}},
		{"/2024-01-01/charges", "/2024-01-01/charges", nil},
		{"/api/2024-01-01/charges", "/api/2024-01-01/charges", nil},
		{"/events/2024-01-01", "/events/{date}", []string{"date"}},
		{"/files/report.csv", "/files/report.csv", nil},
		{"/users/me", "/users/me", nil},
		{"/", "/", nil},
		{"", "/", nil},
		{"/health/", "/health/", nil},
		{"/users/alice@example.com", "/users/{userId}", []string{"email"}},
	}
	tp := NewTemplater()
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			s := tp.Template(tt.path, nil)
			if s.Template != tt.want {
				t.Errorf("Template(%q) = %q; want %q", tt.path, s.Template, tt.want)
			}
			var types []string
			for _, p := range s.Params {
				types = append(types, p.Type)
			}
			if fmt.Sprint(types) != fmt.Sprint(tt.types) {
				t.Errorf("Template(%q) types = %v; want %v", tt.path, types, tt.types)
			}
		})
	}
	if s := tp.Template("/users/alice@example.com", nil); !s.Sensitive {
		t.Errorf("email in path: Sensitive = false; want true")
	}
}

func TestRouter(t *testing.T) {
	r := NewRouter()
	r.Add("/users/{id}", map[string]string{"id": "integer"})
	r.Add("/users/me", nil)
	r.Add("/users/{id}/orders/{orderId}", nil)
	r.Add("/files/{name}.json", nil)
	r.Add("/a/{x}/c", nil)
	r.Add("/a/b/{y}", nil)
	tests := []struct{ path, want string }{
		{"/users/42", "/users/{id}"},
		{"/users/me", "/users/me"},
		{"/users/me/", "/users/me"},
		{"/users/42/orders/9", "/users/{id}/orders/{orderId}"},
		{"/files/x.json", "/files/{name}.json"},
		{"/files/x.xml", ""},
		{"/a/b/c", "/a/b/{y}"}, // literal beats parameter at the first difference
		{"/users", ""},
		{"/users/42/orders", ""},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			got := ""
			if s := r.Match(tt.path); s != nil {
				got = s.Template
			}
			if got != tt.want {
				t.Errorf("Match(%q) = %q; want %q", tt.path, got, tt.want)
			}
		})
	}
	if got := r.Match("/users/1").Params[0].Type; got != "integer" {
		t.Errorf("param type = %q; want integer", got)
	}
	// The spec layer wins over typing in Templater.Template.
	if got := NewTemplater().Template("/users/me", r); !got.FromSpec {
		t.Errorf("Template with router: FromSpec = false; want true")
	}
}

// observeAll feeds paths through layers 2 and 3 the way the inventory does
// and returns the final template of each path.
func observeAll(c *Collapser, paths []string, hits map[string]int64) map[string]string {
	tp := NewTemplater()
	seen := map[string]bool{}
	for _, p := range paths {
		tmpl := c.Apply(tp.Template(p, nil).Template)
		if !seen[tmpl] {
			seen[tmpl] = true
			c.Observe(tmpl, func(s string) int64 { return hits[s] })
		}
	}
	out := map[string]string{}
	for _, p := range paths {
		out[p] = c.Apply(tp.Template(p, nil).Template)
	}
	return out
}

func TestCollapse(t *testing.T) {
	names := []string{"alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi", "ivan"}
	t.Run("siblings collapse at threshold", func(t *testing.T) {
		var paths []string
		for _, n := range names {
			paths = append(paths, "/users/"+n+"/profile")
		}
		got := observeAll(NewCollapser(CollapseConfig{}, nil), paths, nil)
		if g := got["/users/ivan/profile"]; g != "/users/{user}/profile" {
			t.Errorf("got %q; want /users/{user}/profile", g)
		}
	})
	t.Run("collections never collapse", func(t *testing.T) {
		// Ten collections, each also fetched by id: a REST API with many
		// resources, not one parameter.
		resources := []string{"customers", "orders", "invoices", "products", "users",
			"accounts", "shipments", "payments", "carts", "reviews"}
		var paths []string
		for i, r := range resources {
			paths = append(paths, fmt.Sprintf("/api/v2/%s/%d", r, 4711+i), "/api/v2/"+r)
		}
		c := NewCollapser(CollapseConfig{}, nil)
		got := observeAll(c, paths, nil)
		for _, r := range resources {
			if g := got["/api/v2/"+r]; g != "/api/v2/"+r {
				t.Errorf("/api/v2/%s became %q; want it kept", r, g)
			}
		}
		if len(c.Rules()) != 0 {
			t.Errorf("rules %+v; want none", c.Rules())
		}
	})
	t.Run("a collection known late is taken out of the rule", func(t *testing.T) {
		// Seven names and a collection fill the group; once the
		// collection's id path shows what it is, the rule passes it by.
		var paths []string
		for _, n := range names[:7] {
			paths = append(paths, "/teams/"+n)
		}
		paths = append(paths, "/teams/projects", "/teams/projects/4711", "/teams/"+names[7])
		got := observeAll(NewCollapser(CollapseConfig{}, nil), paths, nil)
		if g := got["/teams/projects"]; g != "/teams/projects" {
			t.Errorf("/teams/projects became %q; want it kept", g)
		}
		if g := got["/teams/"+names[7]]; g != "/teams/{team}" {
			t.Errorf("/teams/%s became %q; want /teams/{team}", names[7], g)
		}
	})
	t.Run("below threshold stays literal", func(t *testing.T) {
		var paths []string
		for _, n := range names[:7] {
			paths = append(paths, "/users/"+n+"/profile")
		}
		got := observeAll(NewCollapser(CollapseConfig{}, nil), paths, nil)
		if g := got["/users/alice/profile"]; g != "/users/alice/profile" {
			t.Errorf("got %q; want /users/alice/profile", g)
		}
	})
	t.Run("different suffixes do not merge", func(t *testing.T) {
		var paths []string
		for i, n := range names {
			paths = append(paths, fmt.Sprintf("/users/%s/s%c", n, 'a'+i))
		}
		got := observeAll(NewCollapser(CollapseConfig{}, nil), paths, nil)
		if g := got["/users/alice/sa"]; g != "/users/alice/sa" {
			t.Errorf("got %q; want literal", g)
		}
	})
	t.Run("users/me kept when frequent and reserved", func(t *testing.T) {
		paths := []string{"/users/me", "/users/root"}
		hits := map[string]int64{"/users/root": 50}
		for _, n := range names {
			paths = append(paths, "/users/"+n)
			hits["/users/"+n] = 1
		}
		got := observeAll(NewCollapser(CollapseConfig{}, nil), paths, hits)
		if g := got["/users/me"]; g != "/users/me" {
			t.Errorf("/users/me → %q; want kept", g)
		}
		if g := got["/users/root"]; g != "/users/root" {
			t.Errorf("/users/root (frequent) → %q; want kept", g)
		}
		if g := got["/users/bob"]; g != "/users/{user}" {
			t.Errorf("/users/bob → %q; want /users/{user}", g)
		}
	})
	t.Run("versions never merge", func(t *testing.T) {
		var paths []string
		for i := 1; i <= 12; i++ {
			paths = append(paths, fmt.Sprintf("/api/v%d/items", i))
		}
		got := observeAll(NewCollapser(CollapseConfig{}, nil), paths, nil)
		if g := got["/api/v1/items"]; g != "/api/v1/items" {
			t.Errorf("got %q; want /api/v1/items", g)
		}
	})
	t.Run("file names never merge", func(t *testing.T) {
		var paths []string
		for _, n := range names {
			paths = append(paths, "/files/"+n+".csv")
		}
		got := observeAll(NewCollapser(CollapseConfig{}, nil), paths, nil)
		if g := got["/files/alice.csv"]; g != "/files/alice.csv" {
			t.Errorf("got %q; want /files/alice.csv", g)
		}
	})
	t.Run("documented literals never merge", func(t *testing.T) {
		r := NewRouter()
		r.Add("/teams/alice", nil)
		var paths []string
		for _, n := range names {
			paths = append(paths, "/teams/"+n)
		}
		c := NewCollapser(CollapseConfig{Threshold: 8}, r)
		got := observeAll(c, paths, nil)
		if g := got["/teams/alice"]; g != "/teams/alice" {
			t.Errorf("documented /teams/alice → %q; want kept", g)
		}
		if g := got["/teams/ivan"]; g != "/teams/{team}" {
			t.Errorf("/teams/ivan → %q; want /teams/{team}", g)
		}
	})
}

func TestTemplateAllocs(t *testing.T) {
	if testing.Short() {
		t.Skip("allocation count is checked in full runs")
	}
	tp := NewTemplater()
	r := NewRouter()
	r.Add("/orders/{id}", nil)
	paths := []string{
		"/api/v2/customers/4711/invoices/9f0c6b1e-2c3d-4e5f-8a9b-0c1d2e3f4a5b",
		"/users/alice/profile", "/orders/17",
	}
	for _, p := range paths {
		tp.Template(p, r)
		if n := testing.AllocsPerRun(100, func() { tp.Template(p, r) }); n != 0 {
			t.Errorf("Template(%q) allocs = %v; want 0", p, n)
		}
	}
}

func BenchmarkTemplate(b *testing.B) {
	tp := NewTemplater()
	paths := []string{
		"/api/v2/customers/4711/invoices/9f0c6b1e-2c3d-4e5f-8a9b-0c1d2e3f4a5b",
		"/users/alice/profile",
		"/static/js/app.3f9a1c.js",
		"/v1/orders/507f1f77bcf86cd799439011/items/12",
	}
	var total int
	for _, p := range paths {
		total += len(p)
	}
	b.SetBytes(int64(total))
	b.ReportAllocs()
	for b.Loop() {
		for _, p := range paths {
			tp.Template(p, nil)
		}
	}
}

// TestInternKeepsShapesApart runs many generated paths through one
// Templater and checks each against a fresh one: the intern key must tell
// apart every two paths whose shapes differ.
func TestInternKeepsShapesApart(t *testing.T) {
	parts := []string{"api", "v1", "v2beta1", "users", "42", "4711", "me", "", "2024-01-31",
		"9f0c6b1e-2c3d-4e5f-8a9b-0c1d2e3f4a5b", "507f1f77bcf86cd799439011", "deadbeef",
		"a@b.io", "report.csv", "x%20y", "ABCdefGHIjklMNOpq", "01ARZ3NDEKTSV4RRFFQ69G5FAV",
		"{id}", "\x01", "{"}
	r := rand.New(rand.NewPCG(7, 8))
	shared := NewTemplater()
	for range 20000 {
		var b strings.Builder
		for range r.IntN(6) {
			b.WriteByte('/')
			b.WriteString(parts[r.IntN(len(parts))])
		}
		if r.IntN(4) == 0 {
			b.WriteByte('/')
		}
		path := b.String()
		got, want := shared.Template(path, nil), NewTemplater().Template(path, nil)
		if got.Template != want.Template || !slices.Equal(got.Params, want.Params) {
			t.Fatalf("Template(%q) = %q %v after other paths; want %q %v", path,
				got.Template, got.Params, want.Template, want.Params)
		}
	}
}

func TestRedact(t *testing.T) {
	tp := NewTemplater()
	for _, tt := range []struct{ path, want string }{
		{"/users/4711/orders/2024-01-31", "/users/4711/orders/2024-01-31"},
		{"/users/alice@example.com/cards/4111111111111111", "/users/{userId}/cards/{cardId}"},
		{"/reset/01ARZ3NDEKTSV4RRFFQ69G5FAV", "/reset/{resetId}"},
		{"/keys/3f2504e0-4f89-11d3-9a0c-0305e82c3301/", "/keys/{keyId}/"},
		{"/api/v1/health", "/api/v1/health"},
	} {
		if got := Redact(tt.path, tp.Template(tt.path, nil)); got != tt.want {
			t.Errorf("Redact(%q) = %q; want %q", tt.path, got, tt.want)
		}
	}
	// A shape that does not line up with the path gives the template.
	s := tp.Template("/a/4711/b", nil)
	if got := Redact("/a/4711", s); got != s.Template {
		t.Errorf("Redact with a mismatched shape = %q; want %q", got, s.Template)
	}
	p := "/users/4711/orders/17"
	if n := testing.AllocsPerRun(100, func() { Redact(p, tp.Template(p, nil)) }); n != 0 {
		t.Errorf("Redact of a path with nothing to hide: %v allocations; want 0", n)
	}
}

func TestNameOrKind(t *testing.T) {
	for _, tt := range []struct{ name, want string }{
		{"page", "page"}, {"includeDeletedRecords", "includeDeletedRecords"},
		{"XMLHttpRequest", "XMLHttpRequest"}, {"fields[]", "fields[]"}, {"sha256", "sha256"},
		{"line1", "line1"}, {"4711", "4711"},
		{"qTTEoTOjgrPZpiGCNabcdefg", "{token}"}, {"abc123secret", "{string}"},
		{"bob@example.com", "{email}"}, {"3f2a9c8b7d6e5f4a9b8c", "{hex}"},
	} {
		if got := NameOrKind(tt.name); got != tt.want {
			t.Errorf("NameOrKind(%q) = %q; want %q", tt.name, got, tt.want)
		}
	}
}
