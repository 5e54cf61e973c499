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
// An Inventory is not safe for concurrent use; the caller serialises Add and
// the read methods.
package inventory
