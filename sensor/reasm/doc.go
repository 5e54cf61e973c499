// Package reasm puts the segments of one direction of a TCP connection back
// in order, and says where bytes were lost.
//
// A Stream takes segments as they were captured: in order, out of order,
// retransmitted, overlapping, picked up mid-connection with no SYN seen. It
// hands contiguous bytes to a Sink and reports a gap, with its length, when
// it gives up waiting for missing bytes: when the peer acknowledged data the
// capture never saw (it reached the receiver, so it is not coming again),
// when the bytes buffered out of order pass the stream's limit, or when the
// stream ends. The parser behind the Sink resynchronises after a gap.
//
// Out-of-order bytes are copied into buffers drawn from a Budget shared by
// every stream of one worker, so one flow, or a flood of them, cannot grow
// memory past the configured total. In-order bytes are never copied: the
// Sink sees the capture buffer directly and must not keep it.
package reasm
