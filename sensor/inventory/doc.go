// Package inventory builds the API inventory from exchanges: one Endpoint
// per service and METHOD template, with request counts, status codes,
// content types, query parameter names, JSON field names and types, auth
// schemes, clients, first and last sighting, and how it compares with the
// specs (documented, shadow, zombie, orphan, unspecified, plus drift).
//
// Inputs: exchange.Exchange values (one per HTTP request and response) and
// an optional spec.Set. Outputs: Endpoints (the JSON output contract),
// Findings (shadow_api and zombie_api), Events (create, update and merge,
// for the Kafka pipeline), a persisted state file (Save, Load) and an
// OpenAPI 3.0.3 export of what was observed (ExportOpenAPI).
//
// Endpoint status:
//
//   - unspecified: no spec covers the service.
//   - documented: a spec documents the operation.
//   - zombie: the operation is documented as deprecated, or a response
//     carried a Deprecation or Sunset header, and it is still called.
//   - shadow: no spec documents it although one covers the service, and it
//     passed the noise guard: at least one non-4xx response, or at least
//     Config.ShadowMinRequests requests.
//   - unconfirmed: undocumented but failing the noise guard (a scanner's
//     404s); listed, never reported as a finding.
//   - orphan: documented, never seen; listed with requests 0.
//
// Endpoint ids are stable: an id is derived from the service, host, method
// and template when the endpoint is created, persists across Save/Load, and
// when a cardinality merge absorbs endpoints the merged endpoint gets its own
// id and a merge event lists the absorbed ones.
//
// The inventory never stores a header value, a query value or a body value:
// only names, types, counts and scheme labels.
//
// Field names and types come from the first Config.FieldSamples JSON bodies
// of each endpoint and side (4 by default); later bodies are not parsed. A
// value without a name (a second top-level value, or a value that follows
// no key in an object) records nothing.
//
// Add runs once per exchange and allocates nothing once an endpoint exists.
// A service remembers which endpoint each literal path and each template
// shape led to, so a repeated literal path skips segment typing and a
// repeated shape skips collapsing; a merge drops what it remembered. Body
// parsing skips the containers it does not record (past the depth limit,
// or past the first elements of an array) in one pass over their bytes.
//
// An Inventory is not safe for concurrent use; the caller serialises Add and
// the read methods.
package inventory
