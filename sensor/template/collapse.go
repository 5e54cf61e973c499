package template

import (
	"errors"
	"fmt"
	"sort"
	"strings"
)

// Defaults of CollapseConfig.
const (
	DefaultThreshold      = 8
	DefaultMaxGroups      = 4096
	DefaultFrequentFactor = 4
)

// reserved are literals that APIs put beside an id on purpose
// (/users/me beside /users/{id}); they never collapse.
var reserved = map[string]bool{
	"me": true, "self": true, "current": true, "new": true, "search": true, "count": true,
	"all": true, "latest": true, "batch": true, "bulk": true, "export": true, "import": true,
	"default": true, "mine": true, "health": true, "status": true, "config": true,
}

// CollapseConfig tunes cardinality merging. The zero value works.
type CollapseConfig struct {
	// Threshold is how many distinct literal siblings with the same prefix
	// and suffix it takes to collapse them. Default DefaultThreshold (8).
	Threshold int
	// MaxGroups bounds the sibling groups tracked; when full, new groups
	// are not tracked (existing rules still apply). Default 4096.
	MaxGroups int
	// FrequentFactor: at collapse time a sibling seen at least this many
	// times the median of the others stays literal (/users/me among
	// /users/alice, …). Default 4.
	FrequentFactor int
}

func (c *CollapseConfig) threshold() int {
	if c.Threshold > 1 {
		return c.Threshold
	}
	return DefaultThreshold
}

func (c *CollapseConfig) maxGroups() int {
	if c.MaxGroups > 0 {
		return c.MaxGroups
	}
	return DefaultMaxGroups
}

func (c *CollapseConfig) frequentFactor() int64 {
	if c.FrequentFactor > 0 {
		return int64(c.FrequentFactor)
	}
	return DefaultFrequentFactor
}

// Rule is a collapse: any literal at Pos, between Prefix and Suffix, is the
// parameter Name, except the Keep literals.
type Rule struct {
	Prefix []string        `json:"prefix"`
	Pos    int             `json:"pos"`
	Suffix []string        `json:"suffix"`
	Name   string          `json:"name"`
	Keep   map[string]bool `json:"keep,omitempty"`
}

// Check reports what makes a rule unusable, as one read back from a state
// file may be: the generic position must follow the prefix, and the name
// must make one path segment.
func (r *Rule) Check() error {
	switch {
	case r == nil:
		return errors.New("empty rule")
	case r.Pos != len(r.Prefix):
		return fmt.Errorf("position %d after a prefix of %d segments", r.Pos, len(r.Prefix))
	case r.Name == "" || strings.ContainsAny(r.Name, "/{}"):
		return fmt.Errorf("parameter name %q", r.Name)
	}
	return nil
}

// Template returns the rule's template: prefix/{name}/suffix.
func (r *Rule) Template() string {
	segs := make([]string, 0, len(r.Prefix)+1+len(r.Suffix))
	segs = append(segs, r.Prefix...)
	segs = append(segs, "{"+r.Name+"}")
	segs = append(segs, r.Suffix...)
	return "/" + strings.Join(segs, "/")
}

// matches reports whether the rule covers segs.
func (r *Rule) matches(segs []string) bool {
	if len(segs) != len(r.Prefix)+1+len(r.Suffix) {
		return false
	}
	for i, s := range r.Prefix {
		if segs[i] != s {
			return false
		}
	}
	for i, s := range r.Suffix {
		if segs[r.Pos+1+i] != s {
			return false
		}
	}
	v := segs[r.Pos]
	return !IsParam(v) && !r.Keep[v] && !excluded(v)
}

// Collapser is the cardinality layer of one service. It learns from the
// templates that layers 1 and 2 produce and collapses literal siblings. It
// is not safe for concurrent use.
type Collapser struct {
	cfg    CollapseConfig
	spec   *Router // literals a spec documents never collapse; may be nil
	groups map[string]*group
	rules  []*Rule
	cache  map[string]string // template → collapsed template, bounded
	// parents holds the literals seen right before a parameter, keyed by
	// position: a prefix and the literal (parentKey). Those name a
	// collection (/orders/{orderId}) and never collapse, however many
	// collections a service has: /api/v2/orders and /api/v2/payments are
	// two endpoints, where /users/alice/profile and /users/bob/profile are
	// one.
	parents map[string]bool
}

// group tracks the distinct literals seen at one position.
type group struct {
	prefix, suffix []string
	pos            int
	values         map[string]bool
	done           bool
}

// NewCollapser returns a Collapser. spec may be nil.
func NewCollapser(cfg CollapseConfig, spec *Router) *Collapser {
	return &Collapser{cfg: cfg, spec: spec, groups: make(map[string]*group),
		cache: make(map[string]string), parents: make(map[string]bool)}
}

// Rules returns the rules learnt so far; the slice is the Collapser's.
func (c *Collapser) Rules() []*Rule { return c.rules }

// AddRule installs a rule, e.g. one restored from saved state.
func (c *Collapser) AddRule(r *Rule) {
	c.rules = append(c.rules, r)
	clear(c.cache)
}

// Apply returns the collapsed form of a layer-2 template, or tmpl itself.
// It allocates only the first time it sees a template (results are cached).
func (c *Collapser) Apply(tmpl string) string {
	if len(c.rules) == 0 {
		return tmpl
	}
	if out, ok := c.cache[tmpl]; ok {
		return out
	}
	out := tmpl
	segs := Segments(tmpl)
	for _, r := range c.rules {
		if r.matches(segs) && !c.spec.Literal(segs[:r.Pos], segs[r.Pos]) &&
			!c.parents[parentKey(segs[:r.Pos], segs[r.Pos])] {
			segs[r.Pos] = "{" + r.Name + "}"
			out = "/" + strings.Join(segs, "/")
			break
		}
	}
	if len(c.cache) >= c.cfg.maxGroups()*4 {
		clear(c.cache)
	}
	c.cache[tmpl] = out
	return out
}

// Observe learns from a new (collapsed, per Apply) template. When it
// completes a group it returns the new rule; hits reports how often a
// template was requested so far, to keep frequent literals apart (may be
// nil). Call it once per new template, not per request.
func (c *Collapser) Observe(tmpl string, hits func(tmpl string) int64) *Rule {
	segs := Segments(tmpl)
	c.noteParents(segs)
	var made *Rule
	// Only one generic position per merge: each group varies one position
	// and everything else must be equal.
	for pos := 1; pos < len(segs) && made == nil; pos++ {
		v := segs[pos]
		if IsParam(v) || excluded(v) || IsParam(segs[pos-1]) {
			continue
		}
		if c.spec.Literal(segs[:pos], v) || c.parents[parentKey(segs[:pos], v)] {
			continue
		}
		key := strings.Join(segs[:pos], "/") + "\x00" + strings.Join(segs[pos+1:], "/")
		g := c.groups[key]
		if g == nil {
			if len(c.groups) >= c.cfg.maxGroups() {
				continue
			}
			g = &group{prefix: segs[:pos:pos], suffix: segs[pos+1:], pos: pos,
				values: make(map[string]bool)}
			c.groups[key] = g
		}
		if g.done {
			continue
		}
		g.values[v] = true
		// Siblings found to be collections since they joined leave first.
		for w := range g.values {
			if c.parents[parentKey(g.prefix, w)] {
				delete(g.values, w)
			}
		}
		if len(g.values) >= c.cfg.threshold() {
			made = c.collapse(g, hits)
		}
	}
	return made
}

// noteParents records the literals of segs that stand right before a
// parameter. A new one that a rule covers is no longer collapsed: the cache
// of collapsed templates starts afresh.
func (c *Collapser) noteParents(segs []string) {
	for pos := 1; pos+1 < len(segs); pos++ {
		v := segs[pos]
		if IsParam(v) || !IsParam(segs[pos+1]) {
			continue
		}
		k := parentKey(segs[:pos], v)
		if c.parents[k] {
			continue
		}
		if len(c.parents) >= c.cfg.maxGroups()*4 {
			clear(c.parents)
		}
		c.parents[k] = true
		clear(c.cache)
	}
}

// parentKey keys the literal v after prefix in Collapser.parents.
func parentKey(prefix []string, v string) string {
	return strings.Join(prefix, "/") + "\x00" + v
}

// collapse turns a full group into a rule.
func (c *Collapser) collapse(g *group, hits func(string) int64) *Rule {
	g.done = true
	keep := map[string]bool{}
	if hits != nil {
		counts := make([]int64, 0, len(g.values))
		byValue := make(map[string]int64, len(g.values))
		for v := range g.values {
			n := hits(joinPath(g.prefix, v, g.suffix))
			counts = append(counts, n)
			byValue[v] = n
		}
		sort.Slice(counts, func(i, j int) bool { return counts[i] < counts[j] })
		median := counts[len(counts)/2]
		for v, n := range byValue {
			if median > 0 && n >= c.cfg.frequentFactor()*median {
				keep[v] = true
			}
		}
	}
	// Collections under the same prefix stay out of the rule, also when it
	// is restored without what this Collapser has seen.
	pre := parentKey(g.prefix, "")
	for k := range c.parents {
		if strings.HasPrefix(k, pre) {
			keep[k[len(pre):]] = true
		}
	}
	used := make([]string, 0)
	for _, s := range g.prefix {
		if IsParam(s) {
			used = append(used, strings.Trim(s, "{}"))
		}
	}
	for _, s := range g.suffix {
		if IsParam(s) {
			used = append(used, strings.Trim(s, "{}"))
		}
	}
	r := &Rule{Prefix: g.prefix, Pos: g.pos, Suffix: g.suffix,
		Name: paramName(g.prefix[g.pos-1], "", KindString, used)}
	if len(keep) > 0 {
		r.Keep = keep
	}
	c.rules = append(c.rules, r)
	clear(c.cache)
	return r
}

// excluded reports literals that never collapse, whatever their count:
// reserved words, versions and file names.
func excluded(v string) bool { return reserved[v] || isVersionLike(v) || isFileName(v) }

func joinPath(prefix []string, v string, suffix []string) string {
	segs := make([]string, 0, len(prefix)+1+len(suffix))
	segs = append(append(append(segs, prefix...), v), suffix...)
	return "/" + strings.Join(segs, "/")
}
