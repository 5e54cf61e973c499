// Package template turns concrete request paths into endpoint templates:
// /api/v2/customers/4711/invoices/9f0c… becomes
// /api/v2/customers/{customerId}/invoices/{invoiceId}.
//
// Three layers run in order:
//
//  1. Router: templates a spec documents. When a spec covers the service, a
//     path that matches one of its templates takes it; literal segments beat
//     parameters and, among several matches, the one with the fewest
//     parameters wins.
//  2. Templater: stateless typing of each segment (Classify). Integers,
//     UUIDs, object ids, hex ids, ULID/KSUID-like and other high-entropy
//     tokens, JWTs, emails, phone and card numbers, dates and long opaque
//     strings become parameters; words, "api", versions ("v1", "1.2", an ISO
//     date in a version position) and file names ("report.csv") stay
//     literal. Emails, phone and card numbers are flagged Sensitive: such a
//     value in a path deserves a finding of its own.
//  3. Collapser: per-service cardinality. Many distinct literal siblings
//     with the same prefix and suffix (/users/alice/profile,
//     /users/bob/profile, …) collapse into one parameter
//     (/users/{user}/profile), with guards against over-merging.
//
// Parameter names come from the parent segment (customers → customerId,
// addresses → addressId), else id, id2, …; types are the Kind names
// (integer, uuid, objectid, hex, token, jwt, email, phone, card, date,
// string).
//
// The stateless layers allocate nothing for a path whose shape was seen
// before: shapes are interned and returned as shared *Shape values that
// callers must not modify. Nothing here is safe for concurrent use; each
// worker owns its Templater and the caller serialises Collapser calls.
package template
