package inventory

import (
	"bytes"
	"strings"

	"github.com/apitap/apitap/sensor/detect"
)

// isJSON reports media types whose bodies are parsed for field names.
func isJSON(mt string) bool {
	return mt == "application/json" || strings.HasSuffix(mt, "+json") ||
		mt == "application/problem+json" || mt == "text/json"
}

// maxArrayElems is how many elements of an array are looked at: arrays
// repeat one shape, and the rest would only cost time.
const maxArrayElems = 3

// jsonFields records the field paths and types of a JSON body prefix into
// fields, down to maxDepth and up to maxFields names in the map. A
// truncated prefix yields the fields before the cut. Values are never kept.
//
// It walks the tokens of sensor/detect's streaming tokenizer, which
// allocates nothing; only a field seen for the first time costs the string
// of its path.
func jsonFields(body []byte, fields map[string]string, maxDepth, maxFields int) {
	var w fieldWalker
	w.walk(body, fields, maxDepth, maxFields)
}

// frame is one open container on the walk's stack.
type frame struct {
	plen  int  // length of the container's own path
	array bool // an array, whose elements share the path "p[]"
	elems int  // elements seen, for arrays
	skip  bool // below the depth or element limit: walk, do not record
}

type fieldWalker struct {
	tz    detect.Tokenizer
	path  []byte
	stack [detect.MaxJSONDepth + 2]frame
}

func (w *fieldWalker) walk(body []byte, fields map[string]string, maxDepth, maxFields int) {
	w.tz.Reset(body)
	w.path = w.path[:0]
	depth := 0 // w.stack[depth] is the innermost open container; 0 is the top level
	w.stack[0] = frame{}
	for {
		kind := w.tz.Next()
		switch kind {
		case detect.TokEnd, detect.TokError:
			return
		case detect.TokKey:
			top := &w.stack[depth]
			w.path = w.path[:top.plen]
			if top.plen > 0 {
				w.path = append(w.path, '.')
			}
			w.path = append(w.path, body[w.tz.Start:w.tz.End]...)
			continue
		case detect.TokObjectClose, detect.TokArrayClose:
			if depth > 0 {
				depth--
			}
			continue
		}
		// A value: its path is the key just read, or "p[]" in an array.
		top := &w.stack[depth]
		skip := top.skip
		if top.array {
			w.path = append(w.path[:top.plen], "[]"...)
			top.elems++
			skip = skip || top.elems > maxArrayElems
		}
		skip = skip || depth > maxDepth
		if !skip && len(w.path) > 0 {
			record(fields, w.path, valueType(kind, body[w.tz.Start:w.tz.End]), maxFields)
		}
		if kind == detect.TokObjectOpen || kind == detect.TokArrayOpen {
			if depth+1 >= len(w.stack) {
				return
			}
			depth++
			w.stack[depth] = frame{plen: len(w.path), array: kind == detect.TokArrayOpen, skip: skip}
		}
	}
}

// valueType names a JSON value's type as OpenAPI does.
func valueType(kind detect.TokenKind, tok []byte) string {
	switch kind {
	case detect.TokObjectOpen:
		return "object"
	case detect.TokArrayOpen:
		return "array"
	case detect.TokString:
		return "string"
	case detect.TokNumber:
		if bytes.ContainsAny(tok, ".eE") {
			return "number"
		}
		return "integer"
	}
	switch {
	case len(tok) > 0 && tok[0] == 'n':
		return "null"
	default:
		return "boolean"
	}
}

// record notes that path holds a value of typ, widening on conflict.
func record(fields map[string]string, path []byte, typ string, maxFields int) {
	old, ok := fields[string(path)]
	switch {
	case !ok && len(fields) < maxFields:
		fields[string(path)] = typ
	case ok && old != typ:
		// null says little; integer widens to number; others conflict.
		switch {
		case old == "null":
			fields[string(path)] = typ
		case typ == "null":
		case old == "integer" && typ == "number":
			fields[string(path)] = typ
		case old == "number" && typ == "integer":
		default:
			fields[string(path)] = "mixed"
		}
	}
}
