// Package ocsf turns apitap findings and inventory changes into OCSF 1.5 JSON
// events, the schema every other part of the pipeline ships.
//
// # What is emitted
//
// Every event carries metadata.version "1.5.0", metadata.product (name
// "apitap", vendor_name, version = sensor version) and the sensor identity:
// device.hostname is the host name, device.name the node name (a Kubernetes
// node, or the host name again). metadata.uid is a per-emission id that is
// the same when the same state of a finding is sent twice, so a consumer can
// drop the duplicates that at-least-once delivery produces.
//
//   - Detection Finding (class_uid 2004, category_uid 2): shadow and zombie
//     APIs, undeclared or unclassified vendors, plaintext vendor traffic,
//     vendor callouts and credential misuse (credential_*, jwt_weak,
//     pii_unauthenticated).
//   - Data Security Finding (class_uid 2006, category_uid 2): sensitive data
//     sent to a destination (data_policy_violation) and data flow records.
//   - Inventory: API Activity (class_uid 6003, category_uid 6) with
//     metadata.log_name "apitap.inventory" and the inventory fields under
//     unmapped.apitap.
//
// A finding event has finding_info.uid = Finding.UID (stable across updates),
// finding_info.title, finding_info.types = [Finding.Type],
// finding_info.first_seen_time/last_seen_time (ms since the epoch), count,
// severity_id/severity, risk_score (0..100), activity_id (1 Create on the
// first emission, 2 Update after that, 3 Close when resolved), type_uid =
// class_uid*100 + activity_id, time (ms) and evidences[0].data holding
// Finding.Evidence. Source and destination go to evidences[0].src_endpoint
// and dst_endpoint.
//
// # Why inventory is API Activity
//
// OCSF has no class for "an API endpoint exists". API Activity (6003) is the
// class SIEMs already index by api.service.name and api.operation, which is
// exactly how an inventory row is looked up (service, "METHOD /template").
// The lifecycle maps onto its activities: first sighting = 1 Create, later
// changes = 3 Update, an endpoint or vendor no longer seen = 4 Delete. The
// metadata.log_name "apitap.inventory" and the apitap-only fields under
// unmapped.apitap (kind, spec_status, counts, vendor category and tier) keep
// inventory rows apart from ordinary API calls. The subset we emit is
// written down in schema/apitap-ocsf.schema.json (package schema embeds it); the tests validate every
// event kind against it.
//
// # What it must never do
//
// Emit a raw secret. Finding.Evidence is redacted upstream; the encoder
// checks every evidence string again and refuses the whole event with
// ErrRawSecret when one looks like a live credential (a JWT, a bearer or
// basic authorization value, a cloud access key, a private key).
//
// Encoding appends into a caller-owned buffer with no reflection for the
// fixed fields; an Encoder is not safe for concurrent use (give each
// goroutine its own).
package ocsf
