// Package engine is the sensor's parsing core: it takes decoded packets,
// keeps the flow table, reassembles TCP, recognises what each flow carries
// (HTTP/1.x and h2c, TLS, DNS, QUIC) and hands analysis what it found, as
// exchange values: one Exchange per HTTP request and response, one Flow per
// finished flow, one DNS per answer.
//
// A Worker owns a disjoint set of flows and is not safe for concurrent use.
// Run spreads the packets of a source over several workers by flow hash;
// with one worker everything happens on the calling goroutine.
//
// On the packet path the engine allocates nothing for a packet of a known
// flow; allocations happen per flow (its state) and per exchange (the strings
// handed to analysis). Malformed input is counted, never fatal.
package engine
