// Package ebpf loads apitap's eBPF programs (bpf/*.c, compiled by bpf2go into
// the committed *_bpfel.go and .o files) and turns what they report into the
// inputs the rest of the sensor consumes.
//
// It offers two sources:
//
//   - Capture, a capture.Source fed by a TCX (or, on kernels before 6.6, a tc
//     clsact) program on the configured interfaces. The kernel filters TCP by
//     port and CIDR, skips flows whose first bytes are neither HTTP nor a TLS
//     handshake, and copies the IP and TCP headers plus a bounded payload
//     prefix into a ring buffer. Each record is presented as a raw IP packet
//     (capture.LinkRaw) so the same decoder and reassembly as AF_PACKET
//     consume it.
//   - TLSSource, uprobes on OpenSSL 1.1/3.x SSL_read/SSL_write (and _ex) that
//     deliver plaintext Chunks already in order per connection, tagged with
//     the process, its cgroup and the socket's addresses.
//
// A third program, SocketMap, serves packet capture (either kind): BTF and
// syscall tracepoints record which process connected or accepted each TCP
// socket, keyed by its addresses, so that a flow seen on the wire can be
// joined to its process with one map lookup.
//
// Attribution (cgroup id to container id and pod UID) lives in this package
// too (Resolver), so callers get an *exchange.Process.
//
// Startup checks the kernel: missing BTF, BPF permission, TCX or tc support
// are reported as errors wrapping ErrNotSupported with a one-line reason, so
// the caller can fall back (to AF_PACKET) and log once why.
//
// Hot paths never allocate per record: ring records are read with
// ringbuf.Reader.ReadInto into one reused record, and decoded with
// encoding/binary on the bytes, never binary.Read. Nothing here logs per
// packet, per record or per chunk; counters say what happened.
package ebpf
