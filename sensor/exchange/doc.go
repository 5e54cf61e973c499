// Package exchange defines what the parsing core hands to analysis: one HTTP
// request paired with its response (Exchange), the summary of a finished flow
// (Flow), and what DNS answered (DNS).
//
// These are plain values. The core fills them from reassembled streams; the
// analysis packages (inventory, vendors, sensitive data) read them during the
// call that hands them over. Strings may be kept; slices (Message.Body,
// Headers, QueryKeys, Flow.ALPN, DNS.Addrs…) must not be kept past the call,
// because the core reuses the memory behind them: Body, for one, is a view
// of the parser's buffer. Analysis must never copy a raw credential,
// query value or body byte into anything that leaves the process.
package exchange
