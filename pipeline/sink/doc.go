// Package sink moves encoded OCSF events from the analysis goroutines to
// where they are shipped: standard output, a size-rotated JSON-lines file, or
// Kafka (package pipeline/kafka implements the same Sink interface).
//
// Producers hand events to a Queue, a bounded hand-off. In live mode a full
// queue drops the event and counts it, because a capture loop must never
// block on a slow broker; in offline mode (reading a pcap file) the queue
// blocks instead, so nothing is lost and the run simply takes longer. One
// goroutine drains the queue in batches into the Sink.
//
// Publisher sits in front of a Queue: it tracks each finding's lifecycle
// (Create, then Update, then Close), encodes the event into a pooled buffer
// and queues it keyed by the finding uid (inventory: endpoint or vendor id).
//
// Buffers: an Event's Value is owned by the queue from Send until the sink's
// Write returns; it then goes back to a pool. A Sink must not keep an
// Event's bytes after Write returns.
package sink
