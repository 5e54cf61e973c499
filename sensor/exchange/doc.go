// Package exchange defines what the parsing core hands to analysis: one HTTP
// request paired with its response (Exchange), the summary of a finished flow
// (Flow), and what DNS answered (DNS).
//
// These are plain values. The core fills them from reassembled streams; the
// analysis packages (inventory, vendors, sensitive data) read them and must
// not keep pointers into them past the call that handed them over, because
// the core may reuse the slices. Analysis must never copy a raw credential,
// query value or body byte into anything that leaves the process.
package exchange
