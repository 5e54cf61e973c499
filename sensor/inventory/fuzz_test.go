package inventory

import "testing"

// FuzzJSONFields checks the body walker on arbitrary (often truncated)
// prefixes: no panic and the bounds hold.
func FuzzJSONFields(f *testing.F) {
	for _, s := range []string{`{"a":1}`, `[{"b":[1,2,{"c":null}]}]`, `{"a":{"b":{"c":{"d":{"e":1}}}}}`,
		`{"a":`, `[[[[[[`, `{"x":1.5e3,"y":true}`, `"str"`, `{"a":[{"b":1},{"b":"s"}]}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		fields := map[string]string{}
		jsonFields(body, fields, 3, 16)
		if len(fields) > 16 {
			t.Fatalf("%d fields; want at most 16", len(fields))
		}
	})
}
