// Package vendor maps the API supply chain: which third parties the local
// services call, what they are, and whether they were approved.
//
// It holds three things. The catalog (catalog.yaml, embedded) names several
// hundred services by domain, with a category and a trust tier, and Match
// finds a host name's vendor by longest label-aligned suffix without
// allocating. The declared list (a YAML file, see ParseDeclared) says which
// vendors each local service may call. The Analyzer consumes exchanges,
// flows and DNS answers from the core, names every external destination
// with the best evidence at hand (HTTP Host, TLS or QUIC SNI, the client's
// own DNS answers, else the bare IP), and reports third parties and
// findings.
//
// The package never resolves names, never reads the wall clock (times come
// from packets), and never records a header value or a query string: only
// host names, addresses, sizes and counts.
package vendor
