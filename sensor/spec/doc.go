// Package spec loads OpenAPI documents (3.0 and 3.1, YAML or JSON) and
// answers what the inventory asks of them: which specs cover a service,
// which documented template a path matches, and what an operation declares
// (deprecation, query parameters, status codes, content types, whether it
// requires authentication).
//
// Documents are loaded with kin-openapi, which reads 3.1 in the version
// this module pins. Should kin-openapi refuse a document that declares 3.1
// (3.1 allows constructs it may not know), Parse falls back to a tolerant
// read of paths and operations with yaml.v3 and marks the Spec Tolerant:
// operations are complete, but $ref is resolved only for local
// #/components/parameters and nothing is validated.
//
// A spec maps to services through the host[:port] of its absolute servers
// URLs. A spec without an absolute server URL covers every service, unless
// the Set's mapping (Set.Map) assigns it to hosts. A bad document is
// reported with its file name and the problem; the other documents of a
// Load keep working.
//
// A Set is safe for concurrent reads once loaded; Map and Add must happen
// before.
package spec
