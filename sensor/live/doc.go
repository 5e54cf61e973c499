// Package live is the sensor's daemon runtime: it turns a loaded
// configuration into running capture, parsing, analysis and shipping, and
// keeps them running until it is told to stop.
//
// The data path is sources → decode → engine workers → one analysis
// emitter. Live capture with PACKET_FANOUT gives every worker a socket of
// its own, so each worker goroutine owns one capture.Source, one
// decode.Decoder and one engine.Worker: there is no dispatcher and no
// packet crosses a goroutine. TLS plaintext from eBPF uprobes is fed to a
// worker of its own. All workers report to one emitter that serialises
// analysis (inventory, vendors) and can swap its configuration on Reload
// without dropping flows: the workers keep their flow tables, the emitter
// only changes what the exchanges are compared with.
//
// Every EmitInterval the runtime ships what changed as OCSF events: a
// finding, endpoint or vendor is sent with activity Create the first time
// its id is emitted and Update when its count has changed since the last
// emission; an unchanged one is not sent again. Which ids were emitted, and
// with what count, is persisted in the state directory together with the
// inventory, so a restarted sensor never announces a known finding as new.
//
// Stop (context cancellation) closes the capture, lets every worker finish
// its flows, emits one last time, saves the state and flushes (or spools)
// the sinks within ShutdownTimeout.
//
// Nothing here logs per packet or per exchange: workers count, and a
// metrics loop turns the counts into Prometheus collectors. A nil Logger
// discards.
package live
