package inventory

import (
	"encoding/json"
	"math/rand/v2"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/apitap/apitap/sensor/detect"
	"github.com/apitap/apitap/sensor/template"
)

// referenceFields is the walk as it was before the lexer learnt to skip:
// every token through detect.Tokenizer. The tests hold the fast walk to it.
func referenceFields(body []byte, fields map[string]string, maxDepth, maxFields int) {
	type rframe struct {
		plen        int
		array, skip bool
		elems       int
	}
	var tz detect.Tokenizer
	var stack [detect.MaxJSONDepth + 2]rframe
	var path []byte
	tz.Reset(body)
	depth := 0
	for {
		kind := tz.Next()
		switch kind {
		case detect.TokEnd, detect.TokError:
			return
		case detect.TokKey:
			top := &stack[depth]
			path = path[:top.plen]
			if top.plen > 0 {
				path = append(path, '.')
			}
			path = append(path, template.NameOrKind(string(body[tz.Start:tz.End]))...)
			continue
		case detect.TokObjectClose, detect.TokArrayClose:
			if depth > 0 {
				depth--
			}
			continue
		}
		top := &stack[depth]
		skip := top.skip
		if top.array {
			path = append(path[:top.plen], "[]"...)
			top.elems++
			skip = skip || top.elems > maxArrayElems
		}
		skip = skip || depth > maxDepth
		if !skip && len(path) > 0 {
			record(fields, path, valueType(kind, body[tz.Start:tz.End]), maxFields)
		}
		if kind == detect.TokObjectOpen || kind == detect.TokArrayOpen {
			if depth+1 >= len(stack) {
				return
			}
			depth++
			stack[depth] = rframe{plen: len(path), array: kind == detect.TokArrayOpen, skip: skip}
		}
	}
}

// genJSON writes a random valid JSON value: nested containers, escapes,
// every number form and literal, irregular white space.
func genJSON(r *rand.Rand, b *strings.Builder, depth int) {
	ws := func() {
		if r.IntN(4) == 0 {
			b.WriteString([]string{" ", "\n  ", "\t", "\r\n"}[r.IntN(4)])
		}
	}
	str := func() {
		b.WriteByte('"')
		for range r.IntN(8) {
			switch r.IntN(10) {
			case 0:
				b.WriteString(`\"`)
			case 1:
				b.WriteString(`\\`)
			case 2:
				b.WriteString(`\u00e9`)
			default:
				b.WriteByte("abcxyz_.-[]{}:, "[r.IntN(16)])
			}
		}
		b.WriteByte('"')
	}
	ws()
	switch k := r.IntN(10); {
	case depth < 6 && k < 3:
		b.WriteByte('{')
		for i := range r.IntN(6) {
			if i > 0 {
				b.WriteByte(',')
			}
			ws()
			str()
			ws()
			b.WriteByte(':')
			genJSON(r, b, depth+1)
		}
		b.WriteByte('}')
	case depth < 6 && k < 5:
		b.WriteByte('[')
		for i := range r.IntN(7) {
			if i > 0 {
				b.WriteByte(',')
			}
			genJSON(r, b, depth+1)
		}
		b.WriteByte(']')
	case k < 6:
		str()
	case k < 8:
		b.WriteString([]string{"0", "-12", "3.25", "1e9", "-2.5E-3", "42"}[r.IntN(6)])
	default:
		b.WriteString([]string{"true", "false", "null"}[r.IntN(3)])
	}
	ws()
}

// TestFieldsMatchReference compares the walk with the token-by-token one
// on random documents and on every kind of cut through them.
func TestFieldsMatchReference(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	n := 3000
	if testing.Short() {
		n = 300
	}
	for i := range n {
		var b strings.Builder
		genJSON(r, &b, 0)
		doc := b.String()
		if !json.Valid([]byte(doc)) {
			t.Fatalf("generator wrote invalid JSON: %s", doc)
		}
		maxDepth, maxFields := 1+r.IntN(5), 4+r.IntN(60)
		for _, cut := range []int{len(doc), r.IntN(len(doc) + 1), r.IntN(len(doc) + 1)} {
			body := []byte(doc[:cut])
			got, want := map[string]string{}, map[string]string{}
			jsonFields(body, got, maxDepth, maxFields)
			referenceFields(body, want, maxDepth, maxFields)
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("doc %d: jsonFields(%q, %d, %d) = %v; want %v (the reference)",
					i, body, maxDepth, maxFields, got, want)
			}
		}
	}
}

// TestFieldsUnnamedValues pins what the walk records of values that have
// no name, which the lenient grammar lets through: nothing.
func TestFieldsUnnamedValues(t *testing.T) {
	tests := []struct {
		name, body string
		want       map[string]string
	}{
		{"trailing top-level value", `{"a":"x"} 7`, map[string]string{"a": "string"}},
		{"trailing top-level object", `{"a":1} {"b":true}`,
			map[string]string{"a": "integer", "b": "boolean"}},
		{"keyless value in object", `{"a":{"b":"s"} 5, "c":null}`,
			map[string]string{"a": "object", "a.b": "string", "c": "null"}},
		{"keyless object in object", `{"a":1 {"z":2}}`, map[string]string{"a": "integer"}},
		{"malformed skipped element", `{"a":[1,2,3,4,x],"b":1}`, map[string]string{"a": "array",
			"a[]": "integer"}},
		{"deep", `{"a":{"b":{"c":{"d":{"e":{"f":1}}}}},"g":2}`, map[string]string{"a": "object",
			"a.b": "object", "a.b.c": "object", "a.b.c.d": "object", "g": "integer"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := map[string]string{}
			jsonFields([]byte(tt.body), got, 4, 64)
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("jsonFields(%q) = %v; want %v", tt.body, got, tt.want)
			}
		})
	}
}

// BenchmarkJSONFields walks a body shaped like the generated pipeline
// traffic: a few fields and a long array of small objects.
func BenchmarkJSONFields(b *testing.B) {
	var sb strings.Builder
	sb.WriteString(`{"id":4711,"status":"active","items":[`)
	for i := range 40 {
		if i > 0 {
			sb.WriteByte(',')
		}
		sb.WriteString(`{"sku":"9f0c6b1e","name":"alpha","qty":` + strconv.Itoa(i) +
			`,"price":1999}`)
	}
	sb.WriteString(`]}`)
	body := []byte(sb.String())
	var w fieldWalker
	fields := map[string]string{}
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		w.walk(body, fields, 4, 256)
	}
}

// TestFieldNamesThatAreValues: an object keyed by emails or tokens is
// recorded under the keys' kind, never the keys themselves.
func TestFieldNamesThatAreValues(t *testing.T) {
	var w fieldWalker
	fields := map[string]string{}
	w.walk([]byte(`{"users":{"alice@example.com":{"plan":"pro"}},`+
		`"keys":{"sk_live_4eC39HqLyjWDarjtT1zdp7dc":1},"sha256":"ab","line1":"x"}`),
		fields, 4, 64)
	for _, want := range []string{"users.{email}", "users.{email}.plan", "keys.{token}",
		"sha256", "line1"} {
		if _, ok := fields[want]; !ok {
			t.Errorf("no field %q in %v", want, fields)
		}
	}
	for name := range fields {
		if strings.Contains(name, "alice") || strings.Contains(name, "sk_live") {
			t.Errorf("field %q echoes a value", name)
		}
	}
}
