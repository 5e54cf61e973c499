package template

import "strings"

// Router matches paths against a fixed set of templates, such as the ones a
// spec documents (layer 1). Build it with Add, then call Match; Match does
// not allocate. It is safe for concurrent Match calls once built.
type Router struct {
	root node
	n    int
}

type node struct {
	literal map[string]*node
	params  []*paramEdge // few per node; a segment pattern each
	shape   *Shape       // set when a template ends here
}

// paramEdge is a parameter segment, possibly with literal text around it:
// "{id}", "{name}.json", "v{version}".
type paramEdge struct {
	prefix, suffix string
	next           *node
}

// NewRouter returns an empty Router.
func NewRouter() *Router { return &Router{} }

// Len returns how many templates were added.
func (r *Router) Len() int { return r.n }

// Add registers a template such as /users/{id}/orders. types maps a
// parameter name to its type ("integer", "string", …; missing means
// "string"). Adding the same template twice keeps the first. It returns the
// template's shared Shape.
func (r *Router) Add(tmpl string, types map[string]string) *Shape {
	n := &r.root
	var params []Param
	forEachSegment(tmpl, func(s, e int) {
		seg := tmpl[s:e]
		open, close := strings.IndexByte(seg, '{'), strings.LastIndexByte(seg, '}')
		if open < 0 || close < open {
			if n.literal == nil {
				n.literal = make(map[string]*node)
			}
			next := n.literal[seg]
			if next == nil {
				next = &node{}
				n.literal[seg] = next
			}
			n = next
			return
		}
		// Record every {name} in the segment; match on the text around the
		// first and last brace.
		for rest := seg; ; {
			o := strings.IndexByte(rest, '{')
			c := strings.IndexByte(rest, '}')
			if o < 0 || c < o {
				break
			}
			name := rest[o+1 : c]
			typ := types[name]
			if typ == "" {
				typ = "string"
			}
			params = append(params, Param{Name: name, Type: typ})
			rest = rest[c+1:]
		}
		pre, suf := seg[:open], seg[close+1:]
		var edge *paramEdge
		for _, e := range n.params {
			if e.prefix == pre && e.suffix == suf {
				edge = e
				break
			}
		}
		if edge == nil {
			edge = &paramEdge{prefix: pre, suffix: suf, next: &node{}}
			n.params = append(n.params, edge)
		}
		n = edge.next
	})
	if n.shape == nil {
		n.shape = &Shape{Template: tmpl, Params: params, FromSpec: true}
		r.n++
	}
	return n.shape
}

// Match returns the shape of the template that path matches, or nil. A
// literal segment beats a parameter; among complete matches the one with
// the fewest parameters wins. A trailing slash is ignored.
func (r *Router) Match(path string) *Shape {
	if r == nil || r.n == 0 {
		return nil
	}
	if len(path) > 1 && path[len(path)-1] == '/' {
		path = path[:len(path)-1]
	}
	if len(path) > 0 && path[0] == '/' {
		path = path[1:]
	}
	s, _ := match(&r.root, path, len(path) == 0)
	return s
}

// match walks the rest of the path from n; done means no segment is left.
// It returns the best shape and its parameter count.
func match(n *node, rest string, done bool) (*Shape, int) {
	if done {
		return n.shape, 0
	}
	seg, tail, last := rest, "", true
	if i := strings.IndexByte(rest, '/'); i >= 0 {
		seg, tail, last = rest[:i], rest[i+1:], false
	}
	var best *Shape
	bestN := 0
	if next := n.literal[seg]; next != nil {
		if s, k := match(next, tail, last); s != nil {
			best, bestN = s, k
		}
	}
	for _, e := range n.params {
		if len(seg) <= len(e.prefix)+len(e.suffix) ||
			!strings.HasPrefix(seg, e.prefix) || !strings.HasSuffix(seg, e.suffix) {
			continue
		}
		if s, k := match(e.next, tail, last); s != nil && (best == nil || k+1 < bestN) {
			best, bestN = s, k+1
		}
	}
	return best, bestN
}

// Literal reports whether a template whose segment at index pos is the
// literal seg exists, given the preceding segments; Collapser uses it to
// never fold a literal a spec documents.
func (r *Router) Literal(prefix []string, seg string) bool {
	if r == nil {
		return false
	}
	return literalUnder(&r.root, prefix, seg)
}

func literalUnder(n *node, prefix []string, seg string) bool {
	if len(prefix) == 0 {
		_, ok := n.literal[seg]
		return ok
	}
	if next := n.literal[prefix[0]]; next != nil && literalUnder(next, prefix[1:], seg) {
		return true
	}
	for _, e := range n.params {
		if literalUnder(e.next, prefix[1:], seg) {
			return true
		}
	}
	return false
}
