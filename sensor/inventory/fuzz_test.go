package inventory

import (
	"encoding/json"
	"reflect"
	"testing"
)

// FuzzJSONFields checks the body walker on arbitrary (often truncated)
// prefixes: no panic and the bounds hold; on valid JSON and its prefixes it
// also agrees with the token-by-token reference walk.
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
		if !json.Valid(body) {
			return
		}
		for _, cut := range []int{len(body), len(body) / 2, len(body) / 3} {
			got, want := map[string]string{}, map[string]string{}
			jsonFields(body[:cut], got, 3, 16)
			referenceFields(body[:cut], want, 3, 16)
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("jsonFields(%q) = %v; want %v (the reference)", body[:cut], got, want)
			}
		}
	})
}
