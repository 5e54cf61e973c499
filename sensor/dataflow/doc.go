// Package dataflow answers "what sensitive data goes to whom": it runs the
// detectors of package detect over each exchange, keeps a bounded map of
// data flows per (destination, data class, position, direction) with a risk
// score, tracks every credential by its keyed fingerprint (issuer,
// destinations, distinct clients), and raises findings when a credential is
// misused or data reaches a destination its policy does not allow.
//
// Input is one exchange.Exchange at a time plus a resolver that tells, for
// each exchange, which Destination (vendor, tier, declared or not) it went
// to. Output is three snapshots, DataFlows, Credentials and Findings, whose
// JSON field names are part of the output contract.
//
// Nothing this package outputs holds a raw value: credentials and personal
// data appear as fingerprints and redacted previews, JWTs as their header
// and registered claims (never the signature, the token or the subject).
// Times are packet times (the exchange's Start), never the wall clock, so an
// offline capture replays to the same result.
package dataflow
