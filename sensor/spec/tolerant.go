package spec

import (
	"fmt"
	"strings"

	"gopkg.in/yaml.v3"
)

var methods = []string{"get", "put", "post", "delete", "options", "head", "patch", "trace"}

// parseTolerant reads paths and operations from a generic YAML tree, for
// 3.1 documents kin-openapi refuses. It resolves $ref only for local
// #/components/parameters/… and validates nothing.
func parseTolerant(name string, data []byte) (*Spec, error) {
	var doc map[string]any
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("spec: %s: %w", name, err)
	}
	sp := &Spec{File: name, Tolerant: true}
	sp.Version, _ = doc["openapi"].(string)
	if info, ok := doc["info"].(map[string]any); ok {
		sp.Title, _ = info["title"].(string)
	}
	sp.Servers = tolerantServers(doc["servers"])
	components, _ := doc["components"].(map[string]any)
	sharedParams, _ := components["parameters"].(map[string]any)
	resolve := func(p any) map[string]any {
		m, _ := p.(map[string]any)
		if ref, ok := m["$ref"].(string); ok {
			const prefix = "#/components/parameters/"
			if strings.HasPrefix(ref, prefix) {
				m, _ = sharedParams[strings.TrimPrefix(ref, prefix)].(map[string]any)
			}
		}
		return m
	}
	globalSec, hasGlobal := doc["security"].([]any)

	paths, _ := doc["paths"].(map[string]any)
	if len(paths) == 0 {
		return nil, fmt.Errorf("spec: %s: %w", name, ErrNoPaths)
	}
	for path, rawItem := range paths {
		item, _ := rawItem.(map[string]any)
		itemParams, _ := item["parameters"].([]any)
		for _, method := range methods {
			op, ok := item[method].(map[string]any)
			if !ok {
				continue
			}
			o := &Operation{Method: strings.ToUpper(method), Template: path, Spec: sp,
				PathParams: map[string]string{}}
			o.Deprecated, _ = op["deprecated"].(bool)
			if o.Servers = tolerantServers(op["servers"]); o.Servers == nil {
				o.Servers = tolerantServers(item["servers"])
			}
			opParams, _ := op["parameters"].([]any)
			for _, raw := range append(append([]any{}, itemParams...), opParams...) {
				p := resolve(raw)
				pname, _ := p["name"].(string)
				switch p["in"] {
				case "query":
					o.QueryParams = appendUnique(o.QueryParams, pname)
				case "path":
					typ := "string"
					if sch, ok := p["schema"].(map[string]any); ok {
						if t, ok := sch["type"].(string); ok {
							typ = t
						}
						if f, ok := sch["format"].(string); ok {
							typ = f
						}
					}
					o.PathParams[pname] = typ
				}
			}
			if rb, ok := op["requestBody"].(map[string]any); ok {
				if content, ok := rb["content"].(map[string]any); ok {
					for mt := range content {
						o.RequestTypes = appendUnique(o.RequestTypes, strings.ToLower(mt))
					}
				}
			}
			if resps, ok := op["responses"].(map[string]any); ok {
				for code, r := range resps {
					o.Statuses = append(o.Statuses, code)
					rm, _ := r.(map[string]any)
					if content, ok := rm["content"].(map[string]any); ok {
						for mt := range content {
							o.ResponseTypes = appendUnique(o.ResponseTypes, strings.ToLower(mt))
						}
					}
				}
			}
			sec, has := op["security"].([]any)
			if !has && hasGlobal {
				sec = globalSec
			}
			o.AuthRequired = requiresAuth(len(sec), func(i int) int {
				m, _ := sec[i].(map[string]any)
				return len(m)
			})
			sp.Ops = append(sp.Ops, o)
		}
	}
	finish(sp)
	return sp, nil
}

// tolerantServers reads a servers list, without variables, from a generic
// YAML tree; nil when there is none.
func tolerantServers(v any) []Server {
	list, _ := v.([]any)
	var out []Server
	for _, s := range list {
		if m, ok := s.(map[string]any); ok {
			u, _ := m["url"].(string)
			out = append(out, parseServer(u, nil))
		}
	}
	return out
}
