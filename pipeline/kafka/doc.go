// Package kafka is the sink that ships OCSF events to Kafka with
// segmentio/kafka-go, and falls back to an on-disk spool (package
// pipeline/spool) whenever the brokers are unreachable or slow.
//
// Topics: one per event class, by default apitap.findings for Detection and
// Data Security Findings (2004, 2006) and apitap.inventory for inventory
// rows (6003). The message key is the finding uid (inventory: the endpoint or
// vendor id) and the writer hashes keys to partitions, so every update of one
// finding lands on one partition, in order.
//
// Delivery: Write sends a batch with RequiredAcks=all and returns once Kafka
// acknowledged it or, failing that, once the failed part is fsynced in the
// spool. While the spool holds anything, new batches are appended behind it
// rather than sent, so replay keeps the original order; a replay goroutine
// sends the spool oldest batch first and acknowledges each batch only after
// Kafka did. Delivery is at-least-once: a crash between Kafka's ack and the
// spool's cursor update re-sends one batch, which consumers de-duplicate by
// metadata.uid or finding_info.uid. Only a full spool drops events; they are
// counted (Stats.Dropped) and logged at most once per interval.
//
// Defaults, all set explicitly on the kafka-go Writer rather than trusting its
// own (which batch for a second and do not wait for acks): zstd compression
// (klauspost/compress), BatchSize 10000 messages, BatchBytes 8 MiB,
// BatchTimeout 1 ms (the sink.Queue in front already batches), MaxAttempts 3, WriteTimeout 10 s.
//
// Start-up checks that every configured topic exists and fails with an error
// naming the missing topic. When no broker answers at start the sink starts
// anyway in spooling mode, so a sensor that boots during a Kafka outage loses
// nothing.
//
// TLS (CA file, client certificate and key) and SASL (PLAIN, SCRAM-SHA-256,
// SCRAM-SHA-512) are configured in Config. kafka-go's own log lines go to
// slog: its info logger at Debug, its error logger at Warn.
package kafka
