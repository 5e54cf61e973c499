package template

import (
	"slices"
	"strings"
	"testing"
)

// FuzzTemplate checks the stateless layers on arbitrary paths: no panic,
// one template segment per path segment, braces only around parameters,
// and the same shape when asked twice or after other paths (interning must
// not mix shapes).
func FuzzTemplate(f *testing.F) {
	for _, s := range []string{"/", "", "/api/v1/users/42", "//x//", "/a/{b}/c",
		"/users/alice@example.com", "/2024-01-01/x", "/f/report.csv", "/%40/%%"} {
		f.Add(s)
	}
	r := NewRouter()
	r.Add("/users/{id}", nil)
	r.Add("/files/{name}.json", nil)
	// shared interns the shapes of every input: a key that mixed two shapes
	// would hand one path the other's, unlike a fresh Templater.
	shared := NewTemplater()
	f.Fuzz(func(t *testing.T, path string) {
		tp := NewTemplater()
		s := tp.Template(path, r)
		if got := shared.Template(path, r); got.Template != s.Template ||
			!slices.Equal(got.Params, s.Params) {
			t.Fatalf("Template(%q) = %q %v after other paths; want %q %v", path, got.Template,
				got.Params, s.Template, s.Params)
		}
		if s.FromSpec {
			return
		}
		if got, want := len(Segments(s.Template)), len(Segments(path)); got != want {
			t.Fatalf("Template(%q) = %q: %d segments; want %d", path, s.Template, got, want)
		}
		params := strings.Count(s.Template, "{")
		if params < len(s.Params) {
			t.Fatalf("Template(%q) = %q: %d braces for %d params", path, s.Template, params,
				len(s.Params))
		}
		if again := tp.Template(path, r); again != s {
			t.Fatalf("Template(%q) twice gave different shapes", path)
		}
		c := NewCollapser(CollapseConfig{Threshold: 2}, nil)
		c.Observe(s.Template, nil)
		_ = c.Apply(s.Template)
	})
}

// FuzzRedact: on any path, Redact keeps every literal and integer segment,
// gives every other parameter value as its template name, and NameOrKind
// answers with the name itself or a kind placeholder.
func FuzzRedact(f *testing.F) {
	for _, s := range []string{"/users/4711/keys/01ARZ3NDEKTSV4RRFFQ69G5FAV", "/", "",
		"//a//", "/u/bob@example.com/", "/x/eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2ln"} {
		f.Add(s)
	}
	tp := NewTemplater()
	f.Fuzz(func(t *testing.T, path string) {
		s := tp.Template(path, nil)
		got := Redact(path, s)
		if got == path || got == s.Template {
			return
		}
		gs, ps, ts := Segments(got), Segments(path), Segments(s.Template)
		if len(gs) != len(ps) || len(gs) != len(ts) {
			t.Fatalf("Redact(%q) = %q: %d segments; path %d, template %d", path, got, len(gs),
				len(ps), len(ts))
		}
		for i := range gs {
			if gs[i] != ps[i] && gs[i] != ts[i] {
				t.Fatalf("Redact(%q) = %q: segment %q is neither the value nor %q", path, got,
					gs[i], ts[i])
			}
		}
		for _, seg := range ps {
			if n := NameOrKind(seg); n != seg && !(strings.HasPrefix(n, "{") &&
				strings.HasSuffix(n, "}")) {
				t.Fatalf("NameOrKind(%q) = %q", seg, n)
			}
		}
	})
}
