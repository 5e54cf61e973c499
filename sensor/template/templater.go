package template

import "strings"

// Param is one path parameter of a template.
type Param struct {
	Name string `json:"name"`
	Type string `json:"type"` // a Kind name, or the spec's schema type
	// Sensitive is set for kinds that carry personal or payment data.
	Sensitive bool `json:"sensitive,omitempty"`
}

// Shape is the template of a path together with its parameters. Shapes are
// shared and interned: callers must not modify one.
type Shape struct {
	// Template is the path with parameters in braces, e.g.
	// /users/{userId}/orders.
	Template string
	// Params are in path order.
	Params []Param
	// Sensitive is set when any parameter is.
	Sensitive bool
	// FromSpec is set when a spec's Router supplied the template.
	FromSpec bool
}

// DefaultMaxShapes bounds a Templater's intern table.
const DefaultMaxShapes = 1 << 16

// Templater types path segments (layer 2) and interns the shapes it builds,
// so that a path whose shape was seen before costs no allocation. It is not
// safe for concurrent use.
type Templater struct {
	// MaxShapes bounds the intern table; when full it is cleared, which
	// only costs re-interning. 0 means DefaultMaxShapes.
	MaxShapes int

	shapes map[string]*Shape
	key    []byte // scratch: template bytes + 0 + kinds
	kinds  []Kind
	offs   []int // segment start offsets into the path
}

// NewTemplater returns a Templater with an empty intern table.
func NewTemplater() *Templater {
	return &Templater{shapes: make(map[string]*Shape)}
}

// Template returns the shape of path. When r is non-nil and one of its
// templates matches, that one wins (layer 1); otherwise segments are typed
// (layer 2). path is the raw request path without query.
func (t *Templater) Template(path string, r *Router) *Shape {
	if r != nil {
		if s := r.Match(path); s != nil {
			return s
		}
	}
	return t.typed(path)
}

// typed runs layer 2.
func (t *Templater) typed(path string) *Shape {
	// The first scan only keys the shape: nearly every path has a shape
	// seen before, and only a new one needs the segments listed for build.
	t.scan(path, false)
	if s, ok := t.shapes[string(t.key)]; ok {
		return s
	}
	params := t.scan(path, true)
	s := t.build(path, params)
	if t.shapes == nil {
		t.shapes = make(map[string]*Shape)
	}
	maxShapes := t.MaxShapes
	if maxShapes <= 0 {
		maxShapes = DefaultMaxShapes
	}
	if len(t.shapes) >= maxShapes {
		clear(t.shapes)
	}
	t.shapes[string(t.key)] = s
	return s
}

// scan types the segments of path into t.key, the intern key of its shape,
// and returns how many are parameters. With list set it also lists each
// segment's kind and offset in t.kinds and t.offs, for build.
//
// The key holds, per segment, '/', the kind's byte and, for a literal, its
// text; a trailing '/' marks a path that ends in one. A literal cannot hold
// a '/', so the key reads back one way only. Parameter names depend only on
// the parent literal, already in the key, so kinds are enough to key them.
func (t *Templater) scan(path string, list bool) (params int) {
	t.key = t.key[:0]
	t.kinds = t.kinds[:0]
	t.offs = t.offs[:0]

	versionPos := true
	segs := 0
	// The segment loop is written out (not forEachSegment with a closure) so
	// that nothing escapes on this path.
	i := 0
	if len(path) > 0 && path[0] == '/' {
		i = 1
	}
	for i < len(path) {
		// One pass per segment finds its end and ANDs its byte classes,
		// which is all quickKindOf needs for the common segments. It reads
		// four bytes a step: segments are mostly ids of 5 to 36 bytes.
		start := i
		all := uint8(0xff)
		for i+4 <= len(path) {
			w := path[i : i+4] // one bounds check for the four reads
			c := segClass[w[0]] & segClass[w[1]] & segClass[w[2]] & segClass[w[3]]
			if c&cNotSlash == 0 {
				break
			}
			all &= c
			i += 4
		}
		for i < len(path) {
			c := segClass[path[i]]
			if c&cNotSlash == 0 {
				break
			}
			all &= c
			i++
		}
		seg := path[start:i]
		i++
		if i > len(path) && seg == "" {
			break
		}
		k, quick := quickKindOf(seg, all)
		if !quick {
			k = Classify(seg, versionPos)
		}
		segs++
		if list {
			t.kinds = append(t.kinds, k)
			t.offs = append(t.offs, start)
		}
		// A version position continues through "api", "rest" and versions;
		// a quick literal made of lower-case letters only is a word, never
		// a version.
		switch {
		case k != KindLiteral:
			versionPos = false
		case quick && all&cLower != 0:
			versionPos = seg == "api" || seg == "rest"
		case quick:
			// Any other quick literal is a version (v1, v2beta1), which
			// isVersionLike would confirm (TestQuickKindAgrees checks it).
			versionPos = true
		default:
			versionPos = seg == "api" || seg == "rest" || isVersionLike(seg)
		}
		t.key = append(t.key, '/', byte(k))
		if k == KindLiteral {
			t.key = append(t.key, seg...)
		} else {
			params++
		}
	}
	if segs == 0 || (len(path) > 0 && path[len(path)-1] == '/' && len(path) > 1) {
		t.key = append(t.key, '/')
	}
	return params
}

// build makes the Shape for the segments typed into t.kinds and t.offs.
func (t *Templater) build(path string, params int) *Shape {
	s := &Shape{}
	if params > 0 {
		s.Params = make([]Param, 0, params)
	}
	var b strings.Builder
	used := make([]string, 0, params)
	parent := ""
	for i, k := range t.kinds {
		start := t.offs[i]
		end := start
		for end < len(path) && path[end] != '/' {
			end++
		}
		seg := path[start:end]
		b.WriteByte('/')
		if k == KindLiteral {
			b.WriteString(seg)
			parent = seg
			continue
		}
		name := paramName(parent, "Id", k, used)
		if k == KindDate {
			name = paramName("", "", k, used)
		}
		used = append(used, name)
		s.Params = append(s.Params, Param{Name: name, Type: k.String(), Sensitive: k.Sensitive()})
		s.Sensitive = s.Sensitive || k.Sensitive()
		b.WriteString("{" + name + "}")
		parent = ""
	}
	if len(t.kinds) == 0 || (len(path) > 1 && path[len(path)-1] == '/') {
		b.WriteByte('/')
	}
	s.Template = b.String()
	return s
}

// forEachSegment calls fn with the bounds of each segment of path, skipping
// the leading slash and a trailing one; empty inner segments (//) count.
func forEachSegment(path string, fn func(start, end int)) {
	i := 0
	if i < len(path) && path[0] == '/' {
		i = 1
	}
	for i < len(path) {
		j := i
		for j < len(path) && path[j] != '/' {
			j++
		}
		if j == len(path) && j == i {
			return
		}
		fn(i, j)
		i = j + 1
	}
}

// isVersionLike reports v1, v2beta, 1.2 — the segments that precede a
// version-position date and that cardinality merging must never fold.
func isVersionLike(seg string) bool {
	if seg == "" {
		return false
	}
	digits, dots := 0, 0
	for i := 0; i < len(seg); i++ {
		switch {
		case class[seg[i]]&cDigit != 0:
			digits++
		case seg[i] == '.':
			dots++
		}
	}
	return isVersion(seg, digits, dots) || isDate(seg)
}

// Segments splits a template or path into its segments (allocates).
func Segments(p string) []string {
	var out []string
	forEachSegment(p, func(s, e int) { out = append(out, p[s:e]) })
	return out
}

// IsParam reports whether a template segment is a parameter ("{id}").
func IsParam(seg string) bool {
	return strings.IndexByte(seg, '{') >= 0 && strings.IndexByte(seg, '}') > 0
}
