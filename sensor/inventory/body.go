package inventory

import (
	"bytes"
	"encoding/json"
	"strings"
)

// isJSON reports media types whose bodies are parsed for field names.
func isJSON(mt string) bool {
	return mt == "application/json" || strings.HasSuffix(mt, "+json") ||
		mt == "application/problem+json" || mt == "text/json"
}

// jsonFields records the field paths and types of a JSON body prefix into
// fields, down to maxDepth and up to maxFields names in the map. A
// truncated prefix yields the fields before the cut. Values are never kept.
func jsonFields(body []byte, fields map[string]string, maxDepth, maxFields int) {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	w := fieldWalker{dec: dec, fields: fields, maxDepth: maxDepth, maxFields: maxFields}
	tok, err := dec.Token()
	if err != nil {
		return
	}
	w.value(tok, "", 0)
}

type fieldWalker struct {
	dec       *json.Decoder
	fields    map[string]string
	maxDepth  int
	maxFields int
	err       bool
}

func (w *fieldWalker) record(path, typ string) {
	if path == "" {
		return
	}
	old, ok := w.fields[path]
	switch {
	case !ok && len(w.fields) < w.maxFields:
		w.fields[path] = typ
	case ok && old != typ:
		// null says little; integer widens to number; others conflict.
		switch {
		case old == "null":
			w.fields[path] = typ
		case typ == "null":
		case old == "integer" && typ == "number":
			w.fields[path] = typ
		case old == "number" && typ == "integer":
		default:
			w.fields[path] = "mixed"
		}
	}
}

// value walks one value whose first token is tok, at path.
func (w *fieldWalker) value(tok json.Token, path string, depth int) {
	switch v := tok.(type) {
	case json.Delim:
		switch v {
		case '{':
			w.record(path, "object")
			w.object(path, depth+1)
		case '[':
			w.record(path, "array")
			w.array(path, depth+1)
		}
	case string:
		w.record(path, "string")
	case json.Number:
		if strings.ContainsAny(string(v), ".eE") {
			w.record(path, "number")
		} else {
			w.record(path, "integer")
		}
	case bool:
		w.record(path, "boolean")
	case nil:
		w.record(path, "null")
	}
}

func (w *fieldWalker) object(path string, depth int) {
	for !w.err {
		tok, err := w.dec.Token()
		if err != nil {
			w.err = true
			return
		}
		if d, ok := tok.(json.Delim); ok && d == '}' {
			return
		}
		key, ok := tok.(string)
		if !ok {
			w.err = true
			return
		}
		val, err := w.dec.Token()
		if err != nil {
			w.err = true
			return
		}
		if depth > w.maxDepth {
			w.skip(val)
			continue
		}
		child := key
		if path != "" {
			child = path + "." + key
		}
		w.value(val, child, depth)
	}
}

func (w *fieldWalker) array(path string, depth int) {
	// Only the first few elements are looked at: arrays repeat a shape.
	const maxElems = 3
	for i := 0; !w.err; i++ {
		tok, err := w.dec.Token()
		if err != nil {
			w.err = true
			return
		}
		if d, ok := tok.(json.Delim); ok && d == ']' {
			return
		}
		if i >= maxElems || depth > w.maxDepth {
			w.skip(tok)
			continue
		}
		w.value(tok, path+"[]", depth)
	}
}

// skip consumes the rest of a value whose first token is tok.
func (w *fieldWalker) skip(tok json.Token) {
	d, ok := tok.(json.Delim)
	if !ok || d == '}' || d == ']' {
		return
	}
	for level := 1; level > 0; {
		t, err := w.dec.Token()
		if err != nil {
			w.err = true
			return
		}
		if d, ok := t.(json.Delim); ok {
			if d == '{' || d == '[' {
				level++
			} else {
				level--
			}
		}
	}
}
