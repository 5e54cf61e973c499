package spec

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"sort"
	"strconv"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
	"gopkg.in/yaml.v3"
)

// Operation is one documented method + template.
type Operation struct {
	Method   string // upper case
	Template string // server base path included: /v1/users/{id}
	// PathParams maps a path parameter name to its schema type.
	PathParams  map[string]string
	QueryParams []string // declared query parameter names, sorted
	Deprecated  bool
	// Statuses are the documented response codes: "200", "4XX", "default".
	Statuses      []string
	RequestTypes  []string // request body media types
	ResponseTypes []string // response media types over all statuses
	// AuthRequired is set when the effective security requirement has no
	// empty alternative.
	AuthRequired bool
	// Servers are the operation's own, or its path's, when the document
	// overrides its top-level servers there; nil otherwise. An operation
	// with servers covers only the services they name.
	Servers []Server
	Spec    *Spec
}

// Server is where a spec says its API lives.
type Server struct {
	Host     string // lower case; "" when the URL is relative
	Port     uint16 // 0 when the URL has no port
	BasePath string // "/v1", or "" for none
}

// Spec is one loaded document.
type Spec struct {
	File    string
	Title   string
	Version string // the openapi field: "3.0.3", "3.1.0"
	Servers []Server
	Ops     []*Operation
	// Tolerant is set when kin-openapi refused the document and the
	// fallback reader produced the operations.
	Tolerant bool
}

// Absolute reports whether any top-level server names a host.
func (s *Spec) Absolute() bool { return anyAbsolute(s.Servers) }

func anyAbsolute(servers []Server) bool {
	for _, sv := range servers {
		if sv.Host != "" {
			return true
		}
	}
	return false
}

// serves reports whether srv is the service at host (or addr) and port; a
// relative server serves every one.
func (srv Server) serves(host, addr string, port uint16) bool {
	return (srv.Host == "" || srv.Host == host || srv.Host == addr) &&
		(srv.Port == 0 || srv.Port == port)
}

// ErrNoPaths is returned for documents that declare no operations at all.
var ErrNoPaths = errors.New("spec: document has no paths")

// LoadFile reads and parses one document.
func LoadFile(path string) (*Spec, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("spec: read %s: %w", path, err)
	}
	return Parse(path, data)
}

// Parse parses a document; name (usually the file) appears in errors.
func Parse(name string, data []byte) (*Spec, error) {
	var head struct {
		OpenAPI string `yaml:"openapi"`
		Swagger string `yaml:"swagger"`
	}
	if err := yaml.Unmarshal(data, &head); err != nil {
		return nil, fmt.Errorf("spec: %s: not YAML or JSON: %w", name, err)
	}
	if head.Swagger != "" {
		return nil, fmt.Errorf("spec: %s: swagger %s documents are not supported, "+
			"convert to OpenAPI 3", name, head.Swagger)
	}
	if !strings.HasPrefix(head.OpenAPI, "3.") {
		return nil, fmt.Errorf("spec: %s: missing or unsupported openapi version %q",
			name, head.OpenAPI)
	}

	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData(data)
	if err == nil {
		err = doc.Validate(context.Background(), openapi3.DisableExamplesValidation(),
			openapi3.DisableSchemaDefaultsValidation(), openapi3.DisableSchemaPatternValidation())
	}
	if err != nil {
		if strings.HasPrefix(head.OpenAPI, "3.1") {
			if sp, terr := parseTolerant(name, data); terr == nil {
				return sp, nil
			}
		}
		return nil, fmt.Errorf("spec: %s: %w", name, err)
	}

	sp := &Spec{File: name, Version: doc.OpenAPI}
	if doc.Info != nil {
		sp.Title = doc.Info.Title
	}
	for _, s := range doc.Servers {
		sp.Servers = append(sp.Servers, parseServer(s.URL, s.Variables))
	}
	if doc.Paths == nil || doc.Paths.Len() == 0 {
		return nil, fmt.Errorf("spec: %s: %w", name, ErrNoPaths)
	}
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			o := &Operation{Method: strings.ToUpper(method), Template: path,
				Deprecated: op.Deprecated, Spec: sp, PathParams: map[string]string{}}
			addParams(o, item.Parameters)
			addParams(o, op.Parameters)
			if op.RequestBody != nil && op.RequestBody.Value != nil {
				for mt := range op.RequestBody.Value.Content {
					o.RequestTypes = appendUnique(o.RequestTypes, strings.ToLower(mt))
				}
			}
			if op.Responses != nil {
				for code, ref := range op.Responses.Map() {
					o.Statuses = append(o.Statuses, code)
					if ref.Value != nil {
						for mt := range ref.Value.Content {
							o.ResponseTypes = appendUnique(o.ResponseTypes, strings.ToLower(mt))
						}
					}
				}
			}
			o.Servers = opServers(item.Servers, op.Servers)
			sec := doc.Security
			if op.Security != nil {
				sec = *op.Security
			}
			o.AuthRequired = requiresAuth(len(sec), func(i int) int { return len(sec[i]) })
			sp.Ops = append(sp.Ops, o)
		}
	}
	finish(sp)
	return sp, nil
}

// opServers returns the servers that override the document's for one
// operation: its own, else its path's, else nil.
func opServers(path openapi3.Servers, op *openapi3.Servers) []Server {
	list := path
	if op != nil && len(*op) > 0 {
		list = *op
	}
	var out []Server
	for _, s := range list {
		if s != nil {
			out = append(out, parseServer(s.URL, s.Variables))
		}
	}
	return out
}

func addParams(o *Operation, params openapi3.Parameters) {
	for _, ref := range params {
		p := ref.Value
		if p == nil {
			continue
		}
		switch p.In {
		case openapi3.ParameterInQuery:
			o.QueryParams = appendUnique(o.QueryParams, p.Name)
		case openapi3.ParameterInPath:
			typ := "string"
			if p.Schema != nil && p.Schema.Value != nil && p.Schema.Value.Type != nil {
				if s := p.Schema.Value.Type.Slice(); len(s) > 0 {
					typ = s[0]
				}
				if f := p.Schema.Value.Format; f != "" {
					typ = f // uuid, date, email say more than "string"
				}
			}
			o.PathParams[p.Name] = typ
		}
	}
}

// requiresAuth: security is a list of alternatives; an empty alternative
// ({}) means anonymous access is allowed.
func requiresAuth(n int, size func(int) int) bool {
	if n == 0 {
		return false
	}
	for i := 0; i < n; i++ {
		if size(i) == 0 {
			return false
		}
	}
	return true
}

// parseServer reads a server URL, substituting variable defaults.
func parseServer(raw string, vars map[string]*openapi3.ServerVariable) Server {
	for name, v := range vars {
		if v != nil {
			raw = strings.ReplaceAll(raw, "{"+name+"}", v.Default)
		}
	}
	u, err := url.Parse(raw)
	if err != nil {
		return Server{}
	}
	sv := Server{BasePath: strings.TrimRight(u.Path, "/")}
	if u.Host != "" {
		host, port, err := net.SplitHostPort(u.Host)
		if err != nil {
			host = u.Host
		} else if p, err := strconv.ParseUint(port, 10, 16); err == nil {
			sv.Port = uint16(p)
		}
		sv.Host = strings.ToLower(strings.Trim(host, "[]"))
	}
	return sv
}

// finish sorts the spec's lists so output is stable.
func finish(sp *Spec) {
	for _, o := range sp.Ops {
		sort.Strings(o.QueryParams)
		sort.Strings(o.Statuses)
		sort.Strings(o.RequestTypes)
		sort.Strings(o.ResponseTypes)
	}
	sort.Slice(sp.Ops, func(i, j int) bool {
		a, b := sp.Ops[i], sp.Ops[j]
		if a.Template != b.Template {
			return a.Template < b.Template
		}
		return a.Method < b.Method
	})
}

func appendUnique(list []string, s string) []string {
	for _, v := range list {
		if v == s {
			return list
		}
	}
	return append(list, s)
}

// DocumentsStatus reports whether the operation documents status code,
// directly, as a range ("4XX") or through "default". It does not allocate.
func (o *Operation) DocumentsStatus(code int) bool {
	if code < 100 || code > 999 {
		return false
	}
	digits := [3]byte{byte('0' + code/100), byte('0' + code/10%10), byte('0' + code%10)}
	for _, s := range o.Statuses {
		if s == "default" {
			return true
		}
		if len(s) != 3 || s[0] != digits[0] {
			continue
		}
		if (s[1] == digits[1] && s[2] == digits[2]) ||
			((s[1] == 'X' || s[1] == 'x') && (s[2] == 'X' || s[2] == 'x')) {
			return true
		}
	}
	return false
}

// DocumentsQuery reports whether name is a declared query parameter.
func (o *Operation) DocumentsQuery(name string) bool {
	i := sort.SearchStrings(o.QueryParams, name)
	return i < len(o.QueryParams) && o.QueryParams[i] == name
}

// DocumentsResponseType reports whether the media type is declared for a
// response (wildcards like application/* and */* count).
func (o *Operation) DocumentsResponseType(mt string) bool {
	return mediaMatch(o.ResponseTypes, mt)
}

// DocumentsRequestType is DocumentsResponseType for the request body.
func (o *Operation) DocumentsRequestType(mt string) bool {
	return mediaMatch(o.RequestTypes, mt)
}

func mediaMatch(list []string, mt string) bool {
	if mt == "" {
		return true
	}
	for _, d := range list {
		if d == mt || d == "*/*" {
			return true
		}
		if strings.HasSuffix(d, "/*") && strings.HasPrefix(mt, d[:len(d)-1]) {
			return true
		}
	}
	return false
}
