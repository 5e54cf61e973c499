package spec

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestLoad30(t *testing.T) {
	sp, err := LoadFile("testdata/shop-3.0.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := len(sp.Ops), 5; got != want {
		t.Fatalf("ops = %d; want %d", got, want)
	}
	set := NewSet()
	set.Add(sp)
	sv := set.For("shop.example.com", "10.0.0.1", 8080)
	if sv == nil {
		t.Fatal("For(shop.example.com:8080) = nil; want the shop service")
	}
	if set.For("shop.example.com", "10.0.0.1", 9090) != nil {
		t.Error("For(shop.example.com:9090) != nil; want nil (other port)")
	}
	if set.For("other.example.com", "10.0.0.1", 8080) != nil {
		t.Error("For(other.example.com) != nil; want nil")
	}

	tests := []struct {
		method, path, tmpl string
		deprecated, auth   bool
		query              []string
	}{
		{"GET", "/api/customers", "/api/customers", false, true, []string{"cursor", "limit"}},
		{"GET", "/api/customers/42", "/api/customers/{customerId}", false, true, nil},
		{"DELETE", "/api/customers/42", "/api/customers/{customerId}", true, true, nil},
		{"GET", "/api/customers/me", "/api/customers/me", false, true, nil},
		{"GET", "/api/health", "/api/health", false, false, nil},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.path, func(t *testing.T) {
			s := sv.Router.Match(tt.path)
			if s == nil || s.Template != tt.tmpl {
				t.Fatalf("Match(%q) = %v; want %q", tt.path, s, tt.tmpl)
			}
			op := sv.Operation(tt.method, s.Template)
			if op == nil {
				t.Fatalf("Operation(%s %s) = nil", tt.method, s.Template)
			}
			if op.Deprecated != tt.deprecated || op.AuthRequired != tt.auth {
				t.Errorf("deprecated, auth = %v, %v; want %v, %v",
					op.Deprecated, op.AuthRequired, tt.deprecated, tt.auth)
			}
			if fmt.Sprint(op.QueryParams) != fmt.Sprint(tt.query) && len(tt.query) > 0 {
				t.Errorf("query = %v; want %v", op.QueryParams, tt.query)
			}
		})
	}
	op := sv.Operation("GET", "/api/customers")
	if !op.DocumentsStatus(404) || !op.DocumentsStatus(200) || op.DocumentsStatus(500) {
		t.Errorf("statuses %v: want 200 and 4XX documented, 500 not", op.Statuses)
	}
	if !sv.Operation("GET", "/api/health").DocumentsStatus(503) {
		t.Error("default response must document every status")
	}
	if got := sv.Router.Match("/api/customers/42").Params[0].Type; got != "integer" {
		t.Errorf("customerId type = %q; want integer", got)
	}
}

func TestLoad31(t *testing.T) {
	sp, err := LoadFile("testdata/notes-3.1.json")
	if err != nil {
		t.Fatal(err)
	}
	if sp.Version != "3.1.0" || len(sp.Ops) != 2 {
		t.Fatalf("version %q, %d ops; want 3.1.0, 2", sp.Version, len(sp.Ops))
	}
	set := NewSet()
	set.Add(sp)
	// No absolute server: covers every service.
	sv := set.For("anything.local", "192.0.2.1", 80)
	if sv == nil {
		t.Fatal("relative spec must cover every service")
	}
	s := sv.Router.Match("/notes/9f0c6b1e-2c3d-4e5f-8a9b-0c1d2e3f4a5b")
	if s == nil || s.Params[0].Type != "uuid" {
		t.Fatalf("Match = %+v; want noteId of type uuid", s)
	}
	put := sv.Operation("PUT", "/notes/{noteId}")
	if put == nil || !put.AuthRequired || !put.DocumentsRequestType("application/json") {
		t.Errorf("PUT = %+v; want auth required and a JSON body", put)
	}
	if get := sv.Operation("GET", "/notes/{noteId}"); get.AuthRequired {
		t.Error("GET has no security; AuthRequired = true")
	}
}

func TestTolerant31(t *testing.T) {
	// A 3.1 document that kin-openapi rejects (an invalid schema type)
	// still yields its operations through the tolerant reader.
	doc := `openapi: 3.1.0
info: {title: T, version: "1"}
paths:
  /a/{id}:
    get:
      deprecated: true
      parameters:
        - {name: id, in: path, required: true, schema: {type: integer}}
        - {name: q, in: query, schema: {type: notatype}}
      responses:
        "200": {description: ok}
`
	sp, err := Parse("odd.yaml", []byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	if !sp.Tolerant {
		t.Skip("kin-openapi accepted the document; the fallback is not exercised")
	}
	if len(sp.Ops) != 1 || !sp.Ops[0].Deprecated || sp.Ops[0].QueryParams[0] != "q" {
		t.Errorf("ops = %+v; want one deprecated op with query q", sp.Ops)
	}
}

func TestLoadErrors(t *testing.T) {
	set, err := Load("testdata/shop-3.0.yaml", "testdata/broken.yaml",
		"testdata/noversion.yaml", "testdata/missing.yaml")
	if err == nil {
		t.Fatal("Load with bad files: err = nil")
	}
	for _, want := range []string{"broken.yaml", "noversion.yaml", "missing.yaml",
		"openapi version"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
	if len(set.Specs()) != 1 {
		t.Errorf("good specs = %d; want 1 (the others keep working)", len(set.Specs()))
	}
	empty := []byte("openapi: 3.0.3\ninfo: {title: e, version: '1'}\npaths: {}\n")
	if _, err := Parse("empty.yaml", empty); !errors.Is(err, ErrNoPaths) {
		t.Errorf("empty paths: err = %v; want ErrNoPaths", err)
	}
}

func TestMapping(t *testing.T) {
	sp, err := LoadFile("testdata/notes-3.1.json")
	if err != nil {
		t.Fatal(err)
	}
	set := NewSet()
	set.Add(sp)
	set.Map("notes.internal", sp)
	if set.For("notes.internal", "10.0.0.2", 80) == nil {
		t.Error("mapped host: For = nil")
	}
	if set.For("other.internal", "10.0.0.3", 80) != nil {
		t.Error("a mapped relative spec must not cover other hosts")
	}
}

// FuzzParse feeds arbitrary documents to Parse, seeded with the test specs:
// whatever a file holds, Parse returns a Spec or an error, and a Spec it
// returns has operations with a method and a template.
func FuzzParse(f *testing.F) {
	files, _ := filepath.Glob("testdata/*")
	for _, name := range files {
		if data, err := os.ReadFile(name); err == nil {
			f.Add(data)
		}
	}
	f.Add([]byte("openapi: 3.0.3\npaths:\n  /a/{id}:\n    get:\n      responses: {'200': {description: ok}}\n"))
	f.Add([]byte(`{"openapi":"3.1.0","paths":{"/x":{"$ref":"#/paths/~1x"}}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		sp, err := Parse("fuzz.yaml", data)
		if err != nil {
			return
		}
		for _, o := range sp.Ops {
			if o.Method == "" || o.Template == "" {
				t.Fatalf("operation without method or template: %+v", o)
			}
		}
	})
}

// TestPathServers: a path or an operation may name servers of its own,
// which then decide the services it documents, in both readers.
func TestPathServers(t *testing.T) {
	const doc = `openapi: %s
info: {title: two services, version: "1"}
servers: [{url: "http://a.test:8080"}]
paths:
  /orders:
    get: {responses: {"200": {description: ok}}}
  /users:
    servers: [{url: "http://b.test:9090/v2"}]
    get: {responses: {"200": {description: ok}}}
    post:
      servers: [{url: "http://a.test:8080"}, {url: "http://b.test:9090/v2"}]
      responses: {"201": {description: ok}}
  /only-c:
    get:
      servers: [{url: "http://c.test"}]
      responses: {"200": {description: ok}}
`
	for _, version := range []string{"3.0.3", "3.1.0"} {
		t.Run(version, func(t *testing.T) {
			sp, err := Parse("servers.yaml", []byte(fmt.Sprintf(doc, version)))
			if err != nil {
				t.Fatal(err)
			}
			set := NewSet()
			set.Add(sp)
			ops := func(host string, port uint16) string {
				var out []string
				for _, o := range set.For(host, "10.0.0.1", port).Operations() {
					out = append(out, o.Method+" "+o.Template)
				}
				return strings.Join(out, ", ")
			}
			for _, tt := range []struct {
				host string
				port uint16
				want string
			}{
				{"a.test", 8080, "GET /orders, POST /users"},
				{"b.test", 9090, "GET /v2/users, POST /v2/users"},
				{"c.test", 80, "GET /only-c"},
				{"d.test", 80, ""},
			} {
				if got := ops(tt.host, tt.port); got != tt.want {
					t.Errorf("%s:%d documents %q; want %q", tt.host, tt.port, got, tt.want)
				}
			}
		})
	}
}
