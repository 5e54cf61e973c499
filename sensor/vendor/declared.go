package vendor

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"gopkg.in/yaml.v3"
)

// Declared is the list of approved vendors, read from the file given to
// --vendors. Its format:
//
//	# Vendors every local service may call: catalog ids or domains.
//	vendors:
//	  - stripe
//	  - sentry
//	  - partner-api.example.com   # a domain covers the names under it
//	# Vendors that only some services may call, keyed by service. A key
//	# matches a source by process name (comm), container, pod, client IP,
//	# or the "host:port" / "host" a local service was called by.
//	services:
//	  "api.internal:8080": [openai, twilio]
//	  billing-worker: [adyen]
//
// Both keys are optional; any other key is an error. An entry without a dot
// is a catalog id and must exist in the catalog; an entry with a dot is a
// domain ("*." allowed). Errors name the file, the line and the field.
//
// A Declared is immutable after parsing and safe for concurrent use.
type Declared struct {
	global   approvals
	services map[string]*approvals
}

type approvals struct {
	ids     map[string]bool
	domains map[string]bool // lower case, without "*."
}

func (a *approvals) allows(v *Vendor, host string) bool {
	if a == nil {
		return false
	}
	if v != nil && a.ids[v.ID] {
		return true
	}
	for h := host; h != ""; {
		if a.domains[h] {
			return true
		}
		i := strings.IndexByte(h, '.')
		if i < 0 {
			break
		}
		h = h[i+1:]
	}
	return false
}

// ErrDeclared marks every error from reading a declared-vendors file.
var ErrDeclared = errors.New("vendor: invalid declared vendors")

// LoadDeclared reads and parses a declared-vendors file; see ParseDeclared.
func LoadDeclared(path string, cat *Catalog) (*Declared, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("vendor: read declared vendors: %w", err)
	}
	return ParseDeclared(path, data, cat)
}

// ParseDeclared parses a declared-vendors file (format on Declared). name
// is the file name used in errors; ids are checked against cat (Default()
// when nil).
func ParseDeclared(name string, data []byte, cat *Catalog) (*Declared, error) {
	if cat == nil {
		cat = Default()
	}
	p := declParser{name: name, cat: cat}
	d := &Declared{services: make(map[string]*approvals)}

	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrDeclared, name, err)
	}
	if doc.Kind == 0 || len(doc.Content) == 0 {
		return d, nil // an empty file approves nothing
	}
	root := doc.Content[0]
	if root.Kind == yaml.ScalarNode && root.Tag == "!!null" {
		return d, nil
	}
	if root.Kind != yaml.MappingNode {
		return nil, p.errorf(root, "", "top level must be a mapping with keys vendors and services")
	}
	for i := 0; i+1 < len(root.Content); i += 2 {
		k, v := root.Content[i], root.Content[i+1]
		switch k.Value {
		case "vendors":
			if err := p.list(v, "vendors", &d.global); err != nil {
				return nil, err
			}
		case "services":
			if err := p.services(v, d); err != nil {
				return nil, err
			}
		default:
			return nil, p.errorf(k, k.Value, "unknown key (want vendors or services)")
		}
	}
	return d, nil
}

// Allows reports whether a source known by the given identities may call
// the destination host (lower case) run by v (nil when unclassified).
func (d *Declared) Allows(identities []string, v *Vendor, host string) bool {
	if d.global.allows(v, host) {
		return true
	}
	for _, id := range identities {
		if d.services[id].allows(v, host) {
			return true
		}
	}
	return false
}

// Services returns how many services have their own list.
func (d *Declared) Services() int { return len(d.services) }

type declParser struct {
	name string
	cat  *Catalog
}

func (p *declParser) errorf(n *yaml.Node, field, format string, args ...any) error {
	msg := fmt.Sprintf(format, args...)
	if field != "" {
		return fmt.Errorf("%w: %s:%d: %s: %s", ErrDeclared, p.name, n.Line, field, msg)
	}
	return fmt.Errorf("%w: %s:%d: %s", ErrDeclared, p.name, n.Line, msg)
}

func (p *declParser) services(n *yaml.Node, d *Declared) error {
	if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
		return nil
	}
	if n.Kind != yaml.MappingNode {
		return p.errorf(n, "services", "must be a mapping of service to a list of vendors")
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		svc := strings.TrimSpace(k.Value)
		if k.Kind != yaml.ScalarNode || svc == "" {
			return p.errorf(k, "services", "service name must be a non-empty string")
		}
		if _, dup := d.services[svc]; dup {
			return p.errorf(k, "services."+svc, "service listed twice")
		}
		a := &approvals{}
		if err := p.list(v, "services."+svc, a); err != nil {
			return err
		}
		d.services[svc] = a
	}
	return nil
}

func (p *declParser) list(n *yaml.Node, field string, a *approvals) error {
	if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
		return nil
	}
	if n.Kind != yaml.SequenceNode {
		return p.errorf(n, field, "must be a list of vendor ids or domains")
	}
	if a.ids == nil {
		a.ids = make(map[string]bool)
		a.domains = make(map[string]bool)
	}
	for _, e := range n.Content {
		if e.Kind != yaml.ScalarNode || e.Tag != "!!str" {
			return p.errorf(e, field, "entry must be a vendor id or a domain")
		}
		s := strings.ToLower(strings.TrimSpace(e.Value))
		if strings.Contains(s, ".") {
			if !ValidDomain(s) {
				return p.errorf(e, field, "invalid domain %q", e.Value)
			}
			a.domains[strings.TrimPrefix(s, "*.")] = true
			continue
		}
		if p.cat.ByID(s) == nil {
			return p.errorf(e, field, "unknown vendor id %q (see apitap vendors)", e.Value)
		}
		a.ids[s] = true
	}
	return nil
}
