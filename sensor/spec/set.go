package spec

import (
	"errors"
	"slices"
	"sort"
	"strings"

	"github.com/apitap/apitap/sensor/template"
)

// Set is every loaded spec plus the host mapping. Build it with Load or
// NewSet and Add; it is safe for concurrent use once built.
type Set struct {
	specs   []*Spec
	mapping map[string][]*Spec // host → specs assigned by configuration
	cache   map[serviceKey]*Service
}

type serviceKey struct {
	host string
	port uint16
}

// Service is the documented view of one service: the templates of every
// spec that covers it.
type Service struct {
	Specs  []*Spec
	Router *template.Router
	ops    map[string]*Operation // "METHOD template"
	list   []*Operation
}

// NewSet returns an empty set.
func NewSet() *Set {
	return &Set{mapping: map[string][]*Spec{}, cache: map[serviceKey]*Service{}}
}

// Load parses every file. It returns the set of documents that loaded and,
// if any failed, an error joining one error per bad file (each naming the
// file); the set is usable either way.
func Load(files ...string) (*Set, error) {
	s := NewSet()
	var errs []error
	for _, f := range files {
		sp, err := LoadFile(f)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		s.Add(sp)
	}
	return s, errors.Join(errs...)
}

// Add includes a parsed spec.
func (s *Set) Add(sp *Spec) {
	s.specs = append(s.specs, sp)
	clear(s.cache)
}

// Map assigns sp to host (lower case, no port), in addition to its servers.
// Once a host has a mapping, specs without absolute servers no longer
// cover it implicitly.
func (s *Set) Map(host string, sp *Spec) {
	host = strings.ToLower(host)
	s.mapping[host] = append(s.mapping[host], sp)
	clear(s.cache)
}

// Specs returns the loaded specs; the slice is the set's.
func (s *Set) Specs() []*Spec {
	if s == nil {
		return nil
	}
	return s.specs
}

// For returns the documented view of the service a request reached: host
// is the Host header (or the server address when there is none), addr the
// server IP as text and port its port. It returns nil when no spec covers
// the service. Results are cached; For is not safe for concurrent use with
// Add or Map.
func (s *Set) For(host, addr string, port uint16) *Service {
	if s == nil || len(s.specs) == 0 {
		return nil
	}
	key := serviceKey{host: host + "|" + addr, port: port}
	if sv, ok := s.cache[key]; ok {
		return sv
	}
	var covering []*Spec
	mapped := s.mapping[host]
	covering = append(covering, mapped...)
	for _, sp := range s.specs {
		if contains(covering, sp) {
			continue
		}
		if sp.Absolute() || sp.opsAbsolute() {
			if sp.names(host, addr, port) {
				covering = append(covering, sp)
			}
		} else if len(mapped) == 0 && !mappedElsewhere(s.mapping, sp) {
			covering = append(covering, sp)
		}
	}
	var sv *Service
	if len(covering) > 0 {
		sv = newService(covering, mapped, host, addr, port)
	}
	s.cache[key] = sv
	return sv
}

// opsAbsolute reports whether an operation's own servers name a host.
func (sp *Spec) opsAbsolute() bool {
	for _, o := range sp.Ops {
		if anyAbsolute(o.Servers) {
			return true
		}
	}
	return false
}

// names reports whether an absolute server of sp, top-level or an
// operation's, is the service at host (or addr) and port.
func (sp *Spec) names(host, addr string, port uint16) bool {
	match := func(list []Server) bool {
		for _, srv := range list {
			if srv.Host != "" && srv.serves(host, addr, port) {
				return true
			}
		}
		return false
	}
	if match(sp.Servers) {
		return true
	}
	for _, o := range sp.Ops {
		if match(o.Servers) {
			return true
		}
	}
	return false
}

func mappedElsewhere(m map[string][]*Spec, sp *Spec) bool {
	for _, list := range m {
		if contains(list, sp) {
			return true
		}
	}
	return false
}

func contains(list []*Spec, sp *Spec) bool {
	for _, v := range list {
		if v == sp {
			return true
		}
	}
	return false
}

// newService builds the router over the specs' operations, prefixing each
// template with the base path of the server that matched (or of every
// relative server). An operation with servers of its own goes by those, and
// is left out when none of them serves this service; so are the others of
// a spec that covers the service only through such operations. Specs in
// mapped were assigned to the host by configuration: their operations
// without servers of their own are all on it.
func newService(specs, mapped []*Spec, host, addr string, port uint16) *Service {
	sv := &Service{Specs: specs, Router: template.NewRouter(), ops: map[string]*Operation{}}
	for _, sp := range specs {
		specBases := basesFor(sp.Servers, host, addr, port)
		if len(specBases) == 0 && (contains(mapped, sp) || !sp.Absolute()) {
			specBases = []string{""}
		}
		for _, o := range sp.Ops {
			bases := specBases
			if len(o.Servers) > 0 {
				bases = basesFor(o.Servers, host, addr, port)
			}
			for _, base := range bases {
				sv.add(o, base)
			}
		}
	}
	sort.Slice(sv.list, func(i, j int) bool {
		a, b := sv.list[i], sv.list[j]
		if a.Template != b.Template {
			return a.Template < b.Template
		}
		return a.Method < b.Method
	})
	return sv
}

// basesFor returns the distinct base paths of the servers that serve host
// (or addr) and port, sorted.
func basesFor(servers []Server, host, addr string, port uint16) []string {
	var bases []string
	for _, srv := range servers {
		if srv.serves(host, addr, port) && !slices.Contains(bases, srv.BasePath) {
			bases = append(bases, srv.BasePath)
		}
	}
	sort.Strings(bases)
	return bases
}

// add routes operation o under base; the first operation of a method and
// template wins.
func (sv *Service) add(o *Operation, base string) {
	tmpl := base + o.Template
	op := o
	if base != "" {
		c := *o
		c.Template = tmpl
		op = &c
	}
	sv.Router.Add(tmpl, o.PathParams)
	k := op.Method + " " + tmpl
	if _, dup := sv.ops[k]; !dup {
		sv.ops[k] = op
		sv.list = append(sv.list, op)
	}
}

// Operation returns the documented operation, or nil.
func (sv *Service) Operation(method, tmpl string) *Operation {
	if sv == nil {
		return nil
	}
	return sv.ops[method+" "+tmpl]
}

// Operations lists the service's documented operations in template order;
// the slice is the service's.
func (sv *Service) Operations() []*Operation {
	if sv == nil {
		return nil
	}
	return sv.list
}
