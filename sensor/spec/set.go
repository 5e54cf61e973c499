package spec

import (
	"errors"
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
		if sp.Absolute() {
			for _, srv := range sp.Servers {
				if (srv.Host == host || srv.Host == addr) && (srv.Port == 0 || srv.Port == port) {
					covering = append(covering, sp)
					break
				}
			}
		} else if len(mapped) == 0 && !mappedElsewhere(s.mapping, sp) {
			covering = append(covering, sp)
		}
	}
	var sv *Service
	if len(covering) > 0 {
		sv = newService(covering, host, addr, port)
	}
	s.cache[key] = sv
	return sv
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
// relative server).
func newService(specs []*Spec, host, addr string, port uint16) *Service {
	sv := &Service{Specs: specs, Router: template.NewRouter(), ops: map[string]*Operation{}}
	for _, sp := range specs {
		bases := map[string]bool{}
		for _, srv := range sp.Servers {
			if (srv.Host == "" || srv.Host == host || srv.Host == addr) &&
				(srv.Port == 0 || srv.Port == port) {
				bases[srv.BasePath] = true
			}
		}
		if len(bases) == 0 {
			bases[""] = true
		}
		for base := range bases {
			for _, o := range sp.Ops {
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
