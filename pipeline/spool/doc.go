// Package spool is a bounded, crash-safe on-disk queue of event batches. The
// Kafka sink writes a batch here whenever the brokers are unreachable or slow
// and replays the spool, oldest batch first, once they answer again.
//
// On disk a spool is a directory of segment files (%020d.seg, numbered in
// order) and a cursor file. A segment is a sequence of records:
//
//	uint32 little-endian  length of the payload
//	uint32 little-endian  CRC-32C (Castagnoli) of the payload
//	payload               zstd frame holding one batch
//
// A batch is a sequence of events, each as uvarint-prefixed topic, key and
// value. Append writes one record per batch and fsyncs it before returning,
// so an acknowledged Append survives a crash. Open scans every segment,
// checks each record's length and checksum and truncates the file at the
// first torn or corrupt record (a crash mid-write leaves exactly that). The
// cursor file records the segment and offset of the oldest batch not yet
// delivered; it is replaced atomically (write, fsync, rename) on Ack, so a
// restart replays from the last acknowledged batch: delivery is
// at-least-once, never lossy.
//
// The spool is bounded by Config.MaxBytes. When a batch does not fit, Append
// returns ErrFull, counts the events as dropped and logs that at most once
// per Config.LogInterval: only a full spool loses events.
//
// A Spool is safe for concurrent use: typically one goroutine appends while
// another replays.
package spool
