// Package decode turns captured frames into the few fields the sensor needs:
// addresses, ports, TCP flags and sequence numbers, and the transport payload.
//
// It understands the link types captures come in (Ethernet with 802.1Q and
// QinQ tags, PPPoE and MPLS, Linux cooked v1 and v2, raw IP, BSD loopback),
// IPv4 (with fragment reassembly) and IPv6 (with extension headers), and the
// tunnels seen in practice (IP-in-IP, 6in4, GRE). Everything else is counted
// by reason and skipped.
//
// A Decoder is written for the packet path: it allocates nothing per packet
// once warm (fragment reassembly aside), never panics on malformed input, and
// reports rejections as reasons, not errors. It is not safe for concurrent
// use; give each capture goroutine its own.
package decode
