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

// FuzzLoad feeds Load's decoding step arbitrary JSON for a state file: a
// damaged or hand-edited file must give an error or an inventory that keeps
// working, never a crash at start-up. (The zstd layer around it is the
// compression library's.) The seed is a real state with a collapse rule.
func FuzzLoad(f *testing.F) {
	inv := New(Config{}, nil)
	inv.Add(mkEx("GET", "/customers/1", 200))
	for _, n := range []string{"a", "b", "c", "d", "e", "f", "g", "h"} {
		inv.Add(mkEx("GET", "/teams/team"+n, 200))
	}
	seed, err := json.Marshal(inv.state())
	if err != nil {
		f.Fatal(err)
	}
	f.Add(seed)
	f.Add([]byte(`{"version":1,"services":[{"server":"10.0.0.1:8080","host":"shop.test",` +
		`"rules":[null,{"pos":7}]}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		var st stateFile
		if json.Unmarshal(data, &st) != nil {
			return
		}
		re := New(Config{}, nil)
		if re.restore(&st, "fuzz.zst") != nil {
			return
		}
		// What loaded must take traffic, report and save again.
		re.Add(mkEx("GET", "/customers/2", 200))
		re.Add(mkEx("POST", "/teams/teamz/members", 201))
		re.Endpoints()
		re.Findings()
		if _, err := json.Marshal(re.state()); err != nil {
			t.Fatalf("state after Load: %v", err)
		}
	})
}
