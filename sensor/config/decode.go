package config

import (
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

var (
	durationType = reflect.TypeFor[time.Duration]()
	sizeType     = reflect.TypeFor[Size]()
)

// maxErrors stops a hopeless file (say, a binary) from producing thousands
// of lines.
const maxErrors = 20

// loader decodes one configuration and remembers where each value came
// from, so that checks running after decoding can still name a line.
type loader struct {
	file string
	pos  map[string]string // field path -> "file:line" / "env X"
	errs Errors
}

func (l *loader) where(path string) string {
	for p := path; p != ""; {
		if s, ok := l.pos[p]; ok {
			return s
		}
		i := strings.LastIndexAny(p, ".[")
		if i < 0 {
			break
		}
		p = p[:i]
	}
	return l.file
}

func (l *loader) addf(pos, path, format string, args ...any) {
	if len(l.errs) >= maxErrors {
		return
	}
	l.errs = append(l.errs, &Error{Pos: pos, Field: path, Msg: fmt.Sprintf(format, args...)})
}

func (l *loader) nodePos(n *yaml.Node) string { return l.file + ":" + strconv.Itoa(n.Line) }

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	default:
		return fmt.Sprintf("%q", n.Value)
	}
}

// decode stores node n into v. It checks shape and syntax only (types,
// unknown keys, duration and size syntax); ranges and cross-field rules are
// checked on the merged result by validate.
func (l *loader) decode(n *yaml.Node, v reflect.Value, path string) {
	if n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
		return // "key:" with no value keeps the default.
	}
	if _, ok := l.pos[path]; !ok {
		l.pos[path] = l.nodePos(n)
	}

	t := v.Type()
	switch {
	case t == durationType:
		if n.Kind != yaml.ScalarNode {
			l.addf(l.nodePos(n), path, "want a duration such as \"30s\", got %s", kindName(n))
			return
		}
		d, err := time.ParseDuration(n.Value)
		if err != nil {
			if _, nerr := strconv.ParseFloat(n.Value, 64); nerr == nil {
				l.addf(l.nodePos(n), path, "%q is not a duration: add a unit (%ss)", n.Value, n.Value)
				return
			}
			l.addf(l.nodePos(n), path, "%q is not a duration (e.g. \"30s\", \"5m\")", n.Value)
			return
		}
		if d < 0 {
			l.addf(l.nodePos(n), path, "%q is negative", n.Value)
			return
		}
		v.SetInt(int64(d))
		return
	case t == sizeType:
		if n.Kind != yaml.ScalarNode {
			l.addf(l.nodePos(n), path, "want a size such as \"64MiB\", got %s", kindName(n))
			return
		}
		s, err := ParseSize(n.Value)
		if err != nil {
			l.addf(l.nodePos(n), path, "%q is not a size (e.g. \"64MiB\", \"512KiB\", \"1GB\")", n.Value)
			return
		}
		v.SetInt(int64(s))
		return
	}

	switch t.Kind() {
	case reflect.String:
		if n.Kind != yaml.ScalarNode {
			l.addf(l.nodePos(n), path, "want a string, got %s", kindName(n))
			return
		}
		v.SetString(n.Value)
	case reflect.Int, reflect.Int64:
		var i int64
		if n.Kind != yaml.ScalarNode || n.Tag != "!!int" || n.Decode(&i) != nil {
			l.addf(l.nodePos(n), path, "want an integer, got %s", kindName(n))
			return
		}
		v.SetInt(i)
	case reflect.Bool:
		var b bool
		if n.Kind != yaml.ScalarNode || n.Tag != "!!bool" || n.Decode(&b) != nil {
			l.addf(l.nodePos(n), path, "want true or false, got %s", kindName(n))
			return
		}
		v.SetBool(b)
	case reflect.Slice:
		if n.Kind != yaml.SequenceNode {
			l.addf(l.nodePos(n), path, "want a list, got %s", kindName(n))
			return
		}
		s := reflect.MakeSlice(t, len(n.Content), len(n.Content))
		for i, e := range n.Content {
			l.decode(e, s.Index(i), fmt.Sprintf("%s[%d]", path, i))
		}
		v.Set(s)
	case reflect.Map:
		if n.Kind != yaml.MappingNode {
			l.addf(l.nodePos(n), path, "want a mapping, got %s", kindName(n))
			return
		}
		m := reflect.MakeMapWithSize(t, len(n.Content)/2)
		seen := map[string]int{}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, val := n.Content[i], n.Content[i+1]
			kp := join(path, k.Value)
			if !l.uniqueKey(seen, k, kp) {
				continue
			}
			l.pos[kp] = l.nodePos(k)
			e := reflect.New(t.Elem()).Elem()
			l.decode(val, e, kp)
			m.SetMapIndex(reflect.ValueOf(k.Value), e)
		}
		v.Set(m)
	case reflect.Struct:
		l.decodeStruct(n, v, path)
	default:
		panic("config: no decoder for " + t.String()) // programmer error
	}
}

func (l *loader) uniqueKey(seen map[string]int, k *yaml.Node, path string) bool {
	if k.Kind != yaml.ScalarNode {
		l.addf(l.nodePos(k), path, "keys must be plain strings")
		return false
	}
	if first, dup := seen[k.Value]; dup {
		l.addf(l.nodePos(k), path, "duplicate key (first set on line %d)", first)
		return false
	}
	seen[k.Value] = k.Line
	return true
}

// secretKeys are keys people put passwords under; they get a message that
// says where the secret belongs instead of "unknown field".
var secretKeys = map[string]string{
	"output.kafka.sasl.password": "use password_file or APITAP_KAFKA_SASL_PASSWORD",
}

func (l *loader) decodeStruct(n *yaml.Node, v reflect.Value, path string) {
	if n.Kind != yaml.MappingNode {
		l.addf(l.nodePos(n), path, "want a mapping, got %s", kindName(n))
		return
	}
	t := v.Type()
	fields := make(map[string]int, t.NumField())
	for i := range t.NumField() {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("yaml"), ",")
		if name != "" && name != "-" {
			fields[name] = i
		}
	}
	seen := map[string]int{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := n.Content[i], n.Content[i+1]
		kp := join(path, k.Value)
		if !l.uniqueKey(seen, k, kp) {
			continue
		}
		fi, ok := fields[k.Value]
		if !ok {
			if hint, secret := secretKeys[kp]; secret {
				l.addf(l.nodePos(k), kp, "secrets are not read from the config file: %s", hint)
				continue
			}
			l.addf(l.nodePos(k), kp, "unknown field%s", suggest(k.Value, fields))
			continue
		}
		// A field's position is its key's line: for a nested mapping the
		// value node starts on the next line.
		l.pos[kp] = l.nodePos(k)
		l.decode(val, v.Field(fi), kp)
	}
}

// suggest returns ` (did you mean "x"?)` for the known key closest to key,
// when it is close enough to be a typo.
func suggest(key string, fields map[string]int) string {
	best, bestD := "", 3
	for f := range fields {
		d := editDistance(strings.ToLower(key), f)
		if d < bestD || (d == bestD && best != "" && f < best) {
			best, bestD = f, d
		}
	}
	if best == "" || bestD > max(1, len(key)/3) {
		return ""
	}
	return fmt.Sprintf(" (did you mean %q?)", best)
}

// editDistance is the Levenshtein distance, with adjacent transpositions
// counted as one edit ("compresion", "copmression").
func editDistance(a, b string) int {
	prev2 := make([]int, len(b)+1)
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				cur[j] = min(cur[j], prev2[j-2]+1)
			}
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return prev[len(b)]
}
