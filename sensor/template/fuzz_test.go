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
